const { QueueEvents } = require('bullmq');
const { startTestRedis } = require('bullmq/testing');
const { mailQueue, mailWorker } = require('../mailer');

let redis;
let name;
let queue;
let worker;
let events;

beforeAll(async () => {
  redis = await startTestRedis();
  name = redis.queueName('jest-emails');
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

test('an e-mail is sent', async () => {
  const job = await queue.add('welcome', { to: 'ada@example.com' });
  await expect(job.waitUntilFinished(events)).resolves.toEqual({ sent: 'ada@example.com' });
  expect(await queue.getJobState(job.id)).toBe('completed');
});

test('QueueEvents reports progress and completion', async () => {
  const seen = [];
  const done = new Promise((resolve) => {
    events.on('progress', ({ jobId, data }) => seen.push(['progress', jobId, data]));
    events.on('completed', ({ jobId }) => {
      seen.push(['completed', jobId]);
      if (jobId === job.id) resolve();
    });
  });
  const job = await queue.add('welcome', { to: 'grace@example.com' });
  await done;
  expect(seen.filter(([, id]) => id === job.id)).toEqual([
    ['progress', job.id, 50],
    ['completed', job.id],
  ]);
});
