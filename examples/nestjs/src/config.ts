// Where the queue lives: REDIS_URL (default redis://127.0.0.1:6379) and QUEUE_NAME.

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

export const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  ...(url.password && { password: decodeURIComponent(url.password) }),
  ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
};

export const QUEUE_NAME = process.env.QUEUE_NAME ?? 'squares';
