'use strict';

// The message loop of a sandbox child, process or thread: the parent's commands go to a
// ChildProcessor. SIGTERM/SIGINT (or Stop, for a thread) let the running job finish and
// then end the child; an uncaught exception fails the running job and ends the child.

const { ChildCommand, ParentCommand } = require('../enums');
const { ChildProcessor } = require('./child-processor');
const { errorToJSON } = require('./ipc');

/** Wires `receiver`'s messages to a ChildProcessor that answers through `send`. */
function runChild(send, receiver) {
  const processor = new ChildProcessor(send, receiver);
  receiver.on('message', (msg) => handle(processor, msg).catch(() => {}));
  process.on('SIGTERM', () => processor.waitForCurrentJobAndExit());
  process.on('SIGINT', () => processor.waitForCurrentJobAndExit());
  process.on('uncaughtException', (err) => failAndExit(send, err));
  return processor;
}

async function handle(processor, msg) {
  switch (msg && msg.cmd) {
    case ChildCommand.Init:
      return processor.init(msg.value);
    case ChildCommand.Start:
      return processor.start(msg.job, msg.token);
    case ChildCommand.Stop:
      return processor.waitForCurrentJobAndExit();
    case ChildCommand.Cancel:
      return processor.cancel(msg.value);
    default:
      return undefined;
  }
}

// The child is in an unknown state after an uncaught exception: report it and leave
// (`exiting` tells the parent not to hand this child another job).
async function failAndExit(send, err) {
  const error = typeof err === 'object' && err !== null ? err : new Error(String(err));
  try {
    await send({ cmd: ParentCommand.Failed, value: errorToJSON(error), exiting: true });
  } finally {
    process.exit();
  }
}

module.exports = { runChild };
