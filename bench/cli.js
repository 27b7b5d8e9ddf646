'use strict';

// Command-line parsing for the benchmark. No dependencies: the flags are few.

const { SCENARIO_NAMES } = require('./scenarios');

const IMPLS = ['bullmq', 'bullrush', 'both'];

// The scenario names for --help, one per line under the option they belong to.
const SCENARIO_LIST = SCENARIO_NAMES.map((name) => `${' '.repeat(27)}${name}`).join('\n');

const USAGE = `Usage: node bench/index.js [options]

Runs BullMQ's benchmark scenarios against \`bullmq\` and against bullrush,
alternately, on the same Redis, and reports jobs/s and Redis CPU per job.

Options:
  --rounds N               rounds per scenario and implementation; the median
                           is reported (default 3)
  --only a,b               run only these scenarios, comma-separated, from:
${SCENARIO_LIST}
  --impl NAME              bullmq | bullrush | both (default both)
  --bullrush-module PATH   load bullrush from PATH instead of the repo root
  --timeout SECONDS        give up on one run after this long (default 120)
  --no-prime               skip the untimed priming round that first warms
                           Node and Redis up with every scenario once
  -h, --help               show this help

Environment:
  REDIS_URL                Redis to use (default redis://127.0.0.1:6379)
  BENCH_JSON=path          also write the results as JSON to path
`;

class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

function parseArgs(argv) {
  const opts = {
    rounds: 3,
    only: null,
    impl: 'both',
    bullrushModule: null,
    timeoutMs: 120000,
    selfTest: false,
    prime: true,
    help: false,
  };

  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = () => {
      if (inline !== null) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(`${arg} needs a value`);
      }
      i++;
      return next;
    };

    switch (arg) {
      case '-h':
      case '--help':
        opts.help = true;
        break;
      case '--rounds': {
        const raw = value();
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1) {
          throw new UsageError(`--rounds must be a positive integer, got "${raw}"`);
        }
        opts.rounds = n;
        break;
      }
      case '--only': {
        const names = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const unknown = names.filter((n) => !SCENARIO_NAMES.includes(n));
        if (unknown.length || names.length === 0) {
          throw new UsageError(
            `unknown scenario(s) in --only: ${unknown.join(', ') || '(none given)'}; ` +
              `valid: ${SCENARIO_NAMES.join(', ')}`,
          );
        }
        opts.only = names;
        break;
      }
      case '--impl': {
        const v = value();
        if (!IMPLS.includes(v)) {
          throw new UsageError(`--impl must be one of ${IMPLS.join(', ')}, got "${v}"`);
        }
        opts.impl = v;
        break;
      }
      case '--bullrush-module':
        opts.bullrushModule = value();
        break;
      case '--timeout': {
        const raw = value();
        const s = Number(raw);
        if (!(s > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got "${raw}"`);
        opts.timeoutMs = s * 1000;
        break;
      }
      case '--no-prime':
        opts.prime = false;
        break;
      // Hidden: benchmark bullmq against itself to check the harness end to end.
      case '--self-test':
        opts.selfTest = true;
        break;
      default:
        throw new UsageError(`unknown argument "${argv[i]}"`);
    }
  }

  opts.scenarios = opts.only || SCENARIO_NAMES.slice();
  return opts;
}

module.exports = { parseArgs, UsageError, USAGE };
