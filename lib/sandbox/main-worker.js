'use strict';

// Entry of a sandbox worker thread: commands come through the thread's parent port.

const { parentPort } = require('node:worker_threads');
const { runChild } = require('./child-main');

runChild(async (msg) => parentPort.postMessage(msg), parentPort);
