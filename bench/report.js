'use strict';

// Summaries and tables: medians over rounds, a console table and a markdown
// table for the README.

function median(values) {
  if (values.length === 0) return null;
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmtRate = (v) => (v == null ? '–' : intFmt.format(Math.round(v)));
const fmtUs = (v) => (v == null ? '–' : v.toFixed(1));
const fmtRatio = (v) => (v == null || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

// runs: [{ scenario, impl, round, jobs, ms, jobsPerSec, redisUsPerJob, error, invalid }]
function summarize(scenarioNames, implKeys, runs) {
  const rows = [];
  for (const scenario of scenarioNames) {
    const row = { scenario };
    for (const impl of implKeys) {
      const ok = runs.filter((r) => r.scenario === scenario && r.impl === impl && r.ok);
      const all = runs.filter((r) => r.scenario === scenario && r.impl === impl);
      row[impl] = {
        jobsPerSec: median(ok.map((r) => r.jobsPerSec)),
        redisUsPerJob: median(ok.map((r) => r.redisUsPerJob)),
        okRounds: ok.length,
        rounds: all.length,
      };
    }
    const a = row.bullmq;
    const b = row.bullrush;
    // Throughput: how many times faster bullrush is. Redis CPU: how many
    // times less Redis CPU per job bullrush needs.
    row.speedup = a && b ? ratio(b.jobsPerSec, a.jobsPerSec) : null;
    row.cpuRatio = a && b ? ratio(a.redisUsPerJob, b.redisUsPerJob) : null;
    rows.push(row);
  }
  return rows;
}

function pad(s, w, right) {
  s = String(s);
  return right ? s.padStart(w) : s.padEnd(w);
}

function textTable(header, body, rightAlign) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => pad(c, widths[i], rightAlign[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function markdownTable(header, body, rightAlign) {
  const sep = rightAlign.map((r) => (r ? '---:' : ':---'));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(sep), ...body.map(line)].join('\n');
}

const cell = (side, key, fmt) => (side ? fmt(side[key]) : '–');

function consoleTable(rows) {
  const header = [
    'scenario',
    'BullMQ jobs/s',
    'bullrush jobs/s',
    'speed ratio',
    'BullMQ Redis µs/job',
    'bullrush Redis µs/job',
    'Redis CPU ratio',
  ];
  const body = rows.map((r) => [
    r.scenario,
    cell(r.bullmq, 'jobsPerSec', fmtRate),
    cell(r.bullrush, 'jobsPerSec', fmtRate),
    fmtRatio(r.speedup),
    cell(r.bullmq, 'redisUsPerJob', fmtUs),
    cell(r.bullrush, 'redisUsPerJob', fmtUs),
    fmtRatio(r.cpuRatio),
  ]);
  return textTable(header, body, [false, true, true, true, true, true, true]);
}

function readmeTable(rows) {
  const header = [
    'scenario',
    'BullMQ jobs/s',
    'bullrush jobs/s',
    'ratio',
    'BullMQ Redis µs/job',
    'bullrush Redis µs/job',
  ];
  const body = rows.map((r) => [
    `\`${r.scenario}\``,
    cell(r.bullmq, 'jobsPerSec', fmtRate),
    cell(r.bullrush, 'jobsPerSec', fmtRate),
    fmtRatio(r.speedup),
    cell(r.bullmq, 'redisUsPerJob', fmtUs),
    cell(r.bullrush, 'redisUsPerJob', fmtUs),
  ]);
  return markdownTable(header, body, [false, true, true, true, true, true]);
}

module.exports = { consoleTable, fmtRate, fmtRatio, fmtUs, median, readmeTable, summarize };
