const { QueueEvents } = require('bullmq');
const { startTestRedis } = require('bullmq/testing');
const { mailQueue, mailWorker } = require('../mailer');

let redis;
let queue;
let worker;
let events;

beforeAll(async () => {
  redis = await startTestRedis();
  const name = redis.queueName('jest-emails');
  queue = mailQueue(name, redis.connection);
  events = new QueueEvents(name, { connection: redis.connection });
  await events.waitUntilReady();
  worker = mailWorker(name, redis.connection);
});

afterAll(async () => {
  await worker.close();
  await events.close();
  await queue.close();
  await redis.stop();
});

test('a bad address fails after three attempts', async () => {
  const job = await queue.add('welcome', { to: 'nobody' });
  await expect(job.waitUntilFinished(events)).rejects.toThrow('bad address: nobody');
  const failed = await queue.getJob(job.id);
  expect(failed.attemptsMade).toBe(3);
  expect(await queue.getJobCounts('failed', 'completed')).toEqual({ failed: 1, completed: 0 });
});
