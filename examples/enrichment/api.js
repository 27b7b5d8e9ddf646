'use strict';

// The API server: enqueues and answers the job id at once; the workers (worker.js) do the
// work. The `x-user-id` header stands in for the app's authentication: users see their own
// jobs only. /metrics and /metrics/json are open, for Prometheus and dashboards.

const express = require('express');
const { QUEUES, getQueue, queueOfJob, enqueue, closeQueues } = require('./queues');
const config = require('./config');

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'];
const app = express();
app.use(express.json());

app.use('/api', (req, res, next) => {
  req.userId = req.get('x-user-id');
  if (!req.userId) return res.status(401).json({ success: false, error: 'unauthenticated' });
  next();
});

// Enqueue: POST /api/files/:id/enrich, /api/competitor, /api/analytics.
async function accept(res, name, data) {
  const job = await enqueue(name, data);
  res.status(202).json({ success: true, jobId: job.id, status: 'queued' });
}
app.post('/api/files/:id/enrich', (req, res) => accept(res, 'enrichment', { ...req.body, propertyId: req.params.id, userId: req.userId }));
app.post('/api/competitor', (req, res) => accept(res, 'competitor', { ...req.body, userId: req.userId }));
app.post('/api/analytics', (req, res) => accept(res, 'analytics-heavy', { ...req.body, userId: req.userId }));

// The state is read before the job: a job seen completed then has its result.
function summary(job, queue, status) {
  return {
    id: job.id,
    queue,
    status,
    progress: job.progress,
    data: job.data,
    attemptsMade: job.attemptsMade,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    result: job.returnvalue,
    error: job.failedReason,
  };
}

async function ownJob(req, jobId) {
  const queue = queueOfJob(jobId);
  const status = queue ? await queue.getJobState(jobId) : 'unknown';
  const job = status !== 'unknown' && (await queue.getJob(jobId));
  return job && job.data.userId === req.userId ? { job, queue, status } : null;
}

app.get('/api/jobs/dlq/list', async (req, res) => {
  const failedJobs = [];
  for (const name of Object.keys(QUEUES)) {
    for (const job of await getQueue(name).getFailed(0, 99)) {
      if (job.data.userId !== req.userId) continue;
      failedJobs.push({ id: job.id, queue: name, error: job.failedReason, attemptsMade: job.attemptsMade, failedAt: job.finishedOn, data: job.data });
    }
  }
  res.json({ success: true, failedJobs, total: failedJobs.length });
});

app.get('/api/jobs/:jobId', async (req, res) => {
  const found = await ownJob(req, req.params.jobId);
  if (!found) return res.status(404).json({ success: false, job: { id: req.params.jobId, status: 'not_found' } });
  res.json({ success: true, job: summary(found.job, found.queue.name, found.status) });
});

app.get('/api/jobs', async (req, res) => {
  const names = req.query.queue ? [req.query.queue] : Object.keys(QUEUES);
  const states = req.query.status ? [req.query.status] : STATES;
  if (!names.every((n) => QUEUES[n])) return res.status(400).json({ success: false, error: `queue must be one of ${Object.keys(QUEUES).join(', ')}` });
  if (!states.every((s) => STATES.includes(s))) return res.status(400).json({ success: false, error: `status must be one of ${STATES.join(', ')}` });
  const limit = Math.min(Number(req.query.limit) || 20, 100);
  const jobs = [];
  for (const name of names) {
    for (const status of states) {
      for (const job of await getQueue(name).getJobs([status], 0, 99)) {
        if (job.data.userId === req.userId) jobs.push({ id: job.id, queue: name, status, progress: job.progress, timestamp: job.timestamp });
      }
    }
  }
  jobs.sort((a, b) => b.timestamp - a.timestamp);
  res.json({ success: true, jobs: jobs.slice(0, limit), total: jobs.length });
});

app.post('/api/jobs/:jobId/retry', async (req, res) => {
  const found = await ownJob(req, req.params.jobId);
  if (!found) return res.status(404).json({ success: false, error: 'job not found' });
  if (found.status !== 'failed') return res.status(409).json({ success: false, error: `job is ${found.status}, not failed` });
  await found.job.retry();
  res.json({ success: true, message: 'Job retry initiated', jobId: found.job.id });
});

async function counts() {
  const all = {};
  for (const name of Object.keys(QUEUES)) {
    const c = await getQueue(name).getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
    all[name] = { waiting: c.waiting + c.prioritized, active: c.active, completed: c.completed, failed: c.failed, delayed: c.delayed };
  }
  return all;
}

const GAUGES = {
  waiting: 'Number of jobs waiting in queue',
  active: 'Number of jobs currently processing',
  completed: 'Number of completed jobs kept',
  failed: 'Number of failed jobs kept',
  delayed: 'Number of jobs delayed (backoff or a delay)',
};

app.get('/metrics', async (req, res) => {
  const all = await counts();
  const lines = [];
  for (const [state, help] of Object.entries(GAUGES)) {
    lines.push(`# HELP bullmq_queue_${state}_jobs ${help}`, `# TYPE bullmq_queue_${state}_jobs gauge`);
    for (const [name, c] of Object.entries(all)) lines.push(`bullmq_queue_${state}_jobs{queue="${name}"} ${c[state]}`);
  }
  res.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
});

app.get('/metrics/json', async (req, res) => res.json({ timestamp: new Date().toISOString(), queues: await counts() }));

const server = app.listen(config.port, process.env.HOST || '127.0.0.1', () => {
  console.log(`listening on http://${server.address().address}:${server.address().port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => server.close(() => closeQueues()));
}
