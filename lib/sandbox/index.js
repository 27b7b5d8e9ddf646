'use strict';

// Sandboxed processors: a Worker given a processor file (a path or a file: URL) runs it in
// child processes, or worker threads with `useWorkerThreads`, through a ChildPool.

const fs = require('node:fs');
const path = require('node:path');
const { packageDir } = require('../load-binding');
const { ChildPool } = require('./child-pool');
const { sandbox } = require('./sandbox');

const SUPPORTED_EXTENSIONS = ['.js', '.ts', '.flow', '.cjs', '.mjs'];

/** The pool and the processor function for a processor file, with the worker's sandbox options. */
function createSandbox(processor, opts) {
  const file = processorFile(processor);
  const childPool = new ChildPool({
    mainFile: mainFile(opts.useWorkerThreads),
    useWorkerThreads: opts.useWorkerThreads,
    workerForkOptions: opts.workerForkOptions,
    workerThreadsOptions: opts.workerThreadsOptions,
  });
  return { childPool, processFn: sandbox(file, childPool) };
}

/** The file to load, checked to exist (BullMQ's messages); a path without a known extension gets `.js`. */
function processorFile(processor) {
  if (processor instanceof URL) {
    if (!fs.existsSync(processor)) throw new Error(`URL ${processor} does not exist in the local file system`);
    return processor.href;
  }
  const given = String(processor);
  const file = SUPPORTED_EXTENSIONS.includes(path.extname(given)) ? given : `${given}.js`;
  if (!fs.existsSync(file)) throw new Error(`File ${file} does not exist`);
  return file;
}

/** The entry a child runs: this directory's, or the installed package's when bundled. */
function mainFile(useWorkerThreads) {
  const name = useWorkerThreads ? 'main-worker.js' : 'main.js';
  const own = path.join(__dirname, name);
  return fs.existsSync(own) ? own : path.join(packageDir(), 'lib', 'sandbox', name);
}

module.exports = { createSandbox };
