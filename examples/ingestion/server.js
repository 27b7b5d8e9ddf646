'use strict';

// The HTTP side (node:http, no framework): enqueue jobs, read a job's status and the
// queues' metrics. It logs every queue's events (completed, failed, progress) as they
// happen, from whichever worker process runs the jobs.
//
//   POST /api/jobs/:queue        body { data, opts } → 202 { jobId }
//   GET  /api/jobs/:queue/:id    → { state, progress, result, ... } or 404
//   GET  /api/jobs/metrics       → { metrics: { ingestion: {...}, ... } }
// Every route wants `Authorization: Bearer <API_TOKEN>`.

const http = require('node:http');
const queue = require('./queue');
const { port, apiToken } = require('./config');

const ENQUEUE = {
  ingestion: queue.enqueueIngestion,
  calculation: queue.enqueueCalculation,
  webhooks: queue.enqueueWebhook,
  reports: queue.enqueueReport,
};

for (const name of queue.QUEUE_NAMES) {
  const events = queue.getQueueEvents(name);
  events.on('completed', ({ jobId, returnvalue }) => console.log(`[${name}] job ${jobId} completed:`, returnvalue));
  events.on('failed', ({ jobId, failedReason }) => console.error(`[${name}] job ${jobId} failed: ${failedReason}`));
  events.on('progress', ({ jobId, data }) => console.log(`[${name}] job ${jobId} progress: ${JSON.stringify(data)}`));
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

async function route(req, res) {
  if (req.headers.authorization !== `Bearer ${apiToken}`) return send(res, 401, { error: 'unauthorized' });
  const [, api, jobs, name, id] = req.url.split('?')[0].split('/');
  if (api !== 'api' || jobs !== 'jobs') return send(res, 404, { error: 'not found' });
  if (req.method === 'GET' && name === 'metrics' && !id) return send(res, 200, { metrics: await queue.getAllQueueMetrics() });
  if (!ENQUEUE[name]) return send(res, 404, { error: `no queue ${name}` });
  if (req.method === 'POST' && !id) {
    const { data, opts } = await readJson(req);
    const job = await ENQUEUE[name](data, opts);
    return send(res, 202, { jobId: job.id });
  }
  if (req.method === 'GET' && id) {
    const status = await queue.getJobStatus(name, decodeURIComponent(id));
    return status ? send(res, 200, status) : send(res, 404, { jobId: id, state: 'not_found' });
  }
  send(res, 405, { error: 'method not allowed' });
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => send(res, 500, { error: err.message }));
});
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => server.close(() => queue.closeQueues()));
}
