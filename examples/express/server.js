'use strict';

// A REST API over a queue: POST /api/jobs enqueues, GET /api/jobs/:id is a job's status,
// GET /api/jobs?status=failed&limit=20 lists jobs, POST /api/jobs/:id/retry retries a
// failed job. The work itself is done by worker.js, in its own process.

const express = require('express');
const { Queue } = require('bullmq');
const { connection, queueName } = require('./connection');

const queue = new Queue(queueName, { connection });
const app = express();
app.use(express.json());

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'];

// `status` is read before the job itself: a job seen completed (or failed) then has its
// result (or reason) in what is read next.
function describe(job, status) {
  return {
    jobId: job.id,
    name: job.name,
    status,
    data: job.data,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    returnvalue: job.returnvalue,
    failedReason: job.failedReason,
    timestamp: job.timestamp,
    finishedOn: job.finishedOn,
  };
}

// Answers the job id at once; the worker does the work.
app.post('/api/jobs', async (req, res) => {
  const job = await queue.add('double', req.body, { attempts: 2, backoff: { type: 'fixed', delay: 200 } });
  res.status(202).json({ jobId: job.id, status: 'queued' });
});

app.get('/api/jobs/:id', async (req, res) => {
  const status = await queue.getJobState(req.params.id);
  const job = status !== 'unknown' && (await queue.getJob(req.params.id));
  if (!job) return res.status(404).json({ jobId: req.params.id, status: 'not_found' });
  res.json(describe(job, status));
});

app.get('/api/jobs', async (req, res) => {
  const status = req.query.status ?? 'waiting';
  if (!STATES.includes(status)) return res.status(400).json({ error: `status must be one of ${STATES.join(', ')}` });
  const limit = Math.min(Number(req.query.limit) || 20, 100);
  const [jobs, total] = await Promise.all([queue.getJobs([status], 0, limit - 1), queue.getJobCountByTypes(status)]);
  res.json({ jobs: jobs.map((job) => describe(job, status)), total });
});

app.post('/api/jobs/:id/retry', async (req, res) => {
  const job = await queue.getJob(req.params.id);
  if (!job) return res.status(404).json({ jobId: req.params.id, status: 'not_found' });
  if (!(await job.isFailed())) return res.status(409).json({ error: `job ${job.id} has not failed` });
  await job.retry();
  res.json({ jobId: job.id, status: 'retried' });
});

const server = app.listen(Number(process.env.PORT || 3000), process.env.HOST || '127.0.0.1', () => {
  console.log(`listening on http://${server.address().address}:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => server.close(() => queue.close()));
}
