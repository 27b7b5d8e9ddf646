'use strict';

// The HTTP side: submit intents, watch and steer the queues, and bull-board's dashboard.
//
//   POST /intents                          body { intent, strategy } → 202 { jobId }
//   GET  /health                           → QueueService#getQueueHealth (503 if unhealthy)
//   GET  /queues/:name/metrics
//   POST /queues/:name/pause | resume | retry-failed | clear-failed
//   /admin/queues                          bull-board

const express = require('express');
const { createBullBoard } = require('@bull-board/api');
const { BullMQAdapter } = require('@bull-board/api/bullMQAdapter');
const { ExpressAdapter } = require('@bull-board/express');

function createApp(service) {
  const app = express();
  app.use(express.json());

  const board = new ExpressAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({ queues: [...service.queues.values()].map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  app.use('/admin/queues', board.getRouter());

  app.post('/intents', async (req, res) => {
    const { intent, strategy = 'standard', correlationId } = req.body;
    const job = await service.addIntentToFulfillmentQueue(intent, strategy, { correlationId });
    res.status(202).json({ jobId: job.id });
  });

  app.get('/health', async (req, res) => {
    const health = await service.getQueueHealth();
    res.status(health.isHealthy ? 200 : 503).json(health);
  });

  // Unknown queue names are answered 404 before any action.
  app.use('/queues/:name', (req, res, next) => {
    if (!service.queues.has(req.params.name)) return res.status(404).json({ error: `no queue ${req.params.name}` });
    next();
  });

  app.get('/queues/:name/metrics', async (req, res) => res.json(await service.getQueueMetrics(req.params.name)));

  const ACTIONS = {
    pause: (name) => service.pauseQueue(name).then(() => ({ paused: true })),
    resume: (name) => service.resumeQueue(name).then(() => ({ paused: false })),
    'retry-failed': (name) => service.retryFailedJobs(name).then(() => ({ retried: true })),
    'clear-failed': (name) => service.clearFailedJobs(name).then((ids) => ({ removed: ids.length })),
  };
  app.post('/queues/:name/:action', async (req, res) => {
    const action = ACTIONS[req.params.action];
    if (!action) return res.status(404).json({ error: `no action ${req.params.action}` });
    res.json(await action(req.params.name));
  });

  return app;
}

module.exports = { createApp };
