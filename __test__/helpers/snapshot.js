'use strict';

// Differential Redis-state snapshots: dump a queue's whole key space, normalise
// what legitimately differs between two runs of the same operations (timestamps,
// tokens, the library's version string, wake-up hints), and render a readable
// diff between two normalised states.
//
// What is normalised, and why (everything else is compared byte for byte):
//
// * TTLs: only whether a key expires (`expiring: true`) is compared, not the
//   remaining time.
// * Key names: `<prefix>:<queue>:` is stripped, so keys are compared by suffix
//   (`wait`, `1`, `1:logs`, ...). The queue name anywhere inside a value is
//   replaced by `<queue>`. UUID-shaped tokens (in keys and values) become
//   `<uuid>`.
// * Job hashes: `timestamp`, `processedOn`, `finishedOn` become `<ms>` after
//   checking that they are ms inside the scenario's time window (anything else,
//   e.g. seconds, stays visible as `<not-ms:...>`); a `timestamp` equal to the
//   `timestamp` option in `opts` becomes `=opts.timestamp`. `opts` and `parent` are
//   compared as parsed JSON (cjson re-encodes them: key order, `\/`).
//   So is the `opts` field of a `dn:<id>` hash (the add a keep-last deduplication
//   keeps for later), for the same reason.
//   `stacktrace` is compared by its length only (stack text differs by library).
//   A scheduler iteration's hash (`repeat:<id>:<ms>`) is a job hash; a scheduler's
//   own hash (`repeat:<id>`, which has an `ic` field) is not.
// * Scheduler iterations: the `<ms>` in an iteration id is its due time, which follows
//   the clock when a scheduler has no start date. Anywhere in keys and values it is
//   shown as `T+<n>`, n ms after the scheduler's earliest iteration in the dump (or its
//   `repeat` score); so is an iteration's `prevMillis` option. An iteration is added
//   "now" for its due time: its `delay` (field and option) is `=due−timestamp` when it
//   is that difference (and not 0), its `timestamp` (field and option) is `<ms>`, and
//   a due time in `delayed` or in a `delayed` event equal to its id's is `=id ms`. A
//   scheduler hash's `offset` equal to its earliest iteration's ms modulo `every` is
//   `=first%every` (the first slot of an `every` without start date is "now"); its
//   template `opts` are compared as parsed JSON (cjson writes them in any key order).
// * `<id>:lock` values: lock tokens, `<token>` (their presence still counts).
// * `meta.version`: `<lib>:<version>` after checking the `<lib>:<version>` shape.
// * `stalled-check`: its value is the ms of the last check, `<ms>`.
// * `metrics:completed` / `metrics:failed` hashes: `prevTS` (the ms of the last data
//   point, or of the first job counted) is `<ms>` (window-checked); `count` and
//   `prevCount` and the `:data` lists are compared exactly (scenarios keep their
//   finishes within one minute).
// * `completed` / `failed` zsets: a score equal to the job's `finishedOn` is
//   `=finishedOn`; otherwise `<ms>` (window-checked). `waiting-children`,
//   `repeat`: `<ms>`. These zsets are compared ordered by member: their rank
//   order is finishedOn order with same-ms ties broken by member, i.e. timing
//   noise (the finishing order is in the events stream).
// * `delayed` zset: score = due × 4096 + seq is shown as
//   `{ seq, due }` where `due` is `timestamp+<n>` (n = due − the job's
//   `timestamp`, exact for delayed adds) or, when that is not the job's `delay`
//   (a backoff delay starts at the failure, not at the add),
//   `processedOn+delay+ε` when due − processedOn − delay ∈ [0, 2000], or, for a
//   job that has not run and has no `timestamp` option, `<ms>+delay` when
//   due − delay is a ms in the scenario's window (a due time counted from the
//   moment it was set, e.g. by `Job#changeDelay`).
// * Jobs a processor moved to `delayed` itself (`job.moveToDelayed(target)`), named
//   with the option `delayTargets: { <jobId>: <target ms> }`: the move computes
//   `delay = target − now` at its own moment, so the job hash's `delay` is shown
//   as `=target−moveTime` after checking that target − delay lies between the
//   job's `processedOn` and the dump; a `delayed` zset due and a `delayed`
//   event's `delay` (the due ms) equal to the target are shown as `=target`.
//   Everything else about such jobs is normalised as above.
// * A parent's `:unsuccessful` zset (children that failed it): scores are the ms of
//   each failure, `<ms>` (window-checked), in rank order.
// * `prioritized` zset: score shown as `<priority>·2^32+<counter>`, exact.
// * `events` stream: entry ids dropped, order kept, each entry an object of its
//   fields. The `delay` field of `delayed` events is the due ms: for a job that
//   has not been active yet (a delayed add) it is `timestamp+<n>` against the
//   job's timestamp when the job hash still exists, except that a due time set
//   from "now" (n is not the job's `delay` option, the job has no `timestamp`
//   option, and due − the entry id's ms is the job's `delay` field ± 100 ms,
//   e.g. `Job#changeDelay`, or its `delay` option, a flow parent released with its
//   delay) is `entry+<delay>`; otherwise (a backoff
//   retry) `entry+backoff(n)=<ms>` when due − the entry id's ms matches the
//   n-th fixed/exponential backoff delay (−250/+5 ms), else `<ms>`.
// * `stalled` set: members that are in `active` and hold a lock are dropped
//   (the key too when nothing is left). The stalled check at worker start
//   re-arms the detector with every id in `active` at that moment, and whether
//   the worker's first fetch lands before or after that check is a race between
//   two concurrent tasks (BullMQ starts its checker and its main loop
//   concurrently too); the next lock renewal removes such a member. Any other
//   member (a finished or unlocked job) is compared.
// * `marker` zset (wake-up hints): in mode `markers: 'exact'` (scenarios without
//   workers, where its content is deterministic) member "0" must have score 0
//   and member "1" is shown as `=earliestDelayed/4096` when its score equals the
//   earliest delayed score / 4096, else `<stale due ms>` (removing or draining
//   a delayed job does not refresh the hint, in BullMQ either). In mode
//   `markers: 'ignore'` (the default; with workers whose BZPOPMIN may or may
//   not have consumed the hint when the dump is taken) the key is dropped after
//   checking the invariant (members only "0" with score 0 and "1"); a
//   violation is recorded under `!invariants`, so it shows up in the diff.
// * Also recorded under `!invariants`: a job whose processedOn precedes its
//   timestamp (unless the producer chose the timestamp) or whose finishedOn
//   precedes its processedOn.

