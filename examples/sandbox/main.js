'use strict';

// A worker whose processor runs in child processes (with `useWorkerThreads: true`, in
// worker threads): processor.js may block its event loop or crash, and only its own job
// pays for it.
//
//   node examples/sandbox/main.js      # Redis at REDIS_URL (default redis://127.0.0.1:6379)

const path = require('node:path');
const { Queue, Worker } = require('bullrush');

const { hostname: host, port } = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = { host, port: Number(port || 6379) };
const name = `sandbox-example-${process.pid}`;

async function main() {
  const queue = new Queue(name, { connection });
  const worker = new Worker(name, path.join(__dirname, 'processor.js'), { connection, concurrency: 2 });
  worker.on('progress', (job, progress) => console.log(`job ${job.id}: ${progress}%`));
  worker.on('completed', (job, result) => console.log(`job ${job.id}: fibonacci(${job.data.n}) = ${result}`));
  worker.on('failed', (job, err) => console.log(`job ${job.id} failed: ${err.message}`));

  const settled = new Promise((resolve) => {
    let left = 2;
    const one = () => --left === 0 && resolve();
    worker.on('completed', one);
    worker.on('failed', one);
  });
  await queue.addBulk([
    { name: 'fibonacci', data: { n: 25 } },
    { name: 'fibonacci', data: { n: -1 } },
  ]);
  await settled;

  await worker.close(); // ends the child processes
  await queue.obliterate({ force: true });
  await queue.close();
}

main();
