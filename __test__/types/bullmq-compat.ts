// Type test: bullrush's declarations against BullMQ's own (the installed `bullmq`).
// bullrush's objects are assigned to BullMQ's interfaces (MinimalJob, MinimalQueue,
// listener maps, JobsOptions, JobJson, Telemetry) and BullMQ's objects back to
// bullrush's types, every member both classes declare (EventEmitter's aside), so code
// typed for BullMQ takes bullrush's objects and the reverse.

import type { EventEmitter } from 'node:events';
import * as bullmq from 'bullmq';
import * as bullrush from 'bullrush';

interface Mail {
  to: string;
}
type Sent = { id: string };
type MailName = 'send' | 'digest';

/**
 * The members `A` and `B` both declare, less EventEmitter's (whose `this` return types
 * name each library's own class) and `Skip`.
 */
type Shared<A, B, Skip extends PropertyKey = never> = Exclude<keyof A & keyof B, keyof EventEmitter | Skip>;

// `getBackend`, `backend`: BullMQ types them as its datastore backend, whose client declares no
// `ping`; bullrush as the health-check view apps use. `jobScheduler`: not in bullrush yet.
type NotShared = 'getBackend' | 'backend' | 'jobScheduler';

type OurQueue = bullrush.Queue<Mail, Sent, MailName>;
type TheirQueue = bullmq.Queue<Mail, Sent, MailName>;
type OurWorker = bullrush.Worker<Mail, Sent, MailName>;
type TheirWorker = bullmq.Worker<Mail, Sent, MailName>;
type OurJob = bullrush.Job<Mail, Sent, MailName>;
type TheirJob = bullmq.Job<Mail, Sent, MailName>;

// BullMQ's objects as bullrush's: every member both declare. (The other way round, BullMQ's
// class types are nominal: they have protected members, so only BullMQ's own objects are
// of them; bullrush's objects are checked against BullMQ's interfaces below.)
export function bullmqObjectsAsOurs(
  queue: TheirQueue,
  worker: TheirWorker,
  job: TheirJob,
  events: bullmq.QueueEvents<Sent>,
  producer: bullmq.QueueEventsProducer,
  base: bullmq.QueueBase,
  flows: bullmq.FlowProducer,
  tree: bullmq.JobNode,
): void {
  const queues: Pick<OurQueue, Shared<OurQueue, TheirQueue, NotShared>> = queue;
  const workers: Pick<OurWorker, Shared<OurWorker, TheirWorker, NotShared>> = worker;
  const jobs: OurJob = job;
  type OurEvents = bullrush.QueueEvents<Sent>;
  const listeners: Pick<OurEvents, Shared<OurEvents, typeof events, NotShared>> = events;
  const producers: Pick<bullrush.QueueEventsProducer, Shared<bullrush.QueueEventsProducer, typeof producer, NotShared>> = producer;
  const bases: Pick<bullrush.QueueBase, Shared<bullrush.QueueBase, typeof base, NotShared>> = base;
  const flowProducers: Pick<bullrush.FlowProducer, Shared<bullrush.FlowProducer, typeof flows, NotShared>> = flows;
  const flowJob: bullrush.FlowJob = { name: 'n', queueName: 'q', children: [{ name: 'c', queueName: 'q' }] };
  const theirFlowJob: bullmq.FlowJob = flowJob;
  const ourTree: bullrush.JobNode = tree;
  const keys: bullrush.QueueKeys = new bullmq.QueueKeys();
  const error: bullrush.ConnectionClosedError = new bullmq.ConnectionClosedError();
  void [queues, workers, jobs, listeners, producers, bases, flowProducers, theirFlowJob, ourTree, keys, error];
}

export async function ourObjectsAsBullmqInterfaces(queue: OurQueue, worker: OurWorker, job: OurJob): Promise<void> {
  const minimalJob: bullmq.MinimalJob<Mail, Sent, MailName> = job;
  // MinimalQueue's `backend` is BullMQ's datastore backend, which bullrush does not have.
  const minimalQueues: Pick<bullmq.MinimalQueue, Shared<bullmq.MinimalQueue, OurQueue, 'backend' | 'opts'>>[] = [queue, worker];
  const listener: Partial<bullmq.QueueEventsListener<Sent>> = {};
  const events = new bullrush.QueueEvents<Sent>('mail');
  if (listener.completed) events.on('completed', listener.completed);
  const keys: bullmq.QueueKeys = new bullrush.QueueKeys();
  const error: bullmq.ConnectionClosedError = new bullrush.ConnectionClosedError();
  const sent: Sent = await job.waitUntilFinished(new bullmq.QueueEvents<Sent>('mail', { connection: {} }));
  void [minimalJob, minimalQueues, sent, keys, error];
}

export function valuesBothWays(
  theirJobsOptions: bullmq.JobsOptions,
  ourJobsOptions: bullrush.JobsOptions,
  theirJson: bullmq.JobJson,
  ourJson: bullrush.JobJson,
  theirTelemetry: bullmq.Telemetry,
  ourTelemetry: bullrush.Telemetry,
  theirWorkerOptions: bullmq.WorkerOptions,
): void {
  const jobsOptions: [bullrush.JobsOptions, bullmq.JobsOptions] = [theirJobsOptions, ourJobsOptions];
  const json: [bullrush.JobJson, bullmq.JobJson] = [theirJson, ourJson];
  const telemetry: [bullrush.Telemetry, bullmq.Telemetry] = [theirTelemetry, ourTelemetry];
  const workerOptions: bullrush.WorkerOptions = theirWorkerOptions;
  const keys: bullmq.KeysMap = new bullrush.QueueKeys().getKeys('mail');
  const code: number = bullrush.ErrorCode.JobNotExist;
  void [jobsOptions, json, telemetry, workerOptions, keys, code];
}
// Every public member of BullMQ's classes is declared by bullrush's, but for those the
// README's "Not exported" table names (Worker.processJob, Job.addJob, Job.toFlowEntry),
// and FlowProducer's toKey and keys, which BullMQ 6.7 declares but never sets.
type Missing<Ours, Theirs> = Exclude<keyof Theirs, keyof Ours | keyof EventEmitter>;
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const nothingElseMissing: [
  Equal<Missing<OurQueue, TheirQueue>, never>,
  Equal<Missing<OurWorker, TheirWorker>, 'processJob'>,
  Equal<Missing<OurJob, TheirJob>, 'addJob' | 'toFlowEntry'>,
  Equal<Missing<bullrush.QueueEvents, bullmq.QueueEvents>, never>,
  Equal<Missing<bullrush.QueueBase, bullmq.QueueBase>, never>,
  Equal<Missing<bullrush.QueueEventsProducer, bullmq.QueueEventsProducer>, never>,
  Equal<Missing<bullrush.QueueGetters, bullmq.QueueGetters>, never>,
  Equal<Missing<bullrush.FlowProducer, bullmq.FlowProducer>, 'toKey' | 'keys'>,
] = [true, true, true, true, true, true, true, true];
