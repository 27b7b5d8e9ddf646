'use strict';

// A processor file as a processor function `(job, token, signal) => result`: each call
// runs its job in a child of the pool and settles with the child's outcome. What the
// child asks of its job (progress, logs, data, moves, flow getters) is done on the real
// Job, so it goes through the engine as for any processor; the child's messages are
// handled one after another, in the order sent, so an outcome counts only once every
// earlier call has been made.

const { ChildCommand, ParentCommand } = require('../enums');
const { errorFromJSON } = require('./ipc');
const { endEvent } = require('./child');

/** Job methods a child calls without waiting for an answer. */
const JOB_CALLS = {
  [ParentCommand.Progress]: (job, value) => job.updateProgress(value),
  [ParentCommand.Log]: (job, value) => job.log(value),
  [ParentCommand.Update]: (job, value) => job.updateData(value),
  [ParentCommand.MoveToDelayed]: (job, value) => job.moveToDelayed(value && value.timestamp, value && value.token),
  [ParentCommand.MoveToWait]: (job, value) => job.moveToWait(value && value.token),
};

/** Job methods whose answer goes back to the child, with the command it goes back as. */
const REQUESTS = {
  [ParentCommand.MoveToWaitingChildren]: [
    ChildCommand.MoveToWaitingChildrenResponse,
    (job, value) => job.moveToWaitingChildren(value && value.token, value && value.opts),
  ],
  [ParentCommand.GetChildrenValues]: [ChildCommand.GetChildrenValuesResponse, (job) => job.getChildrenValues()],
  [ParentCommand.GetIgnoredChildrenFailures]: [
    ChildCommand.GetIgnoredChildrenFailuresResponse,
    (job) => job.getIgnoredChildrenFailures(),
  ],
  [ParentCommand.GetDependenciesCount]: [
    ChildCommand.GetDependenciesCountResponse,
    (job, value) => job.getDependenciesCount(value),
  ],
  [ParentCommand.GetDependencies]: [ChildCommand.GetDependenciesResponse, (job, value) => job.getDependencies(value)],
};

/** The processor function running `processFile` in the children of `childPool`. */
function sandbox(processFile, childPool) {
  return async function sandboxed(job, token, signal) {
    const child = await childPool.retain(processFile);
    const run = startRun(child, job, token, signal);
    try {
      return await run.outcome;
    } finally {
      run.stop();
      if (child.exitCode === null && child.signalCode === null && !run.exiting) childPool.release(child);
    }
  };
}

// Starts `job` on `child`; `outcome` settles with the child's result or error, or fails
// when the child ends first (after every message it sent); `exiting` is set once the child says it is ending; `stop`
// detaches from the child.
function startRun(child, job, token, signal) {
  const run = { exiting: false };
  run.outcome = new Promise((resolve, reject) => {
    run.settle = { resolve, reject };
  });
  const inOrder = sequence(run.settle.reject);
  const detach = listen(child, {
    message: (msg) => {
      if (msg && msg.exiting) run.exiting = true;
      inOrder(() => handleMessage(msg, child, job, run.settle));
    },
    [endEvent(child)]: (code, signalCode) =>
      inOrder(() => run.settle.reject(new Error(`Unexpected exit code: ${code} signal: ${signalCode}`))),
    error: (err) => run.settle.reject(err),
  });
  child.send({ cmd: ChildCommand.Start, job: job.asJSONSandbox(), token }).catch(run.settle.reject);
  const unforward = forwardAbort(signal, child);
  run.stop = () => {
    unforward();
    detach();
  };
  return run;
}

/** A function running the steps given to it one after another; a failing step goes to `onError`. */
function sequence(onError) {
  let last = Promise.resolve();
  return (step) => {
    last = last.then(step).catch(onError);
  };
}

/** Adds `handlers` (event name to listener) to `emitter`; the returned function removes them. */
function listen(emitter, handlers) {
  const entries = Object.entries(handlers);
  for (const [event, handler] of entries) emitter.on(event, handler);
  return () => entries.forEach(([event, handler]) => emitter.off(event, handler));
}

/** Tells the child to cancel (with the reason) when `signal` aborts; the returned function stops that. */
function forwardAbort(signal, child) {
  if (!signal) return () => {};
  const onAbort = () => child.send({ cmd: ChildCommand.Cancel, value: signal.reason }).catch(() => {});
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

async function handleMessage(msg, child, job, settle) {
  const cmd = msg && msg.cmd;
  if (cmd === ParentCommand.Completed) return settle.resolve(msg.value);
  // Failed carries the error as `value`, Error (a refused start) as `err`.
  if (cmd === ParentCommand.Failed || cmd === ParentCommand.Error) return settle.reject(errorFromJSON(msg.value ?? msg.err));
  if (JOB_CALLS[cmd]) return JOB_CALLS[cmd](job, msg.value);
  if (!REQUESTS[cmd]) return undefined;
  const [response, call] = REQUESTS[cmd];
  const value = await call(job, msg.value);
  return child.send({ requestId: msg.requestId, cmd: response, value });
}

module.exports = { sandbox };
