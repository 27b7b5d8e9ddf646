'use strict';

// lib/load-binding.js in the places it runs from, laid out on disk: where the package is
// installed it loads the binding.js beside lib/; a copy with no binding.js beside it (what a
// bundle is) loads binding.js by install name from its own location; and when no install
// name resolves, the error names the one line of next.config that fixes it.
// (fixtures/nextjs-app and apps/nextjs.e2e.js cover the real bundlers.)

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { tempDir } = require('./helpers/apps');
const { isBullmqImpl } = require('./helpers/env');

const LOADER = path.join(__dirname, '..', 'lib', 'load-binding.js');

describe("bullrush's binding loader", { skip: isBullmqImpl && "bullrush's own loader" }, () => {
  const root = tempDir('load-binding');
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Writes `files` ({ relative path: content }) under a fresh directory; answers it. */
  function lay(name, files) {
    const dir = path.join(root, name);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), content);
    }
    return dir;
  }

  function loadFrom(dir, loaderAt) {
    const copy = path.join(dir, loaderAt);
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(LOADER, copy);
    return require(copy).loadBinding();
  }

  const fake = (from) => `module.exports = { from: ${JSON.stringify(from)} };\n`;

  test('an installed package loads the binding.js beside lib/', () => {
    const dir = lay('installed', {
      'node_modules/bullrush/binding.js': fake('own'),
      'node_modules/bullmq/binding.js': fake('bullmq'),
    });
    assert.deepEqual(loadFrom(dir, 'node_modules/bullrush/lib/load-binding.js'), { from: 'own' });
  });

  test('a bundled copy loads binding.js installed as bullmq', () => {
    const dir = lay('as-bullmq', { 'node_modules/bullmq/binding.js': fake('bullmq') });
    assert.deepEqual(loadFrom(dir, '.next/server/chunks/load-binding.js'), { from: 'bullmq' });
  });

  test('a bundled copy loads binding.js installed as bullrush, beside the real bullmq', () => {
    const dir = lay('as-bullrush', {
      'node_modules/bullmq/package.json': JSON.stringify({ name: 'bullmq', exports: { '.': './index.js' } }),
      'node_modules/bullmq/index.js': '',
      'node_modules/bullrush/binding.js': fake('bullrush'),
    });
    assert.deepEqual(loadFrom(dir, '.next/server/chunks/load-binding.js'), { from: 'bullrush' });
  });

  test('a bundled copy that finds no binding.js names the fix', () => {
    const dir = lay('nowhere', { 'package.json': '{}' });
    assert.throws(
      () => loadFrom(dir, '.next/server/chunks/load-binding.js'),
      (err) => {
        assert.match(err.message, /serverExternalPackages: \['bullmq'\]/);
        assert.match(err.message, /the name you import it by: \['bullrush'\], or your alias/);
        assert.deepEqual(
          err.cause.errors.map((e) => e.code),
          ['MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'],
        );
        return true;
      },
    );
  });
});
