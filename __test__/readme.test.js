'use strict';

// The README's Next.js, Express, sandbox, OpenTelemetry, testing, bull-board and NestJS
// sections show the files of the apps and examples that apps/*.e2e.js and examples.test.js
// install and run, exactly as they are: so their snippets work as written.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

const APPS = {
  'Next.js': path.join(ROOT, '__test__', 'fixtures', 'nextjs-app'),
  Express: path.join(ROOT, 'examples', 'express'),
  'Sandboxed processors': path.join(ROOT, 'examples', 'sandbox'),
  OpenTelemetry: path.join(ROOT, 'examples', 'telemetry'),
  // Labelled with their paths from the repository's root: examples/jest, examples/node-test.
  'Testing your app': ROOT,
  'bull-board': path.join(ROOT, 'examples', 'bull-board'),
  NestJS: path.join(ROOT, 'examples', 'nestjs'),
};

function section(title) {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.notEqual(start, -1, `the README has a "## ${title}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** [file, code] for each "**`file`**" label followed by a fenced block. */
function snippets(text) {
  return [...text.matchAll(/\*\*`([^`]+)`\*\*\n\n```\w+\n([\s\S]*?)\n```/g)].map((m) => [m[1], m[2]]);
}

for (const [title, dir] of Object.entries(APPS)) {
  test(`README "${title}" shows ${path.relative(ROOT, dir)} as it is`, () => {
    const shown = snippets(section(title));
    assert.ok(shown.length >= 1, `snippets found: ${shown.map(([file]) => file).join(', ')}`);
    for (const [file, code] of shown) {
      assert.equal(code, fs.readFileSync(path.join(dir, file), 'utf8').trimEnd(), `README "${title}": ${file}`);
    }
  });
}

test('README "Five production systems as examples" links each example, which has a README and a package.json', () => {
  const links = [...section('Five production systems as examples').matchAll(/\]\((examples\/[\w-]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(links, ['examples/rebalance', 'examples/ingestion', 'examples/trading', 'examples/intents', 'examples/enrichment']);
  for (const dir of links) {
    for (const file of ['README.md', 'package.json', 'package-lock.json']) {
      assert.ok(fs.existsSync(path.join(ROOT, dir, file)), `${dir}/${file}`);
    }
    const { dependencies } = JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'));
    assert.equal(dependencies.bullmq, 'file:../..', `${dir} installs bullrush as bullmq`);
  }
});
