'use strict';

// Installs and runs the example apps (fixtures/nextjs-app, examples/express) as their users
// get them: a copy in a temporary directory, its dependencies from its lockfile, and the
// implementation under test installed as `bullmq`. For bullrush that is the tarball
// `npm pack` makes of this repository, in one of two layouts:
//   flat: the binary inside the package, beside binding.js
//   napi: the binary in its own napi-rs platform package (npm/<platform>), installed beside it
// With BULLRUSH_TEST_IMPL=bullmq it is the real bullmq, at the version this repository locks.

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isBullmqImpl } = require('./env');

const ROOT = path.join(__dirname, '..', '..');

// Child processes get the test's environment minus what would change how they run.
function childEnv(extra = {}) {
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_ENV;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs a command to completion; rejects with its output when it fails. */
function run(command, args, { cwd, env = {}, timeoutMs = 300000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env: childEnv(env), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          err.message = `${command} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stdout}\n${stderr}`;
          reject(err);
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

function tempDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bullrush-${label}-`));
}

/** The built binary (`bullrush.<platform>.node`) and its platform's napi-rs package dir. */
function builtBinary() {
  const name = fs.readdirSync(ROOT).find((f) => /^bullrush\..+\.node$/.test(f));
  if (!name) throw new Error('no bullrush.<platform>.node in the repository: run `npm run build` first');
  const platform = name.slice('bullrush.'.length, -'.node'.length);
  return { name, platformDir: path.join(ROOT, 'npm', platform) };
}

async function packDir(dir, into) {
  const out = await run('npm', ['pack', '--json', '--pack-destination', into], { cwd: dir });
  return path.join(into, JSON.parse(out)[0].filename);
}

/**
 * Packs bullrush once per layout and answers the `npm install` specs that put it in an
 * app: `bullmq@file:<tarball>` (and, for napi, the platform package's tarball), and the
 * tarballs themselves: { main, platform } (platform: { name, file } or null).
 */
const packed = new Map();
function bullrushSpecs(layout) {
  if (!packed.has(layout)) packed.set(layout, packBullrush(layout));
  return packed.get(layout);
}

async function packBullrush(layout) {
  const into = tempDir(`pack-${layout}`);
  const flat = await packDir(ROOT, into);
  if (layout === 'flat') return { specs: [`bullmq@file:${flat}`], dir: into, tarballs: { main: flat, platform: null } };
  const { name, platformDir } = builtBinary();
  const unpacked = path.join(into, 'package');
  await run('tar', ['-xzf', flat, '-C', into]);
  const platformPkg = path.join(into, 'platform');
  fs.mkdirSync(platformPkg);
  fs.copyFileSync(path.join(platformDir, 'package.json'), path.join(platformPkg, 'package.json'));
  fs.renameSync(path.join(unpacked, name), path.join(platformPkg, name));
  const main = await packDir(unpacked, into);
  const platform = await packDir(platformPkg, into);
  const platformName = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8')).name;
  return {
    specs: [`bullmq@file:${main}`, `${platformName}@file:${platform}`],
    dir: into,
    tarballs: { main, platform: { name: platformName, file: platform } },
  };
}

// The real bullmq, and the ioredis it needs (an optional peer dependency since bullmq 6),
// at the versions this repository locks.
function realBullmqSpecs() {
  return ['bullmq', 'ioredis'].map((name) => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return `${name}@${version}`;
  });
}

/**
 * Copies the app at `source` to a temporary directory and installs it from its lockfile,
 * with the implementation under test as `bullmq` (named on the command line, so it takes
 * the place of the app's own `bullmq`). Answers { dir, dispose }.
 */
async function installApp(source, { layout = 'flat' } = {}) {
  const dir = tempDir(path.basename(source));
  fs.cpSync(source, dir, {
    recursive: true,
    filter: (src) => !/(^|[/\\])(node_modules|\.next)$/.test(src),
  });
  const specs = isBullmqImpl ? realBullmqSpecs() : (await bullrushSpecs(layout)).specs;
  await run('npm', ['install', '--no-audit', '--no-fund', ...specs], { cwd: dir });
  return { dir, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Removes the tarballs packed so far. */
async function disposePacks() {
  for (const pack of packed.values()) fs.rmSync((await pack).dir, { recursive: true, force: true });
  packed.clear();
}

/**
 * Starts a long-running process in its own process group (Next's servers fork children).
 * `output()` is what it printed so far; `stop()` sends SIGTERM to the group and answers
 * { code, signal } once it has exited, killing it if it has not within `graceMs`.
 */
function startProcess(command, args, { cwd, env = {} } = {}) {
  const child = spawn(command, args, { cwd, env: childEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  };
  async function stop({ graceMs = 10000 } = {}) {
    if (child.exitCode === null && child.signalCode === null) signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
    const result = await exited;
    clearTimeout(timer);
    signalGroup('SIGKILL');
    return result;
  }
  return { child, output: () => output, exited, stop };
}

/** Polls `url` until it answers any HTTP status; fails with the server's output. */
async function waitForHttp(url, server, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`server exited (${server.child.exitCode}):\n${server.output()}`);
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${server.output()}`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

module.exports = { ROOT, run, tempDir, installApp, bullrushSpecs, disposePacks, startProcess, waitForHttp };
