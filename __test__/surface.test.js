'use strict';

// bullrush's public surface against BullMQ's own (the installed `bullmq`): every name
// `require('bullmq')` and `import('bullmq')` give, and every public method and accessor
// of BullMQ's classes (public by BullMQ's declaration files), is either bullrush's too,
// with the same kind of value, or a row of the README's "Not exported" table. A name a
// later BullMQ adds fails here until it is decided. Also: the ESM entry, and an ESM app
// whose `bullmq` is bullrush importing every user-facing name.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { spawnSync } = require('node:child_process');

const bullmq = require('bullmq');
const bullrush = require('bullrush');

const ROOT = path.join(__dirname, '..');
const BULLMQ_ROOT = path.dirname(require.resolve('bullmq/package.json'));
const BULLMQ_CLASSES = path.join(BULLMQ_ROOT, 'dist', 'esm', 'classes');

// The classes whose members are compared.
const CLASSES = ['Queue', 'Worker', 'QueueEvents', 'Job', 'QueueBase', 'QueueGetters', 'QueueEventsProducer', 'QueueKeys', 'Backoffs', 'FlowProducer'];

/** Names in the first column of the README's "Not exported | Why" table, with their reasons. */
function notExportedTable() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| Not exported | Why |');
  assert.ok(start >= 0, 'the README has a "| Not exported | Why |" table');
  const table = new Map();
  for (const row of readme.slice(start).split('\n').slice(2)) {
    if (!row.startsWith('|')) break;
    const [, names, why] = row.split('|');
    assert.ok(why && why.trim(), `a reason for ${names.trim()}`);
    for (const [, name] of names.matchAll(/`([^`]+)`/g)) table.set(name, why.trim());
  }
  return table;
}

const TABLE = notExportedTable();

// Whether bullrush exports `name` (its own export, not something inherited like toString).
function exported(name) {
  return Object.hasOwn(bullrush, name);
}

// Entries of an ESM namespace that are not names: its default, and the CommonJS marker
// Node's detection finds in BullMQ's compiled output.
const NOT_NAMES = ['default', '__esModule'];

// `QueueEventsProducer` -> `queue-events-producer`.
function fileOf(className) {
  return className.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * The members BullMQ's declaration file gives class `className`: name ('static name' for
 * statics) -> 'public' or 'hidden' (private or protected).
 */
function declaredMembers(className) {
  const text = fs.readFileSync(path.join(BULLMQ_CLASSES, `${fileOf(className)}.d.ts`), 'utf8');
  const start = text.search(new RegExp(`export declare class ${className}\\b`));
  assert.ok(start >= 0, `${className} is declared in ${fileOf(className)}.d.ts`);
  const body = text.slice(start, text.indexOf('\n}', start));
  const members = new Map();
  const member = /^ {4}((?:(?:private|protected|public|static|readonly|abstract|get|set|async)\s+)*)([A-Za-z_$][\w$]*)\??\s*[(<:;]/;
  for (const line of body.split('\n')) {
    const m = member.exec(line);
    if (!m) continue;
    const key = /\bstatic\b/.test(m[1]) ? `static ${m[2]}` : m[2];
    const visibility = /\b(private|protected)\b/.test(m[1]) ? 'hidden' : 'public';
    if (members.get(key) !== 'public') members.set(key, visibility);
  }
  return members;
}

// Whether a class in a prototype walk is past the classes of the libraries.
function isBase(cls) {
  return !cls || cls === EventEmitter || cls === Function.prototype || cls === Object;
}

/** BullMQ's public instance members of `cls` (its own and inherited): name -> 'method' | 'accessor'. */
function publicMembers(cls) {
  const out = new Map();
  const seen = new Set();
  for (let c = cls; !isBase(c); c = Object.getPrototypeOf(c)) {
    const declared = declaredMembers(c.name);
    for (const name of Object.getOwnPropertyNames(c.prototype)) {
      if (name === 'constructor' || seen.has(name)) continue;
      seen.add(name);
      if (declared.get(name) === 'hidden') continue;
      const d = Object.getOwnPropertyDescriptor(c.prototype, name);
      out.set(name, d.get || d.set ? 'accessor' : 'method');
    }
  }
  return out;
}

/** BullMQ's public static members of `cls`. */
function publicStatics(cls) {
  const out = new Set();
  for (let c = cls; !isBase(c); c = Object.getPrototypeOf(c)) {
    const declared = declaredMembers(c.name);
    for (const name of Object.getOwnPropertyNames(c)) {
      if (['length', 'name', 'prototype'].includes(name)) continue;
      if (declared.get(`static ${name}`) !== 'hidden') out.add(name);
    }
  }
  return out;
}

// The descriptor of `name` anywhere on `proto`'s chain.
function findDescriptor(proto, name) {
  for (let p = proto; p; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return d;
  }
  return undefined;
}

describe('the names BullMQ exports', () => {
  test('each is exported by bullrush or listed in the README table, and the table lists nothing else', () => {
    const missing = Object.keys(bullmq).filter((name) => !exported(name) && !TABLE.has(name));
    assert.deepEqual(missing, [], 'BullMQ names neither exported nor in the README table');
    const classMembers = [...TABLE.keys()].filter((name) => name.includes('.'));
    const stale = [...TABLE.keys()].filter((name) => !name.includes('.') && (exported(name) || !Object.hasOwn(bullmq, name)));
    assert.deepEqual(stale, [], 'table rows that bullrush exports or BullMQ does not have');
    for (const entry of classMembers) {
      const [cls, member] = entry.split('.');
      assert.ok(publicMembers(bullmq[cls]).has(member), `${entry} is a public member of BullMQ's ${cls}`);
      assert.ok(!(member in bullrush[cls].prototype), `${entry} is in the table but bullrush has it`);
    }
  });

  test("each shared name is the same kind of value as BullMQ's; enums and constants are equal", () => {
    for (const name of Object.keys(bullmq).filter(exported)) {
      const ours = bullrush[name];
      const theirs = bullmq[name];
      assert.equal(typeof ours, typeof theirs, `typeof ${name}`);
      if (typeof theirs !== 'function') assert.deepStrictEqual(ours, theirs, name);
    }
  });

  test("error classes default to BullMQ's names and messages", () => {
    const errors = Object.keys(bullmq).filter((n) => typeof bullmq[n] === 'function' && bullmq[n].prototype instanceof Error);
    assert.ok(errors.length >= 6);
    for (const name of errors.filter(exported)) {
      const ours = new bullrush[name]();
      const theirs = new bullmq[name]();
      assert.ok(ours instanceof Error, name);
      assert.equal(ours.name, theirs.name, `${name}.name`);
      assert.equal(ours.message, theirs.message, `${name} message`);
    }
  });

  test('import() gives the same names and values as require(), and as BullMQ', async () => {
    const esm = await import('bullrush');
    const names = Object.keys(esm).filter((n) => !NOT_NAMES.includes(n));
    assert.deepEqual(names.sort(), Object.keys(bullrush).sort());
    for (const name of names) assert.equal(esm[name], bullrush[name], `${name} is one value under import and require`);
    assert.equal(esm.default, bullrush);
    const theirs = await import('bullmq');
    const missing = Object.keys(theirs).filter((n) => !NOT_NAMES.includes(n) && !(n in esm) && !TABLE.has(n));
    assert.deepEqual(missing, [], 'ESM names of BullMQ neither exported nor in the table');
  });
});

