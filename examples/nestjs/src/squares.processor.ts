import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { QUEUE_NAME } from './config.js';
import { EventLog } from './event-log.js';

export interface SquareData {
  n: number;
  fail?: boolean;
}

/** Squares numbers; the job's worker runs in this process, with its events logged. */
@Processor(QUEUE_NAME, { concurrency: 2 })
export class SquaresProcessor extends WorkerHost {
  constructor(private readonly log: EventLog) {
    super();
  }

  async process(job: Job<SquareData>): Promise<{ square: number }> {
    await job.updateProgress(50);
    if (job.data.fail) throw new Error(`refused to square ${job.data.n}`);
    return { square: job.data.n * job.data.n };
  }

  @OnWorkerEvent('active')
  onActive(job: Job) {
    this.log.record('active', job.id);
  }

  @OnWorkerEvent('completed')
  onCompleted(job: Job, result: { square: number }) {
    this.log.record('completed', job.id, result);
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error) {
    this.log.record('failed', job?.id, err.message);
  }

  @OnWorkerEvent('closed')
  onClosed() {
    this.log.record('closed');
  }
}
