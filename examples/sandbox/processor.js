'use strict';

// Runs in a child process of the worker: CPU-bound work that would block the worker's
// event loop. The file's default export is the processor; its job sends progress and
// logs through the worker.

function fibonacci(n) {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

module.exports = async (job) => {
  const { n } = job.data;
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a natural number, got ${n}`);
  await job.log(`fibonacci(${n}) in process ${process.pid}`);
  await job.updateProgress(50);
  return fibonacci(n);
};