const { newRedis, queueKeys } = require('./redis');

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const TWO32 = 4294967296;

// ---------------------------------------------------------------------------
// Raw dump

// Everything under `<prefix>:<queue>:` as { suffix: { type, value } } where
// value is: string; hash → object; list → array; set → sorted array;
// zset → [[member, scoreString], ...] in rank order; stream → [[id, [field,
// value, ...]], ...] in order (normalise drops the ids).
async function dumpQueue(queueName, { prefix = 'bull', client } = {}) {
  const own = !client;
  const c = client || newRedis();
  const base = `${prefix}:${queueName}:`;
  try {
    const keys = await queueKeys(queueName, prefix, c);
    const out = {};
    for (const key of keys) {
      /* eslint-disable no-await-in-loop */
      const type = await c.type(key);
      let value;
      switch (type) {
        case 'string':
          value = await c.get(key);
          break;
        case 'hash':
          value = await c.hgetall(key);
          break;
        case 'list':
          value = await c.lrange(key, 0, -1);
          break;
        case 'set':
          value = (await c.smembers(key)).sort();
          break;
        case 'zset': {
          const flat = await c.zrange(key, 0, -1, 'WITHSCORES');
          value = [];
          for (let i = 0; i < flat.length; i += 2) value.push([flat[i], flat[i + 1]]);
          break;
        }
        case 'stream':
          value = await c.xrange(key, '-', '+'); // [[id, [field, value, ...]], ...]
          break;
        case 'none':
          continue; // vanished between SCAN and TYPE
        default:
          value = `<unsupported type ${type}>`;
      }
      const pttl = await c.pttl(key);
      /* eslint-enable no-await-in-loop */
      out[key.slice(base.length)] = pttl >= 0 ? { type, value, expiring: true } : { type, value };
    }
    return out;
  } finally {
    if (own) await c.quit();
  }
}

// ---------------------------------------------------------------------------
// Normalisation

