#!/usr/bin/env node
'use strict';

// bullrush vs BullMQ: BullMQ's benchmark scenarios, run against both
// implementations alternately in one process on one Redis. Reports jobs/s and
// Redis CPU per job (from INFO cpu) for each, with medians over rounds.
//
//   node bench/index.js [--rounds N] [--only a,b] [--impl bullmq|bullrush|both]
//                       [--bullrush-module PATH]      (see --help)

const fs = require('fs');
const os = require('os');
const path = require('path');

const { parseArgs, UsageError, USAGE } = require('./cli');
const { scenarios, PREFIX, WARMUP_JOBS, withTimeout } = require('./scenarios');
const redis = require('./redis');
const report = require('./report');

const CLOSE_TIMEOUT_MS = 15000;
const REPO_ROOT = path.resolve(__dirname, '..');

function firstLine(err) {
  return String((err && err.message) || err).split('\n')[0];
}

function packageVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

const BULLMQ_VERSION = packageVersion(path.dirname(require.resolve('bullmq/package.json')));

function loadModule(request) {
  const mod = require(request);
  if (!mod || typeof mod.Queue !== 'function' || typeof mod.Worker !== 'function') {
    throw new Error(`${request} does not export Queue and Worker classes`);
  }
  return mod;
}

// --bullrush-module takes a path (file or package directory) or, failing
// that, a package name resolvable from here.
function bullrushRequest(given) {
  if (!given) return REPO_ROOT;
  const asPath = path.resolve(process.cwd(), given);
  if (path.isAbsolute(given) || given.startsWith('.') || fs.existsSync(asPath)) return asPath;
  return given;
}

function loadImplementations(opts) {
  const impls = [];
  const wantBullmq = opts.impl !== 'bullrush';
  const wantBullrush = opts.impl !== 'bullmq';

  if (wantBullmq) {
    const mod = loadModule('bullmq');
    impls.push({ key: 'bullmq', label: 'BullMQ', Queue: mod.Queue, Worker: mod.Worker, FlowProducer: mod.FlowProducer, module: 'bullmq', version: BULLMQ_VERSION });
  }
  if (wantBullrush && opts.selfTest) {
    // Harness check: the "bullrush" side is bullmq too; the ratios should be ~1.
    const mod = loadModule('bullmq');
    impls.push({ key: 'bullrush', label: 'bullmq(b)', Queue: mod.Queue, Worker: mod.Worker, FlowProducer: mod.FlowProducer, module: 'bullmq (self-test)', version: BULLMQ_VERSION });
  } else if (wantBullrush) {
    const request = bullrushRequest(opts.bullrushModule);
    let mod;
    try {
      mod = loadModule(request);
    } catch (err) {
      const e = new Error(
        `bullrush could not be loaded from ${request}:\n` +
          `  ${firstLine(err)}\n\n` +
          `If the native addon is not built yet, either:\n` +
          `  - build it:                  npm run build\n` +
          `  - point at a built copy:     node bench/index.js --bullrush-module /path/to/bullrush\n` +
          `  - benchmark BullMQ alone:    node bench/index.js --impl bullmq`,
      );
      e.name = 'LoadError';
      throw e;
    }
    let dir = request;
    try {
      if (!fs.statSync(request).isDirectory()) dir = path.dirname(request);
    } catch {
      // a bare package name: leave the version unknown
    }
    impls.push({ key: 'bullrush', label: 'bullrush', Queue: mod.Queue, Worker: mod.Worker, FlowProducer: mod.FlowProducer, module: request, version: packageVersion(dir) });
  }
  return impls;
}

// CPU time all cores of this machine spent busy, in µs (10 ms resolution).
function machineBusyUs() {
  let ms = 0;
  for (const { times } of os.cpus()) ms += times.user + times.nice + times.sys + times.irq;
  return ms * 1000;
}

// A run during which other processes took this much of a core is flagged.
const NOISY_FOREIGN_CORES = 0.25;

function maskUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function queueNameFor(scenario, impl, round) {
  const rand = Math.random().toString(36).slice(2, 8);
  return `bench-${scenario}-${impl}-r${round}-${process.pid}-${rand}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

const live = { monitor: null, queueName: null };

// One scenario on one implementation: fresh queue, warm-up, timed part,
// Redis state checks, then every Queue/Worker closed and the queue deleted.
async function runOnce(scenario, impl, round, opts, connection) {
  const monitor = live.monitor;
  const queueName = queueNameFor(scenario.name, impl.key, round);
  const open = new Set();
  const errors = [];
  const problems = [];
  const close = async (obj) => {
    open.delete(obj);
    await withTimeout(Promise.resolve().then(() => obj.close()), CLOSE_TIMEOUT_MS, () => 'close()');
  };
  const ctx = {
    impl,
    connection,
    queueName,
    redis: monitor,
    timeoutMs: opts.timeoutMs,
    cpuSnapshot: async () => {
      const r = await redis.redisCpu(monitor);
      const p = process.cpuUsage();
      return { redisUs: r.main, redisTotalUs: r.total, procUs: p.user + p.system, machineUs: machineBusyUs() };
    },
    track: (obj) => (open.add(obj), obj),
    close,
    onError: (err) => errors.push(err),
    invalid: (msg) => problems.push(msg),
  };

  live.queueName = queueName;
  const result = { scenario: scenario.name, impl: impl.key, round, jobs: scenario.jobs, queue: queueName };
  try {
    const m = await scenario.run(ctx);
    result.ms = m.ms;
    result.redisCpuUs = m.redisCpuUs;
    result.jobsPerSec = (scenario.jobs * 1000) / m.ms;
    result.redisUsPerJob = m.redisCpuUs / scenario.jobs;
    result.foreignCpuCores = m.foreignCpuShare;
    result.noisy = m.foreignCpuShare > NOISY_FOREIGN_CORES;
  } catch (err) {
    result.error = firstLine(err);
  } finally {
    for (const obj of [...open].reverse()) {
      try {
        await close(obj);
      } catch (err) {
        errors.push(new Error(`close failed: ${firstLine(err)}`));
      }
    }
    try {
      await redis.deleteQueueKeys(monitor, PREFIX, queueName);
    } catch (err) {
      errors.push(new Error(`cleanup failed: ${firstLine(err)}`));
    }
    live.queueName = null;
  }
  if (problems.length) result.invalid = problems;
  if (errors.length) result.warnings = [...new Set(errors.map(firstLine))];
  result.ok = !result.error && !result.invalid;
  return result;
}

function printRun(r, impl, roundLabel) {
  const head = `  ${roundLabel.padEnd(7)}  ${r.scenario.padEnd(18)} ${impl.label.padEnd(9)}`;
  if (r.error) {
    console.log(`${head} FAILED: ${r.error}`);
  } else {
    console.log(
      `${head} ${report.fmtRate(r.jobsPerSec).padStart(8)} jobs/s  ` +
        `${report.fmtUs(r.redisUsPerJob).padStart(6)} µs/job Redis CPU  ` +
        `(${report.fmtRate(r.jobs)} jobs in ${r.ms.toFixed(1)} ms)`,
    );
  }
  if (r.noisy) {
    console.log(`      noisy: other processes used ${(r.foreignCpuCores * 100).toFixed(0)}% of a core during this run`);
  }
  for (const p of r.invalid || []) console.log(`      INVALID (excluded from the median): ${p}`);
  for (const w of (r.warnings || []).slice(0, 3)) console.log(`      warning: ${w}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }

  const impls = loadImplementations(opts);
  const url = redis.redisUrl();
  const connection = redis.connectionFromUrl(url);
  const monitor = redis.monitorClient(connection);
  live.monitor = monitor;
  monitor.on('error', () => {}); // surfaced by the failing command instead

  try {
    await monitor.connect();
    const server = await redis.serverInfo(monitor);
    const selected = scenarios.filter((s) => opts.scenarios.includes(s.name));

    console.log('bullrush benchmark — BullMQ scenarios, same Redis, alternating implementations');
    if (opts.selfTest) {
      console.log('SELF-TEST: both sides are bullmq; the bullrush column is bullmq(b) and ratios should be ~1.00×');
    }
    console.log(`  node ${process.version} on ${os.platform()}/${os.arch()}, ${os.cpus().length} cores`);
    console.log(`  redis ${server.version} at ${maskUrl(url)}${server.mainThreadCpu ? '' : ' (no main-thread CPU figures: using process totals)'}`);
    for (const impl of impls) console.log(`  ${impl.label}: ${impl.module}${impl.version ? ` v${impl.version}` : ''}`);
    console.log(
      `  rounds: ${opts.rounds} (median reported)${opts.prime ? ' after 1 priming round' : ''}, ` +
        `warm-up: ${WARMUP_JOBS} jobs per run`,
    );
    console.log(`  scenarios: ${selected.map((s) => s.name).join(', ')}`);

    const background = await redis.backgroundCpuUsPerSec(monitor, 1000);
    console.log(`  idle Redis CPU: ${(background / 1000).toFixed(2)} ms/s, connected clients: ${server.connectedClients}`);
    if (background > 20000 || server.connectedClients > 1) {
      console.log(
        '  WARNING: other clients appear to be using this Redis; Redis CPU per job will be inflated.',
      );
    }

    // Priming: every scenario once per implementation, results discarded.
    // The first runs of a process are slower on both sides (V8 still
    // compiling, Redis growing its allocator and tables); without this the
    // implementation that happens to go first in round 1 pays for it.
    if (opts.prime) {
      console.log(`\npriming round (not counted; skip with --no-prime)`);
      for (const scenario of selected) {
        for (const impl of impls) {
          const r = await runOnce(scenario, impl, 0, opts, connection);
          printRun(r, impl, '[prime]');
        }
      }
    }

    const runs = [];
    for (let round = 1; round <= opts.rounds; round++) {
      // Alternate which implementation goes first, round by round.
      const order = round % 2 === 1 ? impls : impls.slice().reverse();
      const roundLabel = `[${round}/${opts.rounds}]`;
      console.log(`\nround ${round}/${opts.rounds} (order: ${order.map((i) => i.label).join(' → ')})`);
      for (const scenario of selected) {
        for (const impl of order) {
          const r = await runOnce(scenario, impl, round, opts, connection);
          runs.push(r);
          printRun(r, impl, roundLabel);
        }
      }
    }

    const implKeys = ['bullmq', 'bullrush'].filter((k) => impls.some((i) => i.key === k));
    const rows = report.summarize(selected.map((s) => s.name), implKeys, runs);

    console.log(`\nSummary (median of ${opts.rounds} round${opts.rounds > 1 ? 's' : ''}; speed ratio = bullrush/BullMQ jobs/s, Redis CPU ratio = BullMQ/bullrush µs/job)\n`);
    console.log(report.consoleTable(rows));
    const incomplete = rows.flatMap((r) =>
      implKeys
        .filter((k) => r[k].okRounds < r[k].rounds)
        .map((k) => `${r.scenario}/${k}: ${r[k].okRounds} of ${r[k].rounds} rounds valid`),
    );
    if (incomplete.length) console.log(`\nNOT ALL ROUNDS VALID: ${incomplete.join('; ')}`);
    const noisy = runs.filter((r) => r.noisy).length;
    if (noisy) {
      console.log(
        `\nNOTE: ${noisy} of ${runs.length} runs were noisy (other processes on this machine used ` +
          `> ${NOISY_FOREIGN_CORES * 100}% of a core meanwhile); rerun on a quiet machine for README numbers.`,
      );
    }

    console.log('\nMarkdown (for the README):\n');
    console.log(report.readmeTable(rows));
    console.log(
      `\n_${os.cpus().length} cores, ${os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown CPU'}, ` +
        `node ${process.version}, redis ${server.version}, bullmq ${BULLMQ_VERSION}; ` +
        `median of ${opts.rounds}; Redis µs/job = main-thread used_cpu_sys+used_cpu_user from INFO cpu._` +
        (opts.selfTest ? '\n_Self-test: the bullrush column is bullmq._' : ''),
    );

    if (process.env.BENCH_JSON) {
      const file = path.resolve(process.env.BENCH_JSON);
      const out = {
        generatedAt: new Date().toISOString(),
        selfTest: opts.selfTest,
        node: process.version,
        platform: `${os.platform()}/${os.arch()}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0] && os.cpus()[0].model.trim(),
        redis: { url: maskUrl(url), version: server.version, idleCpuUsPerSec: background },
        implementations: impls.map(({ key, label, module, version }) => ({ key, label, module, version })),
        rounds: opts.rounds,
        primingRound: opts.prime,
        warmupJobs: WARMUP_JOBS,
        scenarios: selected.map((s) => {
          const row = rows.find((r) => r.scenario === s.name);
          return {
            name: s.name,
            description: s.description,
            jobs: s.jobs,
            ...Object.fromEntries(implKeys.map((k) => [k, row[k]])),
            speedup: row.speedup,
            redisCpuRatio: row.cpuRatio,
          };
        }),
        runs,
      };
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
      console.log(`\nJSON written to ${file}`);
    }

    if (runs.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    live.monitor = null;
    await monitor.quit().catch(() => monitor.disconnect());
  }
}

// Ctrl-C: drop the keys of the queue in use, then leave.
process.once('SIGINT', async () => {
  console.error('\ninterrupted');
  const { monitor, queueName } = live;
  if (monitor && queueName) {
    await redis.deleteQueueKeys(monitor, PREFIX, queueName).catch(() => {});
  }
  process.exit(130);
});

main().catch((err) => {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message} (see --help)`);
    process.exitCode = 2;
  } else if (err && err.name === 'LoadError') {
    console.error(err.message);
    process.exitCode = 1;
  } else {
    console.error(err && err.stack ? err.stack : err);
    process.exitCode = 1;
  }
});
