// Type test of what bullrush adds to BullMQ's API (does not compile against 'bullmq').

import { Job, Queue, QueueEvents, Worker, version } from 'bullrush';
import type { BatchOptions, ConnectionOptions, JobsOptions, QueueEventsHandler, WorkerOptions } from 'bullrush';

interface Mail {
  to: string;
}

export async function extensions(): Promise<void> {
  // A URL string, or an options object with a URL and TLS, as the connection.
  const byUrl: ConnectionOptions = 'rediss://user:secret@redis.example.com:6380/2';
  const withTls: ConnectionOptions = { url: 'redis://localhost:6379', tls: { rejectUnauthorized: false } };
  const tlsOn: ConnectionOptions = { host: 'redis.example.com', tls: true, username: 'u', password: 'p' };
  void [withTls, tlsOn];

  // Connection is optional (defaults to localhost:6379).
  const queue = new Queue<Mail, boolean>('mail', { prefix: 'app' });
  const fromUrl = new Queue<Mail>('mail', { connection: byUrl });

  // Job timeout, per job and as a queue default.
  const opts: JobsOptions = { timeout: 5_000, attempts: 2 };
  await queue.add('send', { to: 'a@b.c' }, opts);
  const withDefaults = new Queue<Mail>('mail', { defaultJobOptions: { timeout: 10_000 } });

  // Worker batching and default job timeout.
  const batch: BatchOptions = { size: 50, timeout: 10 };
  const workerOpts: WorkerOptions = { connection: byUrl, concurrency: 100, batch, timeout: 30_000 };
  const worker = new Worker<Mail, boolean>('mail', async (job) => job.data.to.length > 0, workerOpts);
  const batched = new Worker<Mail, boolean>(
    'mail',
    async (jobs) => jobs.map((j) => (j.data.to ? true : new Error('no recipient'))),
    { batch: { size: 10, timeout: 50 } },
  );
  await batched.close();

  // Per-job QueueEvents names carry the base event's listener type.
  const queueEvents = new QueueEvents<boolean>('mail');
  const job: Job<Mail, boolean> = await queue.add('send', { to: 'x@y.z' });
  queueEvents.once(`completed:${job.id}`, ({ returnvalue }) => {
    const ok: boolean = returnvalue;
    void ok;
  });
  queueEvents.once(`failed:${job.id}`, ({ failedReason }) => console.log(failedReason));
  // Unknown names fall back to an untyped listener (e.g. custom published events).
  queueEvents.on('my-custom-event', (...args: unknown[]) => console.log(args));
  const handler: QueueEventsHandler<boolean, 'drained'> = (id) => console.log(id);
  queueEvents.on('drained', handler);

  const v: string = version;
  void v;

  // @ts-expect-error batch size is required
  new Worker('mail', null, { batch: { timeout: 5 } });
  // @ts-expect-error timeout is a number of milliseconds
  await queue.add('send', { to: 'q' }, { timeout: '5s' });
  // @ts-expect-error a per-job listener keeps the base event's argument shape
  queueEvents.on(`completed:${job.id}`, (jobId: number) => console.log(jobId));
  // @ts-expect-error tls is a boolean or TLS options
  new Queue('mail', { connection: { tls: 'yes' } });

  await Promise.all([worker.close(), queueEvents.close(), queue.close(), fromUrl.close(), withDefaults.close()]);
}
