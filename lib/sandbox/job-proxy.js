'use strict';

// The job a sandboxed processor receives: the job's fields as the parent sent them
// (`Job#asJSONSandbox`, with `data` parsed) and BullMQ's sandboxed job methods, each a
// message to the parent, which calls the method on the real Job. Methods that answer wait
// for the parent's reply at most RESPONSE_TIMEOUT ms.

const { ParentCommand } = require('../enums');

const RESPONSE_TIMEOUT = process.env.NODE_ENV === 'test' ? 500 : 5000;

/** Sends a request to the parent and resolves with the value of its response. */
function requester(send, receiver) {
  return async (cmd, value, name) => {
    const requestId = Math.random().toString(36).substring(2, 15);
    const response = awaitResponse(receiver, requestId, name);
    try {
      await send({ requestId, cmd, value });
    } catch (err) {
      response.catch(() => {});
      throw err;
    }
    return response;
  };
}

function awaitResponse(receiver, requestId, name) {
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (!msg || msg.requestId !== requestId) return;
      stop();
      resolve(msg.value);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`TimeoutError: ${name} timed out in (${RESPONSE_TIMEOUT}ms)`));
    }, RESPONSE_TIMEOUT);
    const stop = () => {
      clearTimeout(timer);
      receiver.off('message', onMessage);
    };
    receiver.on('message', onMessage);
  });
}

/** The job object for `jobJson`, whose methods talk to the parent through `send` and `receiver`. */
function jobProxy(jobJson, send, receiver) {
  const request = requester(send, receiver);
  const job = {
    ...jobJson,
    data: JSON.parse(jobJson.data || '{}'),
    returnValue: JSON.parse(jobJson.returnvalue || '{}'),
    async updateProgress(progress) {
      job.progress = progress;
      await send({ cmd: ParentCommand.Progress, value: progress });
    },
    async log(row) {
      await send({ cmd: ParentCommand.Log, value: row });
    },
    async updateData(data) {
      await send({ cmd: ParentCommand.Update, value: data });
      job.data = data;
    },
    async moveToDelayed(timestamp, token) {
      await send({ cmd: ParentCommand.MoveToDelayed, value: { timestamp, token } });
    },
    async moveToWait(token) {
      await send({ cmd: ParentCommand.MoveToWait, value: { token } });
    },
    moveToWaitingChildren: (token, opts) =>
      request(ParentCommand.MoveToWaitingChildren, { token, opts }, 'moveToWaitingChildren'),
    getChildrenValues: () => request(ParentCommand.GetChildrenValues, undefined, 'getChildrenValues'),
    getIgnoredChildrenFailures: () =>
      request(ParentCommand.GetIgnoredChildrenFailures, undefined, 'getIgnoredChildrenFailures'),
    getDependenciesCount: (opts) => request(ParentCommand.GetDependenciesCount, opts, 'getDependenciesCount'),
    getDependencies: (opts) => request(ParentCommand.GetDependencies, opts, 'getDependencies'),
  };
  return job;
}

module.exports = { jobProxy, RESPONSE_TIMEOUT };
