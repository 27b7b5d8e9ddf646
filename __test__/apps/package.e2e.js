'use strict';

// The package as `npm pack` makes it, installed into fresh empty apps the way users get
// it (no lockfile, nothing of this repository reachable):
//   - the flat tarball under its own name (`"bullrush": "file:<tarball>"`);
//   - the flat tarball as bullmq (`"bullmq": "file:<tarball>"`);
//   - as published by napi-rs: `"bullmq": "npm:bullrush@^<version>"` from a registry (a
//     local one this test serves), the main package without a binary and with the
//     per-platform packages of npm/ as optionalDependencies, npm picking this machine's.
// In each, a CommonJS and an ESM program load the package and its /testing subpath, find
// every export of index.js, run a job through Queue, Worker and QueueEvents and exit by
// themselves, the addon mapped from the app's own node_modules; and the types resolve
// through `exports` (tsc, node16). Skipped with BULLRUSH_TEST_IMPL=bullmq: this is
// bullrush's package.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { ROOT, run, tempDir, bullrushSpecs, disposePacks } = require('../helpers/apps');
const { isBullmqImpl } = require('../helpers/env');
const { redisUrl } = require('../helpers/redis');

const PROBES = path.join(__dirname, '..', 'fixtures', 'package-probe');
const RUN_BOUND_MS = 30000;
const { version } = require('../../package.json');

/** The names index.js exports, as the implementation in this repository has them. */
function expectedExports() {
  return Object.keys(require('../..')).sort();
}

/** Every napi-rs platform package in npm/: { name, dir, manifest }. */
function platformPackages() {
  return fs.readdirSync(path.join(ROOT, 'npm')).map((platform) => {
    const dir = path.join(ROOT, 'npm', platform);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    return { name: manifest.name, dir, manifest };
  });
}

/**
 * The main package as napi-rs publishes it: the napi layout's main tarball (no binary)
 * with every platform package as an optionalDependency at its own version.
 */