function sortObject(o) {
  const out = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

function makeTextNormaliser(queueName) {
  return (s) => {
    if (typeof s !== 'string') return s;
    let r = s.split(queueName).join('<queue>');
    r = r.replace(UUID_RE, '<uuid>');
    return r;
  };
}

const ITERATION_RE = /repeat:(.+?):(\d{10,})(?!\d)/g;

// Each scheduler's earliest iteration ms in a raw dump (iteration job hashes and the
// `repeat` zset), by scheduler id.
function iterationBases(raw) {
  const bases = {};
  const see = (sid, ms) => {
    if (!(sid in bases) || ms < bases[sid]) bases[sid] = ms;
  };
  for (const [suffix, entry] of Object.entries(raw)) {
    const m = /^repeat:(.+):(\d{10,})$/.exec(suffix);
    if (m && entry.type === 'hash' && 'rjk' in entry.value) see(m[1], Number(m[2]));
  }
  if (raw.repeat && raw.repeat.type === 'zset') {
    for (const [sid, score] of raw.repeat.value) see(sid, Number(score));
  }
  return bases;
}

// `text` that also shows iteration ms as `T+<n>` (see the header).
function withIterations(text, bases) {
  const rel = (sid, ms) => (sid in bases ? `T+${Number(ms) - bases[sid]}` : ms);
  const normalise = (s) => {
    if (typeof s !== 'string') return text(s);
    return text(s.replace(ITERATION_RE, (all, sid, ms) => (sid in bases ? `repeat:${sid}:${rel(sid, ms)}` : all)));
  };
  normalise.rel = rel;
  return normalise;
}

// The due ms and scheduler id of iteration job `suffix` (hash `job`), or undefined.
function iterationOf(suffix, job) {
  const m = /^repeat:(.+):(\d{10,})$/.exec(suffix);
  return m && job && job.rjk !== undefined ? { sid: m[1], due: Number(m[2]) } : undefined;
}

// Options JSON compared as parsed (cjson's key order is the Lua table's), or a marker.
function parsedOpts(x, text) {
  try {
    return deepText(JSON.parse(x), text);
  } catch {
    return `<invalid JSON:${x}>`;
  }
}

// Deep-normalises strings inside parsed JSON.
function deepText(v, text) {
  if (typeof v === 'string') return text(v);
  if (Array.isArray(v)) return v.map((x) => deepText(x, text));
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[text(k)] = deepText(v[k], text);
    return out;
  }
  return v;
}

// An option as stored in a job's opts, or undefined.
function optsField(hash, field) {
  try {
    return JSON.parse(hash.opts)[field];
  } catch {
    return undefined;
  }
}

// The `timestamp` option as stored in a job's opts (a producer-chosen value).
function optsTimestamp(hash) {
  const t = optsField(hash, 'timestamp');
  return t === undefined ? undefined : String(t);
}

// Whether a `delayed` event's due ms `due` (`n` after the job's timestamp) was counted
// from the moment of the event rather than from the add: see the header.
function setFromNow(job, n, due, entryId) {
  return delaySetFromNow(job, n, due, entryId) !== undefined;
}

// The delay a due time was set from "now" with (see the header: the job's `delay` field,
// or its `delay` option for a parent released with its delay once its children were
// done, whose field a promotion has reset to 0 since), or undefined.
function delaySetFromNow(job, n, due, entryId) {
  if (n === (optsField(job, 'delay') ?? 0) || optsField(job, 'timestamp') !== undefined) return undefined;
  const fromEntry = due - Number(String(entryId).split('-')[0]);
  return [Number(job.delay), optsField(job, 'delay')].find((d) => d !== undefined && Math.abs(fromEntry - Number(d)) <= 100);
}

