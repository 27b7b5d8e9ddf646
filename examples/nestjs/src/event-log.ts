import { Injectable } from '@nestjs/common';

/** One worker event, as the processor heard it. */
export interface WorkerEventRecord {
  event: string;
  jobId?: string;
  detail?: unknown;
}

/** The worker events heard so far (GET /jobs/events answers them). */
@Injectable()
export class EventLog {
  readonly events: WorkerEventRecord[] = [];

  record(event: string, jobId?: string, detail?: unknown): void {
    this.events.push({ event, jobId, detail });
    console.log(`worker event: ${event}${jobId === undefined ? '' : ` ${jobId}`}`);
  }
}
