// Types of `bullrush/testing`: a throwaway real Redis and unique queue names for test suites.

import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

/** Where to find Redis: `{ host, port, ... }`, for the `connection` option of Queue, Worker and QueueEvents. */
export type TestRedisConnection = {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  /** Set (`{}`) for a `rediss://` URL. */
  tls?: TlsConnectionOptions;
};

export interface StartTestRedisOptions {
  /**
   * The Redis to use, which must answer PING (default: `process.env.REDIS_URL`). `false`,
   * or no URL at all: start a redis-server of its own on a free loopback port.
   */
  url?: string | false;
  /** The redis-server binary to start (default: `redis-server` from PATH). */
  redisServer?: string;
}

/** A Redis for one test suite: where it is, unique queue names, and clean-up. */
export declare class TestRedis {
  private constructor();
  /** The Redis URL, e.g. `redis://127.0.0.1:41234`. */
  readonly url: string;
  /** `{ host, port, ... }` for the `connection` option of Queue, Worker and QueueEvents. */
  readonly connection: TestRedisConnection;
  /** The process id of the redis-server this started, or null when it uses a given Redis. */
  readonly pid: number | null;
  /** The temporary directory of the redis-server this started, or null. */
  readonly dir: string | null;
  /** True when this started its own redis-server (false: it uses REDIS_URL or the `url` option). */
  readonly ownServer: boolean;
  /** A queue name no other suite uses, `<base>-<time>-<random>` (base defaults to `test`). */
  queueName(base?: string): string;
  /**
   * Deletes the keys of every queue named by queueName() so far, under any prefix;
   * resolves with how many keys it deleted. Close the queue's Queues, Workers and
   * QueueEvents first.
   */
  cleanup(): Promise<number>;
  /**
   * Cleans up (a given Redis), or stops the redis-server this started and deletes its
   * directory. Safe to call more than once.
   */
  stop(): Promise<void>;
}

/** Answers a TestRedis: the Redis at `url` / `REDIS_URL`, or a redis-server of its own. */
export declare function startTestRedis(options?: StartTestRedisOptions): Promise<TestRedis>;