// zset entries ordered by member (numeric ids numerically). A finished set
// is ordered by finishedOn, and jobs finishing within the same ms tie-break on
// the member, so its rank order is timing noise; the finishing order is
// compared through the events stream instead.
function sortByMember(entries) {
  const key = (m) => (/^\d+$/.test(m) ? m.padStart(20, '0') : `~${m}`);
  return [...entries].sort(([a], [b]) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

// A `delayed` event written by a backoff retry: its due ms should be the
// moment of the failure (≈ the stream entry's ms, Redis clock, same host) plus
// the backoff delay of attempt n (fixed: delay; exponential: 2^(n-1) × delay;
// no jitter). Returns `entry+backoff(n)` when due − entryMs lies in
// [expected − 250, expected + 5], else undefined.
function backoffDue(due, entryId, job, n) {
  if (!job) return undefined;
  let backoff;
  try {
    backoff = JSON.parse(job.opts).backoff;
  } catch {
    return undefined;
  }
  if (typeof backoff === 'number') backoff = { type: 'fixed', delay: backoff };
  if (!backoff || backoff.jitter || typeof backoff.delay !== 'number') return undefined;
  let expected;
  if (backoff.type === 'fixed') expected = backoff.delay;
  else if (backoff.type === 'exponential') expected = Math.round(2 ** (n - 1) * backoff.delay);
  else return undefined;
  const d = Number(due) - Number(String(entryId).split('-')[0]);
  return d >= expected - 250 && d <= expected + 5 ? `entry+backoff(${n})=${expected}` : undefined;
}

function isJobHash(suffix, entry) {
  if (entry.type !== 'hash') return false;
  if (suffix === 'meta' || /^(metrics|de|dn):/.test(suffix)) return false;
  // A scheduler's definition (`repeat:<id>`) has an iteration count; its iteration
  // jobs (`repeat:<id>:<ms>`) are job hashes.
  if (suffix.startsWith('repeat:') && 'ic' in entry.value) return false;
  if (/:(processed|failed)$/.test(suffix)) return false; // per-job child hashes
  return 'opts' in entry.value || 'timestamp' in entry.value || 'name' in entry.value;
}

/**
 * Normalises a raw dump (see the header comment).
 * @param {object} raw - from dumpQueue
 * @param {object} o
 * @param {string} o.queueName
 * @param {number} o.t0 - ms before the scenario started
 * @param {number} o.t1 - ms after the dump was taken
 * @param {'exact'|'ignore'} [o.markers='ignore']
 * @param {Object<string, number>} [o.delayTargets] - job id → moveToDelayed target ms
 */
function normalise(raw, { queueName, t0, t1, markers = 'ignore', delayTargets = {} }) {
  const bases = iterationBases(raw);
  const text = withIterations(makeTextNormaliser(queueName), bases);
  const invariants = [];
  const lo = t0 - 1000;
  const hi = t1 + 1000;
  const ms = (v, what, { future = 0 } = {}) => {
    const n = Number(v);
    if (typeof v === 'string' && /^\d+$/.test(v) && n >= lo && n <= hi + future) return '<ms>';
    if (typeof v === 'number' && Number.isInteger(v) && n >= lo && n <= hi + future) return '<ms>';
    return `<not-ms(${what}):${v}>`;
  };

  // Job hashes first: other keys refer to their timestamps.
  const jobs = {};
  for (const [suffix, entry] of Object.entries(raw)) {
    if (isJobHash(suffix, entry)) jobs[suffix] = entry.value;
  }

  for (const [suffix, job] of Object.entries(jobs)) {
    const [ts, po, fo] = ['timestamp', 'processedOn', 'finishedOn'].map((f) => (job[f] === undefined ? undefined : Number(job[f])));
    if (po !== undefined && ts !== undefined && po < ts && optsTimestamp(job) === undefined) {
      invariants.push(`job ${text(suffix)}: processedOn < timestamp`);
    }
    if (fo !== undefined && po !== undefined && fo < po) invariants.push(`job ${text(suffix)}: finishedOn < processedOn`);
  }

  const out = {};
  for (const suffix of Object.keys(raw).sort()) {
    const { type, value, expiring } = raw[suffix];
    const key = text(suffix);
    let v;

    if (suffix.endsWith(':lock') && type === 'string') {
      v = '<token>';
    } else if (suffix === 'stalled-check' && type === 'string') {
      v = ms(value, 'stalled-check');
    } else if (/^metrics:(completed|failed)$/.test(suffix) && type === 'hash') {
      v = {};
      for (const [f, x] of Object.entries(value)) v[f] = f === 'prevTS' ? ms(x, 'prevTS') : x;
      v = sortObject(v);
    } else if (suffix === 'meta' && type === 'hash') {
      v = {};
      for (const [f, x] of Object.entries(value)) {
        if (f === 'version') v[f] = /^[^:\s]+:\S+$/.test(x) ? '<lib>:<version>' : `<bad-version:${x}>`;
        else v[f] = text(x);
      }
      v = sortObject(v);
    } else if (isJobHash(suffix, raw[suffix])) {
      v = {};
      const it = iterationOf(suffix, value);
      const iterationDelay = (d) =>
        it && Number(d) > 0 && Number(d) === it.due - Number(value.timestamp) ? '=due−timestamp' : d;
      for (const [f, x] of Object.entries(value)) {
        if (it && f === 'timestamp') {
          v[f] = ms(x, f);
        } else if (it && f === 'delay') {
          v[f] = text(iterationDelay(x));
        } else if (it && f === 'opts') {
          try {
            const o = JSON.parse(x);
            if (o.timestamp !== undefined) o.timestamp = ms(o.timestamp, 'opts.timestamp');
            if (o.delay !== undefined) o.delay = iterationDelay(o.delay);
            if (o.prevMillis !== undefined) o.prevMillis = text.rel(it.sid, o.prevMillis);
            v[f] = deepText(o, text);
          } catch {
            v[f] = `<invalid JSON:${x}>`;
          }
        } else if (f === 'timestamp' && optsTimestamp(value) === x) {
          v[f] = '=opts.timestamp';
        } else if (f === 'timestamp' || f === 'processedOn' || f === 'finishedOn') {
          v[f] = ms(x, f);
        } else if (f === 'delay' && delayTargets[suffix] !== undefined) {
          const movedAt = delayTargets[suffix] - Number(x);
          const inWindow = movedAt >= Number(value.processedOn) && movedAt <= t1;
          v[f] = inWindow ? '=target−moveTime' : `<delay ${x} not target−moveTime>`;
        } else if (f === 'opts' || f === 'parent') {
          try {
            v[f] = deepText(JSON.parse(x), text);
          } catch {
            v[f] = `<invalid JSON:${x}>`;
          }
        } else if (f === 'stacktrace') {
          let arr;
          try {
            arr = JSON.parse(x);
          } catch {
            arr = undefined;
          }
          v[f] = Array.isArray(arr) ? `<stacktrace × ${arr.length}>` : `<not a JSON array:${x}>`;
        } else {
          v[f] = text(x);
        }
      }
      v = sortObject(v);
    } else if (suffix === 'stalled' && type === 'set') {
      const active = raw.active && raw.active.type === 'list' ? raw.active.value : [];
      const left = value.filter((m) => !(active.includes(m) && raw[`${m}:lock`]));
      if (!left.length) continue;
      v = left.map(text);
    } else if (suffix === 'marker' && type === 'zset') {
      const bad = value.filter(([m, sc]) => !((m === '0' && Number(sc) === 0) || (m === '1' && Number(sc) >= 0)));
      if (bad.length) invariants.push(`marker holds unexpected members/scores: ${JSON.stringify(value)}`);
      if (markers === 'ignore') continue;
      const delayed = raw.delayed && raw.delayed.type === 'zset' ? raw.delayed.value : [];
      v = value.map(([m, sc]) => {
        if (m === '1') {
          if (delayed.length && Number(sc) === Number(delayed[0][1]) / 0x1000) return [m, '=earliestDelayed/4096'];
          // A delay hint nobody refreshed after the job it announced left
          // `delayed` (removed, drained): BullMQ leaves it too.
          return [m, Number(sc) >= lo ? '<stale due ms>' : `<bad due: ${sc}>`];
        }
        return [m, sc];
      });
    } else if ((suffix === 'completed' || suffix === 'failed') && type === 'zset') {
      v = sortByMember(value).map(([m, sc]) => {
        const job = jobs[m];
        if (job && job.finishedOn !== undefined && job.finishedOn === sc) return [text(m), '=finishedOn'];
        if (job && job.finishedOn !== undefined && Number(job.finishedOn) === Number(sc)) return [text(m), '=finishedOn'];
        return [text(m), ms(sc, `${suffix} score`)];
      });
    } else if (/:unsuccessful$/.test(suffix) && type === 'zset') {
      v = value.map(([m, sc]) => [text(m), ms(sc, 'child failure ms')]);
    } else if ((suffix === 'waiting-children' || suffix === 'repeat') && type === 'zset') {
      v = sortByMember(value).map(([m, sc]) => [text(m), ms(sc, `${suffix} score`, { future: 10 * 86400000 })]);
    } else if (suffix === 'delayed' && type === 'zset') {
      v = value.map(([m, sc]) => {
        const n = Number(sc);
        const due = Math.floor(n / 0x1000);
        const seq = n - due * 0x1000;
        const job = jobs[m];
        let rel;
        const it = iterationOf(m, job);
        if (delayTargets[m] === due) rel = '=target';
        else if (it && it.due === due) rel = '=id ms';
        else if (!job) rel = `no job hash; due ${ms(due, 'due', { future: 10 * 86400000 })}`;
        else {
          const fromTs = due - Number(job.timestamp);
          const delay = Number(job.delay);
          if (fromTs === delay) rel = `timestamp+${fromTs}`;
          else if (job.processedOn !== undefined) {
            const eps = due - Number(job.processedOn) - delay;
            rel = eps >= 0 && eps <= 2000 ? 'processedOn+delay+ε' : `timestamp+${fromTs} (delay ${delay})`;
          } else if (optsField(job, 'timestamp') === undefined && ms(due - delay, 'due') === '<ms>') {
            rel = '<ms>+delay';
          } else rel = `timestamp+${fromTs} (delay ${delay})`;
        }
        return [text(m), { seq, due: rel }];
      });
    } else if (suffix === 'prioritized' && type === 'zset') {
      v = value.map(([m, sc]) => {
        const n = Number(sc);
        const p = Math.floor(n / TWO32);
        return [text(m), `${p}·2^32+${n - p * TWO32}`];
      });
    } else if (suffix === 'events' && type === 'stream') {
      const seenActive = new Set();
      const backoffs = {}; // jobId -> number of backoff delays so far
      v = value.map(([entryId, fields]) => {
        const e = {};
        for (let i = 0; i < fields.length; i += 2) e[fields[i]] = fields[i + 1];
        const id = e.jobId;
        if (e.event === 'active' && id !== undefined) seenActive.add(id);
        if (e.event === 'delayed' && e.delay !== undefined) {
          const job = jobs[id];
          const it = iterationOf(id, job);
          if (delayTargets[id] === Number(e.delay)) {
            e.delay = '=target';
          } else if (it && it.due === Number(e.delay)) {
            e.delay = '=id ms';
          } else if (!seenActive.has(id) && job && job.timestamp !== undefined) {
            const n = Number(e.delay) - Number(job.timestamp);
            const fromNow = delaySetFromNow(job, n, Number(e.delay), entryId);
            e.delay = fromNow !== undefined ? `entry+${fromNow}` : `timestamp+${n}`;
          } else {
            backoffs[id] = (backoffs[id] || 0) + 1;
            e.delay = backoffDue(e.delay, entryId, job, backoffs[id]) || ms(e.delay, 'delayed event due', { future: 10 * 86400000 });
          }
        }
        const n = {};
        for (const [f, x] of Object.entries(e)) n[f] = text(x);
        return n;
      });
    } else if (type === 'zset') {
      v = value.map(([m, sc]) => [text(m), sc]);
    } else if (/^dn:/.test(suffix) && type === 'hash') {
      v = {};
      for (const [f, x] of Object.entries(value)) {
        if (f !== 'opts') v[f] = text(x);
        else {
          try {
            v[f] = deepText(JSON.parse(x), text);
          } catch {
            v[f] = `<invalid JSON:${x}>`;
          }
        }
      }
      v = sortObject(v);
    } else if (type === 'hash') {
      v = {};
      const sid = suffix.startsWith('repeat:') && 'ic' in value ? suffix.slice('repeat:'.length) : undefined;
      const firstMod = sid in bases && value.every ? String(bases[sid] % Number(value.every)) : undefined;
      for (const [f, x] of Object.entries(value)) {
        if (sid !== undefined && f === 'opts') v[f] = parsedOpts(x, text);
        else v[text(f)] = f === 'offset' && x === firstMod && !value.startDate ? '=first%every' : text(x);
      }
      v = sortObject(v);
    } else if (Array.isArray(value)) {
      v = value.map((x) => text(x));
    } else {
      v = text(value);
    }
    out[key] = expiring ? { type, value: v, expiring: true } : { type, value: v };
  }
  if (invariants.length) out['!invariants'] = { type: 'check', value: invariants };
  return out;
}

// Dumps and normalises in one go.
// `textName` is the name replaced by `<queue>` in keys and values (the queue's own by
// default): a scenario's other queues are named after its main queue, so normalising
// that name makes their names and the keys that point across queues alike.
async function snapshotQueue(queueName, { t0, markers = 'ignore', prefix = 'bull', delayTargets, textName } = {}) {
  const raw = await dumpQueue(queueName, { prefix });
  const t1 = Date.now();
  return { raw, norm: normalise(raw, { queueName: textName || queueName, t0, t1, markers, delayTargets }) };
}

// ---------------------------------------------------------------------------
// Readable diff

const fmt = (v) => (v === undefined ? '(absent)' : JSON.stringify(v));

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepEqual(a, b) {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (isPlainObject(v)) {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canon(v[k]);
    return out;
  }
  return v;
}

// Line diff of two arrays (LCS), elements rendered as one line each.
function arrayDiff(a, b, render) {
  const n = a.length;
  const m = b.length;
  const la = a.map((x) => JSON.stringify(canon(x)));
  const lb = b.map((x) => JSON.stringify(canon(x)));
  const dp = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = la[i] === lb[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && la[i] === lb[j]) {
      lines.push(`      ${render(a[i])}`);
      i++;
      j++;
    } else if (j < m && (i === n || dp[i][j + 1] >= dp[i + 1][j])) {
      lines.push(`    + ${render(b[j])}`);
      j++;
    } else {
      lines.push(`    - ${render(a[i])}`);
      i++;
    }
  }
  return lines;
}

function renderEvent(e) {
  if (!isPlainObject(e)) return fmt(e);
  const { event, ...rest } = e;
  const parts = Object.entries(rest).map(([k, v]) => `${k}=${fmt(v)}`);
  return `${event}${parts.length ? ` ${parts.join(' ')}` : ''}`;
}

/**
 * Readable diff of two normalised states; '' when equal.
 * `-` lines are the expected side (labelA, BullMQ), `+` lines the other (labelB).
 */
function diffStates(a, b, labelA = 'bullmq', labelB = 'bullrush') {
  const lines = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const ea = a[k];
    const eb = b[k];
    if (deepEqual(ea, eb)) continue;
    if (!ea || !eb) {
      const [has, e] = ea ? [labelA, ea] : [labelB, eb];
      lines.push(`  key ${k}: only in ${has} (${e.type}) = ${JSON.stringify(e.value)}`);
      continue;
    }
    if (ea.type !== eb.type) {
      lines.push(`  key ${k}: type ${labelA}=${ea.type} ${labelB}=${eb.type}`);
      continue;
    }
    if (!!ea.expiring !== !!eb.expiring) {
      const ttl = (e) => (e.expiring ? 'has a TTL' : 'no TTL');
      lines.push(`  key ${k}: ${labelA} ${ttl(ea)}, ${labelB} ${ttl(eb)}`);
      if (deepEqual(ea.value, eb.value)) continue;
    }
    const va = ea.value;
    const vb = eb.value;
    if (isPlainObject(va) && isPlainObject(vb)) {
      lines.push(`  key ${k} (${ea.type}):`);
      for (const f of [...new Set([...Object.keys(va), ...Object.keys(vb)])].sort()) {
        if (!deepEqual(va[f], vb[f])) lines.push(`    field ${f}: ${labelA}=${fmt(va[f])}  ${labelB}=${fmt(vb[f])}`);
      }
    } else if (Array.isArray(va) && Array.isArray(vb)) {
      lines.push(`  key ${k} (${ea.type}), '-' only ${labelA}, '+' only ${labelB}:`);
      lines.push(...arrayDiff(va, vb, k === 'events' ? renderEvent : (x) => JSON.stringify(x)));
    } else {
      lines.push(`  key ${k} (${ea.type}): ${labelA}=${fmt(va)}  ${labelB}=${fmt(vb)}`);
    }
  }
  return lines.join('\n');
}

module.exports = { dumpQueue, normalise, snapshotQueue, diffStates, canon };