describe('the public members of BullMQ classes', () => {
  for (const name of CLASSES) {
    test(`${name}: every public method and accessor of BullMQ's, or a README row`, () => {
      const ours = bullrush[name];
      const missing = [];
      for (const [member, kind] of publicMembers(bullmq[name])) {
        if (TABLE.has(`${name}.${member}`)) continue;
        const d = findDescriptor(ours.prototype, member);
        if (!d) {
          missing.push(member);
          continue;
        }
        const isAccessor = !!(d.get || d.set);
        assert.equal(isAccessor, kind === 'accessor', `${name}.${member} is ${kind === 'accessor' ? 'an accessor' : 'a method'}`);
        if (!isAccessor) assert.equal(typeof d.value, 'function', `${name}.${member} is a function`);
      }
      for (const member of publicStatics(bullmq[name])) {
        if (!(member in ours) && !TABLE.has(`${name}.${member}`)) missing.push(`static ${member}`);
      }
      assert.deepEqual(missing, [], `members of BullMQ's ${name} missing from bullrush's`);
    });
  }

  test('the member lists are read from BullMQ (not empty, private and protected left out)', () => {
    const worker = publicMembers(bullmq.Worker);
    assert.ok(worker.has('extendJobLocks') && worker.has('startStalledCheckTimer'));
    assert.ok(!worker.has('mainLoop') && !worker.has('moveToActive'), 'private and protected members are not required');
    assert.equal(publicMembers(bullmq.Queue).get('metaValues'), 'accessor');
    assert.ok(publicStatics(bullmq.Job).has('optsFromJSON'));
  });

  test('Queue, Worker and QueueEvents count as QueueBase instances, Queue as QueueGetters', () => {
    const { Queue, Worker, QueueEvents, QueueBase, QueueGetters, QueueEventsProducer } = bullrush;
    for (const cls of [Queue, Worker, QueueEvents, QueueEventsProducer, QueueGetters]) {
      assert.ok(Object.create(cls.prototype) instanceof QueueBase, `${cls.name} instanceof QueueBase`);
    }
    assert.ok(Object.create(Queue.prototype) instanceof QueueGetters);
    assert.ok(!(Object.create(Worker.prototype) instanceof QueueGetters));
    assert.ok(!({} instanceof QueueBase));
  });
});

