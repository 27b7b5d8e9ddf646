// Type test: a test suite using `bullrush/testing` with bullrush's Queue, Worker and QueueEvents.

import { Queue, QueueEvents, Worker } from 'bullrush';
import { startTestRedis, TestRedis } from 'bullrush/testing';
import type { StartTestRedisOptions, TestRedisConnection } from 'bullrush/testing';

async function suite(): Promise<void> {
  const redis: TestRedis = await startTestRedis();
  const name: string = redis.queueName('emails');
  const queue = new Queue<{ to: string }, string>(name, { connection: redis.connection });
  const worker = new Worker<{ to: string }, string>(name, async (job) => job.data.to, { connection: redis.connection });
  const events = new QueueEvents(redis.queueName(), { connection: redis.connection, prefix: 'bull' });
  await queue.close();
  await worker.close();
  await events.close();
  const deleted: number = await redis.cleanup();
  const url: string = redis.url;
  const pid: number | null = redis.pid;
  const dir: string | null = redis.dir;
  const own: boolean = redis.ownServer;
  void [deleted, url, pid, dir, own];
  await redis.stop();
}

const given: StartTestRedisOptions = { url: 'redis://127.0.0.1:6379', redisServer: '/usr/bin/redis-server' };
const own: StartTestRedisOptions = { url: false };
const conn: TestRedisConnection = { host: '127.0.0.1', port: 6379, db: 2 };
void [suite, given, own, conn];

// @ts-expect-error the url is a string or false
void startTestRedis({ url: 6379 });
// @ts-expect-error TestRedis is made by startTestRedis only
void new TestRedis();
