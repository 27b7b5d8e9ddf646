import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { connection, QUEUE_NAME } from './config.js';
import { EventLog } from './event-log.js';
import { JobsController } from './jobs.controller.js';
import { SquaresProcessor } from './squares.processor.js';

@Module({
  imports: [BullModule.forRoot({ connection }), BullModule.registerQueue({ name: QUEUE_NAME })],
  controllers: [JobsController],
  providers: [EventLog, SquaresProcessor],
})
export class AppModule {}
