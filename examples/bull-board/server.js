'use strict';

// bull-board's dashboard over two queues, served by Express at /ui.
// REDIS_URL (default redis://127.0.0.1:6379), QUEUE_NAMES (comma-separated, default
// "emails,reports") and PORT (default 3000) say where.

const express = require('express');
const { Queue } = require('bullmq');
const { createBullBoard } = require('@bull-board/api');
const { BullMQAdapter } = require('@bull-board/api/bullMQAdapter');
const { ExpressAdapter } = require('@bull-board/express');

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  ...(url.password && { password: decodeURIComponent(url.password) }),
  ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
};
const names = (process.env.QUEUE_NAMES || 'emails,reports').split(',');
const queues = names.map((name) => new Queue(name, { connection }));

const serverAdapter = new ExpressAdapter();
serverAdapter.setBasePath('/ui');
createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter });

const app = express();
app.use('/ui', serverAdapter.getRouter());
const server = app.listen(Number(process.env.PORT || 3000), () => {
  console.log(`bull-board on http://localhost:${server.address().port}/ui`);
});

process.once('SIGTERM', async () => {
  server.close();
  await Promise.all(queues.map((queue) => queue.close()));
});
