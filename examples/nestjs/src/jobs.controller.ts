import { InjectQueue } from '@nestjs/bullmq';
import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QUEUE_NAME } from './config.js';
import { EventLog } from './event-log.js';
import type { SquareData } from './squares.processor.js';

/** POST /jobs adds a job; GET /jobs/:id is its state and result; GET /jobs/events the worker's events. */
@Controller('jobs')
export class JobsController {
  constructor(
    @InjectQueue(QUEUE_NAME) private readonly queue: Queue,
    private readonly log: EventLog,
  ) {}

  @Post()
  async add(@Body() data: SquareData) {
    const job = await this.queue.add('square', data, { attempts: 1 });
    return { jobId: job.id };
  }

  @Get('events')
  events() {
    return this.log.events;
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    // The state first: a job read after it was seen completed carries its result.
    const state = await this.queue.getJobState(id);
    const job = state === 'unknown' ? undefined : await this.queue.getJob(id);
    if (!job) throw new NotFoundException(`no job ${id}`);
    return { jobId: job.id, state, progress: job.progress, returnvalue: job.returnvalue, failedReason: job.failedReason };
  }
}
