'use strict';

// The README's first run, `npm run example` (examples/basic.js), finds its Redis the way
// `npm test` does: the one at REDIS_URL when it answers, else a throwaway redis-server it
// stops afterwards, else one line saying how to get a Redis (no stack trace). The README's
// sandbox and OpenTelemetry examples run and print what the README says.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { isBullmqImpl } = require('./helpers/env');
const { redisUrl } = require('./helpers/redis');
const { freePort } = require('./helpers/util');

const EXAMPLE = path.join(__dirname, '..', 'examples', 'basic.js');

function runExample(env, example = EXAMPLE) {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...env };
    delete childEnv.NODE_TEST_CONTEXT;
    execFile(process.execPath, [example], { env: childEnv, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

const redisServer = (process.env.PATH || '')
  .split(path.delimiter)
  .some((dir) => fs.existsSync(path.join(dir, 'redis-server')));

describe('npm run example', { skip: isBullmqImpl && "bullrush's example" }, () => {
  test('uses the Redis at REDIS_URL', async () => {
    const { code, stdout, stderr } = await runExample({ REDIS_URL: redisUrl });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /counts: \{ completed: 2, failed: 0 \}/);
    assert.doesNotMatch(stdout, /throwaway/);
  });

  test('starts a throwaway redis-server when none answers, and stops it', { skip: !redisServer && 'redis-server is not installed' }, async () => {
    const { code, stdout, stderr } = await runExample({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    assert.equal(code, 0, stderr);
    const started = /using a throwaway redis-server at redis:\/\/127\.0\.0\.1:(\d+)/;
    assert.match(stdout, started);
    assert.match(stdout, /counts: \{ completed: 2, failed: 0 \}/);
    const [, port] = started.exec(stdout);
    assert.equal(await accepts(Number(port)), false, 'the throwaway redis-server is stopped');
  });

  test('without Redis or redis-server, exits with one line that says how to get one', async () => {
    const { code, stdout, stderr } = await runExample({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PATH: '' });
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^No Redis answers at redis:\/\/127\.0\.0\.1:\d+ and redis-server is not installed: start a Redis .* and set REDIS_URL, or install redis-server\.\n$/);
  });
});

describe("the README's integration examples", { skip: isBullmqImpl && "bullrush's examples" }, () => {
  const examples = path.join(__dirname, '..', 'examples');

  test('examples/sandbox: the processor file runs in child processes, a bad job fails alone, the process exits', async () => {
    const { code, stdout, stderr } = await runExample({ REDIS_URL: redisUrl }, path.join(examples, 'sandbox', 'main.js'));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^job 1: 50%$/m);
    assert.match(stdout, /^job 1: fibonacci\(25\) = 75025$/m);
    assert.match(stdout, /^job 2 failed: n must be a natural number, got -1$/m);
  });

  test('examples/telemetry: add, process and complete spans, one trace', async () => {
    const { code, stdout, stderr } = await runExample({ REDIS_URL: redisUrl }, path.join(examples, 'telemetry', 'main.js'));
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => line.replace(/ \([0-9a-f]{32}\)$/, '')),
      ['add <queue>.double', '  process <queue>', '    complete <queue>'],
    );
    assert.equal(new Set(lines.map((line) => /\(([0-9a-f]{32})\)$/.exec(line)[1])).size, 1, 'one trace id');
  });
});
