'use strict';

// A Redis for the examples, found the way `npm test` finds one: the one at REDIS_URL
// (default redis://127.0.0.1:6379) when it answers; else a throwaway redis-server on a free
// loopback port, when one is installed; else the process ends with one line that says how
// to get a Redis.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const RESP = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** Whether a Redis answers PING at a redis:// URL (with its password, if any). */
function answers(url) {
  const u = new URL(url);
  const auth = u.password ? [['AUTH', ...(u.username ? [decodeURIComponent(u.username)] : []), decodeURIComponent(u.password)]] : [];
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname || '127.0.0.1');
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write([...auth, ['PING']].map(RESP).join('')));
    socket.on('data', (data) => {
      reply += data;
      if (reply.includes('+PONG')) done(true);
      else if (reply.startsWith('-')) done(false);
    });
  });
}

function installed(command) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function giveUp(message) {
  console.error(message);
  process.exit(1);
}

async function startThrowaway() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullrush-example-redis-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise((resolve) => server.on('exit', resolve));
  const stop = async () => {
    server.kill();
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && server.exitCode === null; i += 1) {
    if (await answers(url)) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  return giveUp(`The throwaway redis-server on port ${port} did not start; set REDIS_URL to a Redis (>= 6.2) instead.`);
}

/** Answers { url, stop() } for a Redis the example can use. */
async function findRedis() {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (!url.startsWith('redis://') || (await answers(url))) return { url, stop: async () => {} };
  if (!installed('redis-server')) {
    giveUp(`No Redis answers at ${url.replace(/\/\/[^@/]*@/, '//***@')} and redis-server is not installed: start a Redis (>= 6.2, e.g. \`docker run -p 6379:6379 redis\`) and set REDIS_URL, or install redis-server.`);
  }
  const redis = await startThrowaway();
  console.log(`No Redis answers at REDIS_URL; using a throwaway redis-server at ${redis.url}`);
  return redis;
}

module.exports = { findRedis };
