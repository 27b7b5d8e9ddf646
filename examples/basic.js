'use strict';

// The smallest bullrush app: a queue, a worker and a listener, as with BullMQ.
//
//   npm install && npm run build   # once: builds the native addon
//   npm run example                # Redis at REDIS_URL (default localhost:6379), or a
//                                  # throwaway redis-server when none answers there

const { Queue, Worker, QueueEvents } = require('..');
const { findRedis } = require('./local-redis');

const name = `example-${process.pid}`;

async function run(connection) {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  events.on('completed', ({ jobId, returnvalue }) => console.log(`event: job ${jobId} completed with`, returnvalue));

  const worker = new Worker(
    name,
    async (job) => {
      await job.updateProgress(50);
      if (job.data.fail && job.attemptsMade === 0) throw new Error('first attempt fails');
      return { sum: job.data.a + job.data.b };
    },
    { connection, concurrency: 4 },
  );
  worker.on('failed', (job, err) => console.log(`worker: job ${job.id} attempt failed: ${err.message}`));

  const jobs = await queue.addBulk([
    { name: 'add', data: { a: 1, b: 2 } },
    { name: 'add', data: { a: 3, b: 4, fail: true }, opts: { attempts: 2, backoff: { type: 'fixed', delay: 100 } } },
  ]);
  for (const job of jobs) {
    console.log(`job ${job.id} finished:`, await job.waitUntilFinished(events, 10000));
  }
  console.log('counts:', await queue.getJobCounts('completed', 'failed'));

  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
}

async function main() {
  const redis = await findRedis();
  try {
    await run(redis.url);
  } finally {
    await redis.stop();
  }
}

main().catch((err) => {
  console.error(`example failed: ${err.message}`);
  process.exitCode = 1;
});
