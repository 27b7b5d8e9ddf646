'use strict';

// The children of one sandboxed Worker: a job retains a free child of its processor file
// (or a new one) and releases it when done, so a worker never has more children than jobs
// running at once (its concurrency). `retained` maps pids to children at work, `free`
// processor files to idle children.

const path = require('node:path');
const { Child } = require('./child');

// How long a child may take to finish its job after SIGTERM before it is SIGKILLed.
const CHILD_KILL_TIMEOUT = 30000;

class ChildPool {
  constructor({ mainFile = path.join(__dirname, 'main.js'), useWorkerThreads, workerForkOptions, workerThreadsOptions } = {}) {
    this.retained = {};
    this.free = {};
    this.opts = { mainFile, useWorkerThreads, workerForkOptions, workerThreadsOptions };
    this._closed = false;
  }

  /** A child that has loaded `processFile`, reserved for one job: an idle one, else a new one. */
  async retain(processFile) {
    const idle = this.getFree(processFile).pop();
    if (idle) {
      this.retained[idle.pid] = idle;
      return idle;
    }
    const child = new Child(this.opts.mainFile, processFile, {
      useWorkerThreads: this.opts.useWorkerThreads,
      workerForkOptions: this.opts.workerForkOptions,
      workerThreadsOptions: this.opts.workerThreadsOptions,
    });
    child.on('exit', () => this.remove(child));
    await this._started(child);
    this.retained[child.pid] = child;
    return child;
  }

  // Starts `child`; one that failed to load, died meanwhile or whose pool closed meanwhile
  // is killed (never reused) and its job fails.
  async _started(child) {
    try {
      await child.init();
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error('Child exited before it could be retained');
      }
      if (this._closed) throw new Error('Child pool closed while the child started');
    } catch (err) {
      if (child.childProcess || child.worker) child.kill('SIGKILL').catch(() => {});
      throw err;
    }
  }

  /** Makes a retained child idle again, for the next job of its processor file. */
  release(child) {
    delete this.retained[child.pid];
    this.getFree(child.processFile).push(child);
  }

  /** Forgets a child (it exited, or is being killed). */
  remove(child) {
    delete this.retained[child.pid];
    const free = this.getFree(child.processFile);
    const at = free.indexOf(child);
    if (at > -1) free.splice(at, 1);
  }

  /** Forgets a child and signals it; resolves once it has exited. */
  async kill(child, signal = 'SIGKILL') {
    this.remove(child);
    return child.kill(signal, CHILD_KILL_TIMEOUT);
  }

  /** Ends every child: each finishes its job (SIGTERM), or is killed after CHILD_KILL_TIMEOUT. */
  async clean() {
    this._closed = true;
    const children = Object.values(this.retained).concat(this.getAllFree());
    this.retained = {};
    this.free = {};
    await Promise.all(children.map((child) => this.kill(child, 'SIGTERM')));
  }

  /** The idle children of a processor file (a live list). */
  getFree(id) {
    if (!this.free[id]) this.free[id] = [];
    return this.free[id];
  }

  /** Every idle child. */
  getAllFree() {
    return Object.values(this.free).flat();
  }
}

module.exports = { ChildPool, CHILD_KILL_TIMEOUT };
