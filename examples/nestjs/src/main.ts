import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule);
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`listening on ${await app.getUrl()}`);

// SIGTERM closes the app (the worker and the queue with it); the process then exits by
// itself, as nothing is left open.
process.once('SIGTERM', () => {
  void app.close();
});
