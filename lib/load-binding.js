'use strict';

// Loads binding.js (napi-rs's loader, which picks the `.node` binary for this platform)
// with Node's own `require`, at run time, where no bundler looks.
//
// Next.js bundles server code (with Turbopack by default, or webpack), and neither can put
// a `.node` file in a bundle: a plain `require('../binding.js')` fails `next build`. Both
// leave these requires to Node: webpack `__non_webpack_require__`, Turbopack a `require`
// marked `turbopackIgnore`.
//
// Run from where it is installed (plain Node, or a bundler told to leave the package
// external) this file finds binding.js beside lib/. Bundled, `__dirname` is no longer this
// package's directory (Turbopack writes a "/ROOT/…" placeholder, webpack leaves the output
// file's), so binding.js is resolved by package name from the bundle's own location, under
// each name the package is installed as.
//
// `output: 'standalone'` copies only the files Next traces. webpack's tracer follows the
// literal requests in `installedResolvers` into binding.js and the binary it loads.
// Turbopack's does not follow ignored requires; it copies the files and directories that
// `path.join(__dirname, …)` names: PACKAGE_DIR (binding.js, and the binary in the flat
// layout) and PLATFORM_PACKAGE_DIRS, which only the tracer reads (napi-rs layout: the
// binary in a `bullrush-<platform>-<arch>[-<abi>]` package beside this one).

const fs = require('fs');
const path = require('path');

const PACKAGE_DIR = path.join(__dirname, '..');
const PLATFORM_PACKAGE_DIRS = ['', '-gnu', '-musl', '-msvc'].map((abi) =>
  path.join(__dirname, '..', '..', `bullrush-${process.platform}-${process.arch}${abi}`),
);

const INSTALL_NAMES = ['bullmq', 'bullrush'];
const NOT_INSTALLED = new Set(['MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);

/** Node's require, which Next.js's bundlers leave to run time. */
function nodeRequire(id) {
  if (typeof __webpack_require__ === 'function') return __non_webpack_require__(id);
  return require(/* turbopackIgnore: true */ id);
}

/** Resolvers of binding.js under each install name, from the bundle's location. */
function installedResolvers() {
  if (typeof __webpack_require__ === 'function') {
    // Spelled out, not built from INSTALL_NAMES: webpack's tracer follows literal requests only.
    return [
      () => __non_webpack_require__.resolve('bullmq/binding.js'),
      () => __non_webpack_require__.resolve('bullrush/binding.js'),
    ];
  }
  return INSTALL_NAMES.map((name) => () => require.resolve(/* turbopackIgnore: true */ `${name}/binding.js`));
}

function notInstalled(misses) {
  return new Error(
    'bullrush is bundled here and cannot find its native binding: neither ' +
      `${INSTALL_NAMES.map((name) => `${name}/binding.js`).join(' nor ')} resolves from the ` +
      "bundle. Let Node load the package: in next.config.js, add serverExternalPackages: ['bullmq'] " +
      "(or the name you import it by: ['bullrush'], or your alias).",
    { cause: new AggregateError(misses, 'binding.js under each install name') },
  );
}

function resolveInstalled() {
  const misses = [];
  for (const resolve of installedResolvers()) {
    try {
      return resolve();
    } catch (err) {
      if (!NOT_INSTALLED.has(err.code)) throw err;
      misses.push(err);
    }
  }
  throw notInstalled(misses);
}

/** Where binding.js is: beside lib/, or in the installed package when bundled. */
function bindingFile() {
  const own = path.join(PACKAGE_DIR, 'binding.js');
  return fs.existsSync(own) ? own : resolveInstalled();
}

function loadBinding() {
  return nodeRequire(bindingFile());
}

/** The package's directory on disk (the installed package's when bundled). */
function packageDir() {
  return path.dirname(bindingFile());
}

module.exports = { loadBinding, packageDir };
