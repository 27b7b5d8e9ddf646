'use strict';

// The queues at work: fills and user queries on the high-priority portfolio queue, price
// updates on the low-priority one, each with its own workers; prints every queue's
// health once the jobs are done.

const { QueueName, QueuePriority, getQueue, createWorker, getAllQueuesHealth, alertsFor, closeAll } = require('./queues');

async function main() {
  const positions = new Map();
  createWorker(QueueName.PORTFOLIO_HIGH_PRIORITY, async (job) => {
    const { userId, symbol } = job.data;
    positions.set(`${userId}/${symbol}`, job.name);
    return { userId, symbol, recalculated: true };
  });
  createWorker(QueueName.PORTFOLIO_LOW_PRIORITY, async (job) => ({ symbol: job.data.symbol, price: job.data.price }));

  const high = getQueue(QueueName.PORTFOLIO_HIGH_PRIORITY);
  const low = getQueue(QueueName.PORTFOLIO_LOW_PRIORITY);
  await high.add('recalculate-position', { userId: 'user-123', symbol: 'BTCUSDT', fillId: 'fill-456' }, { priority: QueuePriority.HIGH });
  await high.add('user-query', { userId: 'user-123', symbol: 'ETHUSDT' }, { priority: QueuePriority.CRITICAL });
  await low.addBulk(
    ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].map((symbol, i) => ({
      name: 'price-update',
      data: { symbol, price: 100 + i },
      opts: { priority: QueuePriority.LOW },
    })),
  );

  for (;;) {
    const health = await getAllQueuesHealth();
    const done = health.reduce((n, h) => n + h.completed, 0);
    if (done >= 5) {
      for (const h of health) console.log(JSON.stringify(h), alertsFor(h).join(', '));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await closeAll();
}

main();
