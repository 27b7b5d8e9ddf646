'use strict';

// The workers of the three queues, in one process (run more of them to scale out). On
// SIGTERM/SIGINT each waits for its running jobs, then the process exits.

const { Worker, UnrecoverableError } = require('bullmq');
const config = require('./config');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const processors = {
  async enrichment(job) {
    const { latitude, longitude } = job.data.location || {};
    // Invalid data fails at once, without retries.
    if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) throw new UnrecoverableError('invalid location');
    // `failAttempts` stands in for a weather API that times out that many times.
    if (job.attemptsMade < (job.data.failAttempts || 0)) throw new Error('Weather API timeout');
    const steps = ['weather', 'holidays', 'temporal features'];
    for (const [i] of steps.entries()) {
      await sleep(config.stepMs);
      await job.updateProgress(Math.round(((i + 1) * 100) / steps.length));
    }
    return { propertyId: job.data.propertyId, enriched: steps };
  },
  async competitor(job) {
    // `failAttempts` stands in for a site that blocks the scraper that many times.
    if (job.attemptsMade < (job.data.failAttempts || 0)) throw new Error('blocked by the site (HTTP 429)');
    await sleep(config.stepMs);
    await job.updateProgress(100);
    return { location: job.data.location, prices: [120, 135, 149] };
  },
  async 'analytics-heavy'(job) {
    const prices = (job.data.data || []).map((row) => row.price);
    if (prices.length === 0) throw new UnrecoverableError('no data to analyse');
    await sleep(config.stepMs);
    await job.updateProgress(100);
    const mean = prices.reduce((a, b) => a + b, 0) / prices.length;
    return { analysisType: job.data.analysisType, count: prices.length, mean, min: Math.min(...prices), max: Math.max(...prices) };
  },
};

const workers = Object.entries(processors).map(
  ([name, processor]) =>
    new Worker(name, processor, {
      connection: config.connection,
      prefix: config.prefix,
      concurrency: config.concurrency[name],
      ...(name === 'enrichment' && { limiter: config.enrichmentLimit }),
    }),
);

for (const worker of workers) {
  worker.on('completed', (job) => console.log(`[${worker.name}] ${job.id} completed`));
  worker.on('failed', (job, err) => console.log(`[${worker.name}] ${job?.id} failed (attempt ${job?.attemptsMade}): ${err.message}`));
}
console.log(`workers ready: ${workers.map((w) => `${w.name} ×${w.concurrency}`).join(', ')}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    console.log('closing workers, waiting for their running jobs');
    await Promise.all(workers.map((worker) => worker.close()));
    process.exit(0);
  });
}
