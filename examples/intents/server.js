'use strict';

// The service: the HTTP API, both workers, and (with OTEL_CONSOLE=1) every span printed to
// the console. Ends on SIGTERM/SIGINT once the running jobs are done.

const { ConsoleSpanExporter } = require('@opentelemetry/sdk-trace-base');
const { startTracing } = require('./tracing');

if (process.env.OTEL_CONSOLE === '1') startTracing(new ConsoleSpanExporter());

const config = require('./config');
const { QueueService } = require('./queue-service');
const { startProcessors } = require('./processors');
const { createApp } = require('./app');

const service = new QueueService();
const workers = startProcessors(service);
const server = createApp(service).listen(config.port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port} (dashboard: /admin/queues)`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    Promise.all(Object.values(workers).map((worker) => worker.close())).then(() => service.close());
  });
}
