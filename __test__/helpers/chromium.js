'use strict';

// The headless browser of the app tests: Debian's `chromium` package at /usr/bin/chromium,
// installed with apt-get when it is missing and the test runs as root (as on CI), and
// otherwise a clear failure that says how to install it. Driven by playwright-core, which
// the app under test has as a devDependency (it downloads no browser of its own).

const fs = require('node:fs');
const path = require('node:path');
const { run } = require('./apps');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let installing;

/** The path of a chromium executable, installing Debian's package first when needed and allowed. */
async function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(
      `no chromium at ${CHROMIUM}: install Debian's package (sudo apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH to a Chromium or Chrome executable',
    );
  }
  installing ??= installChromium();
  await installing;
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but ${CHROMIUM} is still missing`);
  return CHROMIUM;
}

async function installChromium() {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { cwd: '/', env, timeoutMs: 900000 };
  await run('apt-get', ['update', '-qq'], opts);
  await run('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=600', 'chromium'], opts);
}

/**
 * Launches headless chromium with the playwright-core installed in the app at `appDir`;
 * answers playwright's Browser (the caller closes it).
 */
async function launchChromium(appDir) {
  const executablePath = await ensureChromium();
  const { chromium } = require(path.join(appDir, 'node_modules', 'playwright-core'));
  // --no-sandbox: chromium's sandbox refuses to run as root, which the test (and CI) may be;
  // --disable-dev-shm-usage: a container's small /dev/shm would crash its renderer.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

module.exports = { ensureChromium, launchChromium };
