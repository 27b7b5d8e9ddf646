'use strict';

// Entry of a sandbox child process: commands come over IPC. Once the parent is gone (its
// IPC channel closed) nothing can take this child's result, so it ends at once.

const { runChild } = require('./child-main');
const { childSend } = require('./ipc');

runChild((msg) => childSend(process, msg), process);
process.on('disconnect', () => process.exit());
