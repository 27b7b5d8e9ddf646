'use strict';

// Small generic helpers: sleeping, awaiting events with a bound, closing
// many things at once, child processes.

const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with the arguments array of the next `event` on `emitter` for which
// `filter(...args)` is true; rejects after timeoutMs.
function nextEvent(emitter, event, { timeoutMs = 5000, filter = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const onEvent = (...args) => {
      let ok;
      try {
        ok = filter(...args);
      } catch (err) {
        done();
        reject(err);
        return;
      }
      if (ok) {
        done();
        resolve(args);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event '${event}'`));
    }, timeoutMs);
    function done() {
      clearTimeout(timer);
      emitter.off(event, onEvent);
    }
    emitter.on(event, onEvent);
  });
}

// Records every emission of the given events: rec.events.completed = [[args...], ...].
function recordEvents(emitter, names) {
  const events = {};
  for (const name of names) {
    events[name] = [];
    emitter.on(name, (...args) => events[name].push(args));
  }
  return events;
}

// Closes Queue/Worker/QueueEvents (close()) and ioredis clients (quit()) in
// parallel; every one is attempted, then the first failure (if any) is thrown.
async function closeAll(...things) {
  const results = await Promise.allSettled(
    things.flat().filter(Boolean).map(async (t) => {
      if (typeof t.close === 'function') return t.close();
      if (typeof t.quit === 'function') return t.quit();
      if (typeof t.disconnect === 'function') return t.disconnect();
      throw new Error('closeAll: do not know how to close this object');
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// A loopback TCP port nothing listens on (right now).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const FIXTURES = path.join(__dirname, '..', 'fixtures');

// Spawns `node __test__/fixtures/<name> ...args`. The fixture talks to the
// test as JSON lines on stdout; child.messages collects them and
// child.waitMessage(pred, timeoutMs) awaits one. child.exited resolves with
// {code, signal}. Stderr is collected in child.stderrText() for diagnostics.
function spawnFixture(name, args = [], { env = {} } = {}) {
  const child = spawn(process.execPath, [path.join(FIXTURES, name), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.messages = [];
  const waiters = [];
  let stderr = '';
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { type: 'text', text: line };
      }
      child.messages.push(msg);
      for (const w of [...waiters]) w(msg);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stderrText = () => stderr;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.waitMessage = (pred, timeoutMs = 10000) =>
    new Promise((resolve, reject) => {
      const found = child.messages.find(pred);
      if (found) {
        resolve(found);
        return;
      }
      const timer = setTimeout(() => {
        cleanupWaiter();
        reject(
          new Error(
            `fixture ${name}: no matching message within ${timeoutMs} ms; ` +
              `messages: ${JSON.stringify(child.messages)}; stderr: ${stderr}`,
          ),
        );
      }, timeoutMs);
      const onExit = (code, signal) => {
        cleanupWaiter();
        reject(
          new Error(
            `fixture ${name} exited (code ${code}, signal ${signal}) before the expected message; ` +
              `messages: ${JSON.stringify(child.messages)}; stderr: ${stderr}`,
          ),
        );
      };
      const waiter = (msg) => {
        if (pred(msg)) {
          cleanupWaiter();
          resolve(msg);
        }
      };
      function cleanupWaiter() {
        clearTimeout(timer);
        child.off('exit', onExit);
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
      }
      waiters.push(waiter);
      child.on('exit', onExit);
    });
  // Kills the child if it is still running (used in after hooks).
  child.ensureDead = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    await child.exited;
  };
  return child;
}

// Races a promise against a timeout; rejects with `message` (a string, or a
// function returning one, evaluated at timeout) on timeout.
function withTimeout(promise, ms, message = `timed out after ${ms} ms`) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Per-test resource scope: everything created through it is closed, and every
// queue name it handed out is cleaned up, when close() runs (register it with
// t.after). Objects added with add() get an 'error' listener; unexpected
// errors are collected and reported by close(), so an engine that emits
// 'error' during a passing scenario fails the test.
//
//   const s = createScope(); t.after(() => s.close());
//   const name = s.queueName('events');
//   const q = s.add(new Queue(name, { connection }));
function createScope() {
  const { uniqueQueueName, cleanup } = require('./redis');
  const workers = [];
  const others = [];
  const names = new Map(); // queue name -> key prefix
  const errors = [];
  const children = [];
  return {
    errors,
    queueName(prefix) {
      const n = uniqueQueueName(prefix);
      names.set(n, 'bull');
      return n;
    },
    // Registers an existing queue name (under a key prefix) for cleanup.
    track(name, keyPrefix = 'bull') {
      names.set(name, keyPrefix);
      return name;
    },
    // opts.allowErrors: expected 'error' events are recorded but not reported.
    add(obj, { allowErrors = false } = {}) {
      if (typeof obj.on === 'function' && typeof obj.close === 'function') {
        obj.on('error', (err) => {
          if (!allowErrors) errors.push(err);
        });
      }
      const isWorker = typeof obj.isRunning === 'function' || obj.constructor?.name === 'Worker';
      (isWorker ? workers : others).push(obj);
      return obj;
    },
    child(c) {
      children.push(c);
      return c;
    },
    async close() {
      await Promise.all(children.splice(0).map((c) => c.ensureDead()));
      // Workers first: they may still be finishing jobs that use the queue.
      let firstErr;
      try {
        await closeAll(workers.splice(0));
      } catch (err) {
        firstErr = err;
      }
      try {
        await closeAll(others.splice(0));
      } catch (err) {
        firstErr = firstErr || err;
      }
      for (const [n, keyPrefix] of names) {
        // eslint-disable-next-line no-await-in-loop
        await cleanup(n, keyPrefix);
      }
      names.clear();
      if (firstErr) throw firstErr;
      if (errors.length) {
        const e = new Error(
          `unexpected 'error' event(s): ${errors.map((x) => (x && x.stack) || String(x)).join('\n---\n')}`,
        );
        errors.length = 0;
        throw e;
      }
    },
  };
}

module.exports = {
  createScope,
  sleep,
  nextEvent,
  recordEvents,
  closeAll,
  freePort,
  spawnFixture,
  withTimeout,
  FIXTURES,
};
