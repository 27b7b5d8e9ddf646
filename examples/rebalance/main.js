'use strict';

// A run of the rebalance queue: three automated rebalances and a manual one, a duplicate
// refused, the metrics printed as the jobs go through; Ctrl-C (SIGINT/SIGTERM) or the last
// job ends it.

const { RebalanceQueueService } = require('./rebalance-queue');

async function main() {
  const service = new RebalanceQueueService();
  const worker = service.startWorker();
  worker.on('completed', (job, result) => console.log(`${job.id} (${job.data.trigger}) completed:`, result));

  for (const userId of ['alice', 'bob', 'carol']) console.log(await service.addRebalanceJob(userId));
  console.log(await service.addRebalanceJob('dave', { trigger: 'manual' }));
  console.log(await service.addRebalanceJob('alice', { trigger: 'manual' })); // refused: alice has one pending

  const stop = () => service.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  for (;;) {
    const metrics = await service.getQueueMetrics();
    console.log(metrics);
    if (metrics.completed + metrics.failed >= 4) return stop();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

main();