describe("utilities behave as BullMQ's", () => {
  test('QueueKeys, getParentKey, isRedisInstance, isRedisCluster', () => {
    assert.deepEqual(new bullrush.QueueKeys('pfx').getKeys('q'), new bullmq.QueueKeys('pfx').getKeys('q'));
    assert.equal(new bullrush.QueueKeys().toKey('q', 'wait'), new bullmq.QueueKeys().toKey('q', 'wait'));
    const parent = { id: '7', queue: 'bull:parents' };
    assert.equal(bullrush.getParentKey(parent), bullmq.getParentKey(parent));
    assert.equal(bullrush.getParentKey(undefined), undefined);
    const client = { connect() {}, disconnect() {}, duplicate() {} };
    for (const value of [client, { ...client, isCluster: true }, {}, null, { connect() {} }]) {
      assert.equal(bullrush.isRedisInstance(value), bullmq.isRedisInstance(value));
      assert.equal(bullrush.isRedisCluster(value), bullmq.isRedisCluster(value));
    }
  });

  test('Backoffs: normalize and the built-in delays, custom strategies and unknown types', () => {
    const { Backoffs } = bullrush;
    for (const input of [500, { type: 'exponential', delay: 100 }, undefined, 0]) {
      assert.deepEqual(Backoffs.normalize(input), bullmq.Backoffs.normalize(input));
    }
    for (const backoff of [{ type: 'fixed', delay: 250 }, { type: 'exponential', delay: 100 }]) {
      for (const attempts of [1, 2, 5]) {
        assert.equal(Backoffs.calculate(backoff, attempts), bullmq.Backoffs.calculate(backoff, attempts), `${backoff.type} ${attempts}`);
      }
    }
    const jittered = Backoffs.calculate({ type: 'exponential', delay: 1000, jitter: 0.5 }, 3);
    assert.ok(jittered >= 2000 && jittered <= 4000, `jitter keeps the delay within BullMQ's bounds: ${jittered}`);
    assert.equal(Backoffs.calculate({ type: 'mine' }, 2, new Error('x'), undefined, (n, type) => `${type}:${n}`), 'mine:2');
    assert.throws(() => Backoffs.calculate({ type: 'mine' }, 1), /Unknown backoff strategy mine/);
    assert.throws(() => bullmq.Backoffs.calculate({ type: 'mine' }, 1), /Unknown backoff strategy mine/);
    assert.equal(Backoffs.calculate(undefined, 1), undefined);
  });

  test('Job.optsFromJSON decodes short keys as BullMQ does', () => {
    const stored = '{"attempts":3,"kl":5,"de":{"id":"d"},"fpof":true,"tm":"meta","omc":true,"custom":1}';
    assert.deepEqual(bullrush.Job.optsFromJSON(stored), bullmq.Job.optsFromJSON(stored));
    assert.deepEqual(bullrush.Job.optsFromJSON(undefined), bullmq.Job.optsFromJSON(undefined));
    assert.deepEqual(bullrush.Job.optsFromJSON('{"x":1}', { x: 'y' }), bullmq.Job.optsFromJSON('{"x":1}', { x: 'y' }));
  });

  test('delay waits, and ends early when its controller aborts', async () => {
    const started = Date.now();
    await bullrush.delay(30);
    assert.ok(Date.now() - started >= 25);
    const controller = new AbortController();
    const early = Date.now();
    setTimeout(() => controller.abort(), 10);
    await bullrush.delay(5000, controller);
    assert.ok(Date.now() - early < 1000, 'aborted long before 5 s');
  });

  test('trace runs its callback in a span when telemetry is set, and plainly without', async () => {
    assert.equal(await bullrush.trace(undefined, bullrush.SpanKind.PRODUCER, 'q', 'add', 'q', () => 42), 42);
    const calls = [];
    const span = {
      setAttributes: (a) => calls.push(['attributes', a]),
      setSpanOnContext: (ctx) => ({ ...ctx, span: true }),
      recordException: (e) => calls.push(['exception', e.message]),
      end: () => calls.push(['end']),
    };
    const telemetry = {
      tracer: { startSpan: (spanName, opts) => (calls.push(['start', spanName, opts.kind]), span) },
      contextManager: {
        active: () => ({}),
        with: (ctx, fn) => fn(),
        getMetadata: () => 'meta',
        fromMetadata: (ctx) => ctx,
      },
    };
    const result = await bullrush.trace(telemetry, bullrush.SpanKind.PRODUCER, 'q', 'add', 'dest', (s, meta) => [s === span, meta]);
    assert.deepEqual(result, [true, 'meta']);
    assert.deepEqual(calls, [
      ['start', 'add dest', bullrush.SpanKind.PRODUCER],
      ['attributes', { 'bullmq.queue.name': 'q', 'bullmq.queue.operation': 'add' }],
      ['end'],
    ]);
    calls.length = 0;
    await assert.rejects(bullrush.trace(telemetry, 0, 'q', 'op', '', () => Promise.reject(new Error('boom'))), /boom/);
    assert.deepEqual(calls.slice(1), [['attributes', { 'bullmq.queue.name': 'q', 'bullmq.queue.operation': 'op' }], ['exception', 'boom'], ['end']]);
    assert.equal(bullrush.withDetachedContext(undefined, () => 'plain'), 'plain');
  });

  test('scheduler names exist: JobScheduler is a QueueBase, getNextMillis computes', () => {
    assert.ok(bullrush.JobScheduler.prototype instanceof bullrush.QueueBase);
    assert.equal(bullrush.getNextMillis(1000, { every: 300 }), 1200);
    assert.throws(() => bullrush.getNextMillis(0, { every: 1, pattern: '* * * * *' }), /Both .pattern and .every/);
  });
});

