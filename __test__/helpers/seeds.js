'use strict';

// What the seed-example app tests (__test__/apps/seed-*.e2e.js) share: where the examples
// are, a key prefix per run and its clean-up, HTTP calls, and loading an installed
// example's module with its environment set.

const crypto = require('node:crypto');
const path = require('node:path');
const { newRedis } = require('./redis');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
// The time an example's install from the npm registry may take.
const INSTALL_TIMEOUT = { timeout: 300000 };

/** A key prefix no other run uses: the example's queues live under it. */
function uniquePrefix(label) {
  return `seeds-${label}-${crypto.randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix`. */
async function dropPrefix(prefix) {
  const redis = newRedis();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(base, method, url, body) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') || '';
  return { status: res.status, type, body: type.includes('json') ? JSON.parse(text) : text };
}

/** Sets the example's environment, then loads `file` from the installed example. */
function loadWith(env, dir, file) {
  Object.assign(process.env, env);
  return require(path.join(dir, file));
}

module.exports = { EXAMPLES, INSTALL_TIMEOUT, uniquePrefix, dropPrefix, sleep, call, loadWith };
