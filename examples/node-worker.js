'use strict';

// The Node side of crates/core/examples/shared_queue.rs: processes `square` jobs of the
// queue `shared-queue`, which a Rust service feeds (and also works on).
//
//   node examples/node-worker.js                        # terminal 1, Ctrl-C to stop
//   cargo run -p bullrush-core --example shared_queue   # terminal 2
//
// `require('bullmq')` instead of `require('..')` works the same. Honours REDIS_URL.

const { Worker } = require('..');

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = {
  host: url.hostname || '127.0.0.1',
  port: Number(url.port || 6379),
  username: url.username ? decodeURIComponent(url.username) : undefined,
  password: url.password ? decodeURIComponent(url.password) : undefined,
  db: Number(url.pathname.slice(1) || 0),
  tls: url.protocol === 'rediss:' ? {} : undefined,
};

const worker = new Worker(
  'shared-queue',
  async (job) => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // some work
    return { square: job.data.n * job.data.n, by: 'node' };
  },
  { connection, concurrency: 2, name: 'node-worker' },
);

worker.on('ready', () => console.log('node worker waiting for jobs of shared-queue'));
worker.on('completed', (job, result) => console.log(`job ${job.id} ${JSON.stringify(job.data)} -> ${JSON.stringify(result)}`));
worker.on('failed', (job, err) => console.log(`job ${job?.id} failed: ${err.message}`));
worker.on('error', (err) => console.error('worker error:', err.message));

async function shutdown() {
  await worker.close();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