describe('the package entry points', () => {
  test('exports lets bundled code reach binding.js and package.json by the package name', () => {
    assert.equal(require.resolve('bullrush/binding.js'), path.join(ROOT, 'binding.js'));
    assert.equal(require.resolve('bullrush/package.json'), path.join(ROOT, 'package.json'));
    assert.equal(require.resolve('bullrush'), path.join(ROOT, 'index.js'));
  });
});

describe('an ESM app whose "bullmq" is bullrush', () => {
  // The names an app may import: BullMQ's, less the README table's.
  const userFacing = Object.keys(bullmq).filter((name) => !TABLE.has(name));

  // Writes an app importing every user-facing name by name from 'bullmq' (and requiring
  // them) into a directory whose node_modules/bullmq is `target`, and runs it.
  function runApp(target) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullrush-esm-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(target, path.join(dir, 'node_modules', 'bullmq'), 'dir');
      fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
      fs.writeFileSync(
        path.join(dir, 'app.js'),
        [
          `import { ${userFacing.join(', ')} } from 'bullmq';`,
          "import { createRequire } from 'node:module';",
          "const required = createRequire(import.meta.url)('bullmq');",
          `const imported = { ${userFacing.join(', ')} };`,
          'const differ = Object.keys(imported).filter((n) => imported[n] === undefined || imported[n] !== required[n]);',
          "console.log(JSON.stringify({ count: Object.keys(imported).length, differ }));",
        ].join('\n'),
      );
      return spawnSync(process.execPath, [path.join(dir, 'app.js')], { encoding: 'utf8', timeout: 30000 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('an app importing every user-facing name loads, and import and require agree', () => {
    const run = runApp(ROOT);
    assert.equal(run.status, 0, `the app failed to load: ${run.stderr}`);
    assert.deepEqual(JSON.parse(run.stdout), { count: userFacing.length, differ: [] });
  });

  test('the same app loads on the real bullmq (the name list is valid)', () => {
    const run = runApp(BULLMQ_ROOT);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).count, userFacing.length);
  });
});