async function publishedMain(napiMain, into) {
  const work = path.join(into, 'published');
  fs.mkdirSync(work);
  await run('tar', ['-xzf', napiMain, '-C', work]);
  const pkgFile = path.join(work, 'package', 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  pkg.optionalDependencies = Object.fromEntries(platformPackages().map((p) => [p.name, p.manifest.version]));
  fs.writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  const out = await run('npm', ['pack', '--json', '--pack-destination', into], { cwd: path.join(work, 'package') });
  return { file: path.join(into, JSON.parse(out)[0].filename), manifest: pkg };
}

/** A packument's version entry for `manifest` served from `tarball` at `base`. */
function versionEntry(manifest, tarball, base) {
  const data = tarball ? fs.readFileSync(tarball) : Buffer.alloc(0);
  const file = `${manifest.name}-${manifest.version}.tgz`;
  return {
    ...manifest,
    _id: `${manifest.name}@${manifest.version}`,
    dist: {
      tarball: `${base}/${manifest.name}/-/${file}`,
      shasum: crypto.createHash('sha1').update(data).digest('hex'),
      integrity: `sha512-${crypto.createHash('sha512').update(data).digest('base64')}`,
    },
  };
}

/**
 * A minimal npm registry on a loopback port serving `packages` ({ manifest, tarball }; a
 * platform package of another machine has no tarball). Answers { url, requests, close }.
 */
async function startRegistry(packages) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const base = `http://127.0.0.1:${server.address().port}`;
    const [name, dash, file] = decodeURIComponent(req.url.split('?')[0]).slice(1).split('/');
    const pkg = packages.find((p) => p.manifest.name === name);
    if (pkg && !dash) {
      const { version: v } = pkg.manifest;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        name,
        'dist-tags': { latest: v },
        versions: { [v]: versionEntry(pkg.manifest, pkg.tarball, base) },
      }));
    } else if (pkg && dash === '-' && pkg.tarball && file === `${name}-${pkg.manifest.version}.tgz`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      fs.createReadStream(pkg.tarball).pipe(res);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A fresh app: an empty directory with `dependencies` and the probes, installed by npm. */
async function freshApp(label, dependencies, npmArgs = []) {
  const dir = tempDir(`fresh-${label}`);
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: `fresh-${label}`, private: true, dependencies }, null, 2)}\n`,
  );
  for (const file of fs.readdirSync(PROBES)) fs.copyFileSync(path.join(PROBES, file), path.join(dir, file));
  await run('npm', ['install', '--no-audit', '--no-fund', '--cache', path.join(dir, '.npm-cache'), ...npmArgs], { cwd: dir });
  return dir;
}

/** Runs a probe in `dir` for package `name`; answers its report (it must exit by itself, 0). */
async function probe(dir, file, name) {
  const out = await run(process.execPath, [file, name], { cwd: dir, env: { REDIS_URL: redisUrl }, timeoutMs: RUN_BOUND_MS });
  return JSON.parse(out);
}

/** The checks every installed form passes; `addonDir` is where the binary must come from. */
function checksFor(label, app, name, addonDir) {
  test(`${label}: require('${name}') and '${name}/testing' load, every export of index.js is there, a job runs, it exits`, async () => {
    const { dir } = app();
    const report = await probe(dir, 'probe.cjs', name);
    assert.deepEqual(report.exports, expectedExports());
    assert.deepEqual(report.testing, ['TestRedis', 'startTestRedis']);
    assert.equal(report.resolved, path.join(fs.realpathSync(dir), 'node_modules', name, 'index.js'));
    assert.equal(report.version, version);
    assert.equal(report.result, 42);
    assert.deepEqual(report.addons, [path.join(fs.realpathSync(dir), 'node_modules', ...addonDir(), builtBinaryName())]);
  });

  test(`${label}: import from '${name}' and '${name}/testing' (ESM) finds the same exports and classes`, async () => {
    const { dir } = app();
    const report = await probe(dir, 'probe.mjs', name);
    assert.deepEqual(report.exports, expectedExports());
    assert.deepEqual(report.testing, ['TestRedis', 'startTestRedis']);
    assert.equal(report.defaultIsCjs, true);
    assert.equal(report.sameClasses, true);
    assert.equal(report.result, 42);
    assert.deepEqual(report.addons, [path.join(fs.realpathSync(dir), 'node_modules', ...addonDir(), builtBinaryName())]);
  });
}

function builtBinaryName() {
  return fs.readdirSync(ROOT).find((f) => /^bullrush\..+\.node$/.test(f));
}

/** The platform package of this machine (the one the build made a binary for). */
function ownPlatform() {
  const platform = builtBinaryName().slice('bullrush.'.length, -'.node'.length);
  return platformPackages().find((p) => p.dir === path.join(ROOT, 'npm', platform));
}

describe('the packed package in fresh apps', { skip: isBullmqImpl && "the package is bullrush's" }, () => {
  const apps = {};
  let registry;

  before(async () => {
    const flat = (await bullrushSpecs('flat')).tarballs.main;
    apps.own = { dir: await freshApp('own-name', { bullrush: `file:${flat}` }) };
    apps.alias = { dir: await freshApp('file-alias', { bullmq: `file:${flat}` }) };

    const napi = await bullrushSpecs('napi');
    const into = tempDir('registry');
    apps.registryDir = into;
    const main = await publishedMain(napi.tarballs.main, into);
    registry = await startRegistry([
      { manifest: main.manifest, tarball: main.file },
      ...platformPackages().map((p) => ({
        manifest: p.manifest,
        tarball: p.name === napi.tarballs.platform.name ? napi.tarballs.platform.file : null,
      })),
    ]);
    apps.published = {
      dir: await freshApp('npm-alias', { bullmq: `npm:bullrush@^${version}` }, ['--registry', registry.url]),
    };
  }, { timeout: 300000 });

  after(async () => {
    await registry?.close();
    for (const app of [apps.own, apps.alias, apps.published]) if (app) fs.rmSync(app.dir, { recursive: true, force: true });
    if (apps.registryDir) fs.rmSync(apps.registryDir, { recursive: true, force: true });
    await disposePacks();
  });

  checksFor('"bullrush": "file:<tarball>"', () => apps.own, 'bullrush', () => ['bullrush']);
  checksFor('"bullmq": "file:<tarball>"', () => apps.alias, 'bullmq', () => ['bullmq']);
  checksFor('"bullmq": "npm:bullrush@^<version>" (napi-rs layout)', () => apps.published, 'bullmq', () => [ownPlatform().name]);

  test('napi-rs layout: the main package has no binary; npm installed only this machine\'s platform package', () => {
    const modules = path.join(apps.published.dir, 'node_modules');
    const main = path.join(modules, 'bullmq');
    assert.equal(JSON.parse(fs.readFileSync(path.join(main, 'package.json'), 'utf8')).name, 'bullrush');
    assert.deepEqual(fs.readdirSync(main).filter((f) => f.endsWith('.node')), []);
    const installed = platformPackages().filter((p) => fs.existsSync(path.join(modules, p.name)));
    assert.deepEqual(installed.map((p) => p.name), [ownPlatform().name]);
    const tarballs = registry.requests.filter((url) => url.includes('/-/'));
    assert.deepEqual(tarballs.sort(), [
      `/bullrush/-/bullrush-${version}.tgz`,
      `/${ownPlatform().name}/-/${ownPlatform().name}-${version}.tgz`,
    ].sort());
  });

  test('the types resolve through exports: bullmq and bullmq/testing (tsc, node16)', async () => {
    const { dir } = apps.published;
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'node16',
        moduleResolution: 'node16',
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        skipLibCheck: false,
      },
      files: ['types.ts'],
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir });
  });
});
