'use strict';

// Runs in a sandbox child: loads the processor file, runs one job at a time and reports
// its outcome to the parent.

const { pathToFileURL } = require('node:url');
const { ParentCommand } = require('../enums');
const { errorToJSON } = require('./ipc');
const { jobProxy } = require('./job-proxy');

const ChildStatus = { Idle: 0, Started: 1, Terminating: 2, Errored: 3 };

class ChildProcessor {
  /** `send` posts a message to the parent; `receiver` emits the parent's messages. */
  constructor(send, receiver) {
    this.send = send;
    this.receiver = receiver;
  }

  /**
   * Imports the processor file (CommonJS or ESM; its default export, or that export's own
   * `default`) and tells the parent. A file that fails to load ends the child, which the
   * parent would otherwise keep as a broken child.
   */
  async init(processorFile) {
    let processor;
    try {
      processor = await loadProcessor(processorFile);
    } catch (err) {
      this.status = ChildStatus.Errored;
      try {
        await this.send({ cmd: ParentCommand.InitFailed, err: errorToJSON(err) });
      } finally {
        process.exit(process.exitCode ?? 1);
      }
    }
    this.processor = processor;
    this.status = ChildStatus.Idle;
    await this.send({ cmd: ParentCommand.InitCompleted });
  }

  /** Runs the processor for one job; refused (an Error message) unless idle. */
  async start(jobJson, token) {
    if (this.status !== ChildStatus.Idle) {
      return this.send({
        cmd: ParentCommand.Error,
        err: errorToJSON(new Error('cannot start a not idling child process')),
      });
    }
    this.status = ChildStatus.Started;
    this.abortController = new AbortController();
    this.currentJobPromise = this._run(jobJson, token, this.abortController.signal);
    return undefined;
  }

  async _run(jobJson, token, signal) {
    try {
      const job = jobProxy(jobJson, this.send, this.receiver);
      const result = await this.processor(job, token, signal);
      await this.send({ cmd: ParentCommand.Completed, value: result === undefined ? null : result });
    } catch (err) {
      const error = err && err.message ? err : new Error(err);
      await this.send({ cmd: ParentCommand.Failed, value: errorToJSON(error) });
    } finally {
      this.status = ChildStatus.Idle;
      this.currentJobPromise = undefined;
      this.abortController = undefined;
    }
  }

  /** Aborts the running job's signal with `reason`. */
  cancel(reason) {
    if (this.abortController) this.abortController.abort(reason);
  }

  /** Lets the running job (if any) finish, then ends the child. */
  async waitForCurrentJobAndExit() {
    this.status = ChildStatus.Terminating;
    try {
      await this.currentJobPromise;
    } finally {
      process.exit(process.exitCode || 0);
    }
  }
}

/** The processor function a file (a path or a file: URL) exports; a synchronous throw becomes a rejection. */
async function loadProcessor(file) {
  const url = file.startsWith('file:') ? file : pathToFileURL(file).href;
  const exported = (await import(url)).default;
  const fn = exported && typeof exported.default === 'function' ? exported.default : exported;
  if (typeof fn !== 'function') throw new Error('No function is exported in processor file');
  return async (job, token, signal) => fn(job, token, signal);
}

module.exports = { ChildProcessor, ChildStatus };
