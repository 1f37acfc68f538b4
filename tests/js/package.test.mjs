// Packaging of @herald/client: `npm pack --dry-run` packs exactly the sources, declarations,
// README and package.json without a warning; the license is Apache-2.0 with its text at the
// repository root; Node 18 is enough; the gzipped bundle stays under 8 KiB and the README
// quotes its size.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { bundleSize } from './bundle.mjs';

const clientDir = fileURLToPath(new URL('../../clients/js/', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('package.json', `file://${clientDir}`), 'utf8'));

test('npm pack --dry-run packs the sources, declarations and README, and warns of nothing', () => {
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: clientDir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /warn/i);
  const [pack] = JSON.parse(result.stdout);
  const expected = [
    'README.md',
    'package.json',
    ...readdirSync(`${clientDir}src`).map((f) => `src/${f}`),
    ...readdirSync(`${clientDir}types`).map((f) => `types/${f}`),
  ];
  assert.deepEqual(pack.files.map((f) => f.path).sort(), expected.sort());
  assert.equal(pack.name, '@herald/client');
});

test('Apache-2.0, with the full license text at the repository root', () => {
  assert.equal(manifest.license, 'Apache-2.0');
  const text = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');
  assert.match(text, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  for (const clause of [
    '1. Definitions.',
    '9. Accepting Warranty',
    'END OF TERMS AND CONDITIONS',
  ]) {
    assert.ok(text.includes(clause), clause);
  }
});

test('Node 18 or newer; no runtime dependencies', () => {
  assert.deepEqual(manifest.engines, { node: '>=18' });
  assert.equal(manifest.dependencies, undefined);
  assert.equal(manifest.types, './types/index.d.ts');
});

test('the minified, gzipped bundle is under 8 KiB, as the README says', async () => {
  const { minified, gzipped } = await bundleSize();
  assert.ok(gzipped < 8 * 1024, `${gzipped} bytes gzipped`);
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const quoted = readme.match(/it is ([\d.]+) KiB, ([\d.]+) KiB\s+gzipped/);
  assert.ok(quoted, 'the README quotes no bundle size');
  // Within 0.1 KiB: a small change need not touch the README, a real growth must.
  assert.ok(Math.abs(Number(quoted[1]) - minified / 1024) <= 0.1, `minified: ${minified} B`);
  assert.ok(Math.abs(Number(quoted[2]) - gzipped / 1024) <= 0.1, `gzipped: ${gzipped} B`);
});
