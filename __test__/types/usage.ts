// Type test: ordinary BullMQ user code, compiled against bullrush's index.d.ts.
// Uses only BullMQ's API, so it must also compile with the import switched to 'bullmq'.
// bullrush-only features are tested in extensions.ts.

import {
  DelayedError,
  FlowProducer,
  Job,
  MetricsTime,
  Queue,
  QueueEvents,
  RateLimitError,
  UnrecoverableError,
  WaitingChildrenError,
  WaitingError,
  Worker,
} from 'bullrush';
import type {
  ConnectionOptions,
  FlowJob,
  JobNode,
  JobsOptions,
  JobState,
  Processor,
  QueueOptions,
  SandboxedJob,
  WorkerOptions,
} from 'bullrush';
import { Redis } from 'ioredis';
import { BullMQOtel } from 'bullmq-otel';

interface ResizeData {
  url: string;
  width: number;
}
interface ResizeResult {
  bytes: number;
  path: string;
}
type ResizeName = 'resize' | 'thumbnail';

const connection: ConnectionOptions = { host: 'localhost', port: 6379, db: 0 };

// Every value below is only type-checked; nothing runs.
export async function producer(): Promise<void> {
  const queueOpts: QueueOptions = {
    connection,
    prefix: 'bull',
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000 },
    streams: { events: { maxLen: 5000 } },
  };
  const queue = new Queue<ResizeData, ResizeResult, ResizeName>('images', queueOpts);
  await queue.waitUntilReady();

  const opts: JobsOptions = {
    jobId: 'img-1',
    delay: 500,
    priority: 2,
    lifo: false,
    attempts: 5,
    backoff: 2000,
    removeOnComplete: { age: 3600, count: 100 },
    removeOnFail: true,
    keepLogs: 50,
    stackTraceLimit: 10,
    deduplication: { id: 'img-1', ttl: 60_000 },
  };
  const job = await queue.add('resize', { url: 'https://x/y.png', width: 320 }, opts);
  const id: string | undefined = job.id;
  const data: ResizeData = job.data;
  const name: ResizeName = job.name;
  const ts: number = job.timestamp;
  const attempts: number = job.attemptsMade;
  void [id, data, name, ts, attempts];

  const jobs = await queue.addBulk([
    { name: 'resize', data: { url: 'a', width: 1 } },
    { name: 'thumbnail', data: { url: 'b', width: 2 }, opts: { priority: 1 } },
  ]);
  const firstWidth: number = jobs[0].data.width;
  void firstWidth;

  const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  const waiting: number = counts.waiting;
  const total: number =
    (await queue.getWaitingCount()) +
    (await queue.getActiveCount()) +
    (await queue.getCompletedCount()) +
    (await queue.getFailedCount()) +
    (await queue.getDelayedCount()) +
    (await queue.getPrioritizedCount()) +
    (await queue.getWaitingChildrenCount()) +
    (await queue.getJobCountByTypes('waiting', 'delayed')) +
    (await queue.count());
  void [waiting, total];

  const fetched = await queue.getJob('img-1');
  if (fetched) {
    const state: JobState | 'unknown' = await fetched.getState();
    const w: number = fetched.data.width;
    void [state, w];
    await fetched.updateData({ url: 'c', width: 3 });
    await fetched.changePriority({ priority: 5 });
    await fetched.promote();
    await fetched.changeDelay(5000);
    await fetched.changePriority({ lifo: true });
    await fetched.clearLogs(10);
    const released: boolean = await fetched.removeDeduplicationKey();
    void released;
    await fetched.retry('failed');
    await fetched.remove();
  }

  const failed: Job<ResizeData, ResizeResult, ResizeName>[] = await queue.getFailed(0, 10);
  const some = await queue.getJobs(['completed', 'failed'], 0, 99, true);
  const logs = await queue.getJobLogs('img-1');
  const logCount: number = logs.count;
  void [failed, some, logCount];

  const cleaned: string[] = await queue.clean(60_000, 100, 'completed');
  await queue.retryJobs({ state: 'failed', count: 100 });
  await queue.promoteJobs();
  await queue.trimEvents(1000);
  await queue.setGlobalConcurrency(4);
  const metrics = await queue.getMetrics('completed');
  const workers = await queue.getWorkers();
  const workerCount: number = await queue.getWorkersCount();
  const prometheus: string = await queue.exportPrometheusMetrics({ env: 'prod' });
  const meta = await queue.getMeta();
  const limit = await queue.getGlobalRateLimit();
  const perPriority: { [index: string]: number } = await queue.getCountsPerPriority([0, 1]);
  const ids: string[] = await queue.getRanges(['wait', 'delayed'], 0, 10, true);
  const maxed: boolean = await queue.isMaxed();
  const ttl: number = await queue.getRateLimitTtl(10);
  const delayedBefore: number = await queue.getDelayedCount(Date.now());
  void [cleaned, metrics.data, metrics.meta.prevTS, workers, workerCount, prometheus];
  void [meta.concurrency, limit?.max, perPriority, ids, maxed, ttl, delayedBefore];

  queue.on('waiting', (j) => {
    const u: string = j.data.url;
    void u;
  });
  queue.on('error', (err) => console.error(err.message));
  queue.on('cleaned', (ids, type) => console.log(ids.length, type));
  queue.on('progress', (jobId, progress) => console.log(jobId, progress));

  await queue.pause();
  const paused: boolean = await queue.isPaused();
  await queue.resume();
  await queue.drain(true);
  await queue.obliterate({ force: true, count: 500 });
  await queue.close();
  void [paused, queue.name, queue.qualifiedName, queue.opts.prefix];

  // Static helpers.
  const again = await Job.fromId<ResizeData, ResizeResult>(queue, 'img-1');
  if (again) {
    const w: number = again.data.width;
    void w;
  }
  const created = await Job.create(queue, 'resize', { url: 'd', width: 4 });
  const createdMany = await Job.createBulk(queue, [{ name: 'resize', data: { url: 'e', width: 5 } }]);
  const rebuilt = Job.fromJSON<ResizeData>(queue, created.asJSON());
  const logLength: number = await Job.addJobLog(queue, 'img-1', 'line', 10);
  void [created, createdMany, rebuilt.data.url, logLength];

  // Deduplication.
  await queue.add('resize', { url: 'f', width: 6 }, {
    deduplication: { id: 'img-f', ttl: 5000, extend: true, replace: true, reschedule: false, keepLastIfActive: false },
  });
  const owner: string | null = await queue.getDeduplicationJobId('img-f');
  const deleted: number = await queue.removeDeduplicationKey('img-f');
  void [owner, deleted, await queue.getDebounceJobId('img-f'), await queue.removeDebounceKey('img-f')];

  // An existing ioredis client as the connection.
  const client = new Redis({ maxRetriesPerRequest: null });
  const shared = new Queue('shared', { connection: client });
  await shared.close();

  // Untyped queue: anything goes.
  const loose = new Queue('loose', { connection });
  await loose.add('whatever', { any: 'thing' });

  // @ts-expect-error data of the wrong shape for a typed queue
  await queue.add('resize', { url: 42, width: 1 });
  // @ts-expect-error job name outside NameType
  await queue.add('crop', { url: 'e', width: 5 });
  // @ts-expect-error unknown job option
  await queue.add('resize', { url: 'f', width: 6 }, { retries: 3 });
  // @ts-expect-error removeOnComplete takes a boolean, a number or a KeepJobs
  await queue.add('resize', { url: 'g', width: 7 }, { removeOnComplete: 'yes' });
  // @ts-expect-error unknown queue event
  queue.on('completed', () => undefined);
}

