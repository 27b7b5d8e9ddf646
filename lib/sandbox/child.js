'use strict';

// One sandbox child as its parent sees it: a forked process (or, with useWorkerThreads, a
// worker thread) running lib/sandbox/main.js (main-worker.js), which loads the processor
// file once and then runs jobs one at a time. It re-emits the child's `message`, `exit`,
// `error` and `close`; its stdout and stderr go to the parent's.

const { EventEmitter } = require('node:events');
const { fork } = require('node:child_process');
const net = require('node:net');
const { Worker: ThreadWorker } = require('node:worker_threads');
const { ChildCommand, ParentCommand } = require('../enums');
const { asyncSend } = require('./ipc');

// What a process exit code means (Node's list), for a child that dies while loading.
const EXIT_CODE_MEANINGS = {
  1: 'Uncaught Fatal Exception',
  2: 'Unused',
  3: 'Internal JavaScript Parse Error',
  4: 'Internal JavaScript Evaluation Failure',
  5: 'Fatal Error',
  6: 'Non-function Internal Exception Handler',
  7: 'Internal Exception Handler Run-Time Failure',
  8: 'Unused',
  9: 'Invalid Argument',
  10: 'Internal JavaScript Run-Time Failure',
  12: 'Invalid Debug Argument',
  13: 'Unfinished Top-Level Await',
};

const PARENT_COMMANDS = new Set(Object.values(ParentCommand).filter((v) => typeof v === 'number'));

class Child extends EventEmitter {
  constructor(mainFile, processFile, opts = { useWorkerThreads: false }) {
    super();
    this.mainFile = mainFile;
    this.processFile = processFile;
    this.opts = opts;
    this._exitCode = null;
    this._signalCode = null;
    this._killed = false;
  }

  /** The process id, or the worker thread's id (kept: a thread's turns -1 once it has ended). */
  get pid() {
    if (this.childProcess) return this.childProcess.pid;
    if (this.worker) return this._threadId;
    throw new Error('No child process or worker thread');
  }

  get exitCode() {
    return this._exitCode;
  }

  get signalCode() {
    return this._signalCode;
  }

  get killed() {
    return this.childProcess ? this.childProcess.killed : this._killed;
  }

  /** Starts the process or thread and has it load the processor file. */
  async init() {
    const execArgv = await inspectableExecArgv(process.execArgv);
    const spawned = this.opts.useWorkerThreads ? this._startThread(execArgv) : this._startProcess(execArgv);
    this._listen(spawned);
    await this._loadProcessor();
  }

  _startProcess(execArgv) {
    this.childProcess = fork(this.mainFile, [], { execArgv, stdio: 'pipe', ...this.opts.workerForkOptions });
    return this.childProcess;
  }

  _startThread(execArgv) {
    const options = { execArgv, stdin: true, stdout: true, stderr: true, ...this.opts.workerThreadsOptions };
    this.worker = new ThreadWorker(this.mainFile, options);
    this._threadId = this.worker.threadId;
    return this.worker;
  }

  _listen(spawned) {
    spawned.on('exit', (exitCode, signalCode) => this._exited(exitCode, signalCode));
    spawned.on('error', (...args) => this.emit('error', ...args));
    spawned.on('message', (...args) => this.emit('message', ...args));
    spawned.on('close', (...args) => this.emit('close', ...args));
    // Nothing is emitted once the child has ended: every listener goes.
    spawned.on(endEvent(this), () => {
      spawned.removeAllListeners();
      this.removeAllListeners();
    });
    // Absent when the options ask for no pipes (stdio: 'ignore').
    if (spawned.stdout) spawned.stdout.pipe(process.stdout);
    if (spawned.stderr) spawned.stderr.pipe(process.stderr);
  }

  _exited(exitCode, signalCode) {
    this._exitCode = exitCode;
    this._signalCode = signalCode === undefined ? null : signalCode;
    this._killed = true;
    this.emit('exit', exitCode, this._signalCode);
  }

  // Resolves once the child has imported the processor; rejects with its error, or when
  // it ends first.
  async _loadProcessor() {
    const ended = endEvent(this);
    const loaded = new Promise((resolve, reject) => {
      const stop = () => {
        this.off('message', onMessage);
        this.off(ended, onClose);
      };
      const onMessage = (msg) => {
        if (!msg || !PARENT_COMMANDS.has(msg.cmd)) return;
        stop();
        if (msg.cmd === ParentCommand.InitCompleted) resolve();
        else if (msg.cmd === ParentCommand.InitFailed) reject(initError(msg.err));
      };
      const onClose = (code, signal) => {
        stop();
        reject(new Error(`Error initializing child: ${exitMeaning(code)} and signal ${signal}`));
      };
      this.on('message', onMessage);
      this.on(ended, onClose);
    });
    await this.send({ cmd: ChildCommand.Init, value: this.processFile });
    await loaded;
  }

  /** Sends a message to the child; resolves once it is handed over. */
  send(msg) {
    return asyncSend(this.childProcess || this.worker || {}, msg);
  }

  /**
   * Signals the child. A thread cannot take signals: SIGTERM asks it to finish its job
   * and exit (as a process does on SIGTERM), anything else terminates it.
   */
  killProcess(signal = 'SIGKILL') {
    if (this.childProcess) {
      this.childProcess.kill(signal);
    } else if (this.worker && signal === 'SIGTERM') {
      this.worker.postMessage({ cmd: ChildCommand.Stop });
    } else if (this.worker) {
      this.worker.terminate();
    }
  }

  /** Signals the child and resolves once it has ended; SIGKILL after `timeoutMs` if it has not exited. */
  async kill(signal = 'SIGKILL', timeoutMs) {
    if (this.hasProcessExited()) return;
    const exited = new Promise((resolve) => (this.childProcess || this.worker).once(endEvent(this), resolve));
    this.killProcess(signal);
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => this._killIfAlive(), timeoutMs) : undefined;
    await exited;
    clearTimeout(timer);
  }

  _killIfAlive() {
    if (!this.hasProcessExited()) this.killProcess('SIGKILL');
  }

  hasProcessExited() {
    return this.exitCode !== null || !!this.signalCode;
  }
}

/**
 * The event after which a child sends nothing more: a thread's `exit`; a process's
 * `close`, once its pipes are shut too (its last messages may come after its `exit`).
 */
function endEvent(child) {
  return child.worker ? 'exit' : 'close';
}

function initError(json) {
  const err = new Error(json && json.message);
  err.stack = json && json.stack;
  return err;
}

function exitMeaning(code) {
  const own = code > 128 ? code - 128 : code;
  return EXIT_CODE_MEANINGS[own] || `Unknown exit code ${own}`;
}

/** The parent's execArgv for a child, each `--inspect*` flag on a free port of its own. */
async function inspectableExecArgv(execArgv) {
  const plain = execArgv.filter((arg) => !arg.includes('--inspect'));
  const inspect = execArgv.filter((arg) => arg.includes('--inspect'));
  const moved = [];
  for (const arg of inspect) moved.push(`${arg.split('=')[0]}=${await freePort()}`);
  return plain.concat(moved);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

module.exports = { Child, endEvent };
