// `bullrush/testing` for ESM: the CommonJS entry's exports, by name (one module instance).

export { startTestRedis, TestRedis } from './testing.js';