export async function consumer(): Promise<void> {
  const processor: Processor<ResizeData, ResizeResult, ResizeName> = async (job, token, signal) => {
    await job.updateProgress(10);
    await job.log(`resizing ${job.data.url} to ${job.data.width}`);
    if (signal?.aborted) throw new Error('cancelled');
    if (job.data.width <= 0) throw new UnrecoverableError('bad width');
    if (job.attemptsMade > 3 && token) {
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    return { bytes: job.data.width * 100, path: `/tmp/${job.id}` };
  };

  const workerOpts: WorkerOptions = {
    connection,
    concurrency: 10,
    autorun: false,
    lockDuration: 30_000,
    lockRenewTime: 15_000,
    stalledInterval: 30_000,
    maxStalledCount: 1,
    drainDelay: 5,
    name: 'resizer-1',
    limiter: { max: 100, duration: 1000 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { age: 24 * 3600 },
    skipStalledCheck: false,
    skipLockRenewal: false,
    maxStartedAttempts: 10,
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK * 2 },
    settings: { backoffStrategy: (attemptsMade) => attemptsMade * 1000 },
  };
  const worker = new Worker<ResizeData, ResizeResult, ResizeName>('images', processor, workerOpts);

  worker.on('active', (job, prev) => console.log(job.id, prev));
  worker.on('completed', (job, result, prev) => {
    const bytes: number = result.bytes;
    const rv: ResizeResult = job.returnvalue;
    void [bytes, rv, prev];
  });
  worker.on('failed', (job, err, prev) => console.log(job?.failedReason, err.message, prev));
  worker.on('progress', (job, progress) => console.log(job.id, progress));
  worker.on('drained', () => undefined);
  worker.on('error', (err) => console.error(err));
  worker.on('stalled', (jobId, prev) => console.log(jobId, prev));
  worker.on('lockRenewalFailed', (ids) => console.log(ids.length));
  worker.on('locksRenewed', ({ count, jobIds }) => console.log(count, jobIds));
  worker.once('ready', () => undefined);
  worker.once('closing', (msg) => console.log(msg));
  worker.once('closed', () => undefined);
  worker.on('paused', () => undefined);
  worker.on('resumed', () => undefined);
  worker.on('ioredis:close', () => undefined);
  const onError = (err: Error): void => console.error(err);
  worker.on('error', onError);
  worker.off('error', onError);

  void worker.run();
  await worker.waitUntilReady();
  worker.concurrency = 20;
  const c: number = worker.concurrency;
  const running: boolean = worker.isRunning();
  await worker.pause(true);
  const isPaused: boolean = worker.isPaused();
  worker.resume();
  await worker.rateLimit(1000);
  const cancelled: boolean = worker.cancelJob('img-1', 'no longer needed');
  worker.cancelAllJobs();
  const workerId: string = worker.id;
  void [c, running, isPaused, cancelled, workerId, worker.name, worker.opts.concurrency];

  // Manual processing.
  const manual = new Worker<ResizeData, ResizeResult>('images', null, { connection, autorun: false });
  const token = 'my-token';
  const next = await manual.getNextJob(token);
  if (next) {
    await next.extendLock(token, 30_000);
    await next.moveToCompleted({ bytes: 1, path: '/x' }, token, false);
  }
  await manual.close();

  // Processor types inferred from the function.
  const inferred = new Worker(
    'images',
    async (job: Job<ResizeData, ResizeResult, ResizeName>) => ({ bytes: job.data.width, path: job.name }),
    { connection },
  );
  inferred.on('completed', (_job, result) => {
    const p: string = result.path;
    void p;
  });
  await inferred.close(true);

  // Other control-flow errors constructible as in BullMQ.
  void [new RateLimitError(), new WaitingChildrenError(), new WaitingError('w'), Worker.RateLimitError()];

  // @ts-expect-error unknown worker option
  new Worker('images', processor, { connection, concurency: 5 });
  // @ts-expect-error processor returning the wrong result type
  new Worker<ResizeData, ResizeResult>('images', async () => ({ bytes: 'many' }), { connection });
  // @ts-expect-error listener with the wrong argument type
  worker.on('completed', (_job, result: string) => console.log(result));
  // @ts-expect-error unknown worker event
  worker.on('complete', () => undefined);

  await worker.close();
}

export async function events(): Promise<void> {
  const queue = new Queue<ResizeData, ResizeResult, ResizeName>('images', { connection });
  const queueEvents = new QueueEvents('images', { connection, autorun: true, blockingTimeout: 5000 });
  await queueEvents.waitUntilReady();

  queueEvents.on('added', ({ jobId, name }, id) => console.log(jobId, name, id));
  queueEvents.on('waiting', ({ jobId, prev }) => console.log(jobId, prev));
  queueEvents.on('active', ({ jobId, prev }) => console.log(jobId, prev));
  queueEvents.on('progress', ({ jobId, data }) => console.log(jobId, data));
  queueEvents.on('completed', ({ jobId, returnvalue, prev }, id) => console.log(jobId, returnvalue, prev, id));
  queueEvents.on('failed', ({ jobId, failedReason }) => console.log(jobId, failedReason));
  queueEvents.on('drained', (id) => {
    const s: string = id;
    void s;
  });
  queueEvents.on('removed', ({ jobId, prev }) => console.log(jobId, prev));
  queueEvents.on('delayed', ({ jobId, delay }) => {
    const due: number = delay;
    void [jobId, due];
  });
  queueEvents.on('retries-exhausted', ({ jobId, attemptsMade }) => console.log(jobId, attemptsMade));
  queueEvents.on('stalled', ({ jobId }) => console.log(jobId));
  queueEvents.on('deduplicated', ({ jobId, deduplicationId, deduplicatedJobId }) =>
    console.log(jobId, deduplicationId, deduplicatedJobId),
  );
  queueEvents.on('duplicated', ({ jobId }) => console.log(jobId));
  queueEvents.on('cleaned', ({ count }) => console.log(count));
  queueEvents.on('paused', () => undefined);
  queueEvents.on('resumed', () => undefined);
  queueEvents.on('waiting-children', ({ jobId }) => console.log(jobId));
  queueEvents.on('error', (err) => console.error(err.message));

  // A typed QueueEvents narrows returnvalue.
  const typedEvents = new QueueEvents<ResizeResult>('images', { connection });
  typedEvents.once('completed', ({ returnvalue }) => {
    const bytes: number = returnvalue.bytes;
    void bytes;
  });

  const job = await queue.add('resize', { url: 'h', width: 8 });
  const result: ResizeResult = await job.waitUntilFinished(queueEvents, 30_000);
  const path: string = result.path;
  void path;

  const json = job.toJSON();
  const jsonData: ResizeData = json.data;
  const raw = job.asJSON();
  const rawData: string = raw.data;
  void [jsonData, rawData];

  // @ts-expect-error completed's first argument is an object, not a string
  queueEvents.on('completed', (jobId: string) => console.log(jobId));

  await typedEvents.close();
  await queueEvents.close();
  await queue.close();
}

// Flows: a tree across queues, read back; a processor that waits for the children it adds.
export async function flows(): Promise<void> {
  const producer = new FlowProducer({ connection });
  const flow: FlowJob = {
    name: 'render',
    queueName: 'renders',
    data: { page: 1 },
    opts: { priority: 2, parent: { id: 'book', queue: 'bull:books' } },
    children: [
      { name: 'resize', queueName: 'images', data: { url: 'a', width: 8 }, opts: { failParentOnFailure: true } },
      {
        name: 'layout',
        queueName: 'layouts',
        children: [{ name: 'font', queueName: 'fonts', opts: { ignoreDependencyOnFailure: true } }],
      },
    ],
  };
  const tree: JobNode = await producer.add(flow, {
    queuesOptions: { images: { defaultJobOptions: { attempts: 3 } } },
  });
  const childIds: (string | undefined)[] = (tree.children ?? []).map((child) => child.job.id);
  const [bulk] = await producer.addBulk([flow, { name: 'solo', queueName: 'renders' }]);
  const read = await producer.getFlow({ id: tree.job.id!, queueName: 'renders', depth: 2, maxChildren: 10 });
  const parentKey: string | undefined = read.children?.[0].job.parentKey;
  void [childIds, bulk, parentKey];

  const worker = new Worker<{ step: string }, number>(
    'renders',
    async (job, token) => {
      if (job.data.step === 'start') {
        const queue = new Queue('images', { connection });
        await queue.add('resize', {}, { parent: { id: job.id!, queue: job.queueQualifiedName } });
        await job.updateData({ step: 'wait' });
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      const values: { [key: string]: number } = await job.getChildrenValues<number>();
      const ignored: { [key: string]: string } = await job.getIgnoredChildrenFailures();
      const { processed, nextProcessedCursor } = await job.getDependencies({ processed: { count: 10 } });
      const counts = await job.getDependenciesCount({ failed: true });
      void [ignored, processed, nextProcessedCursor, counts.failed];
      return Object.keys(values).length;
    },
    { connection },
  );
  const queue = new Queue('renders', { connection });
  const page = await queue.getDependencies('book', 'processed', 0, 9);
  const removed: number = await queue.removeOrphanedJobs(1000, 0);
  await queue.remove('book', { removeChildren: false });
  void [page.total, page.items[0]?.v, removed];
  await worker.close();
  await producer.close();
}

// Sandboxed processors (a file path or a file: URL, in processes or threads) and
// OpenTelemetry through bullmq-otel.
export async function sandboxedAndTraced(connection: ConnectionOptions): Promise<void> {
  const telemetry = new BullMQOtel({ tracerName: 'images' });
  const queue = new Queue<ResizeData>('images', { connection, telemetry });
  await queue.add('resize', { url: 'a.png', width: 100 }, { telemetry: { omitContext: true } });
  const inProcesses = new Worker<ResizeData, string>('images', `${__dirname}/resize.js`, {
    connection,
    concurrency: 4,
    telemetry,
    workerForkOptions: { env: { ...process.env, SHARP_CONCURRENCY: '1' } },
  });
  const inThreads = new Worker('images', new URL('file:///srv/app/resize.mjs'), {
    connection,
    useWorkerThreads: true,
    workerThreadsOptions: { resourceLimits: { maxOldGenerationSizeMb: 256 } },
  });
  await Promise.all([inProcesses.close(), inThreads.close(), queue.close()]);
}

// What a processor file exports: a function of a sandboxed job.
export default async function resize(job: SandboxedJob<ResizeData, string>, token?: string): Promise<string> {
  await job.updateProgress(10);
  job.log(`resizing ${job.data.url} to ${job.data.width} (${job.opts.attempts ?? 1} attempts, token ${token})`);
  await job.updateData({ ...job.data, width: job.data.width * 2 });
  return `${job.id}:${job.name}:${job.queueQualifiedName}`;
}
