// The client's types cannot drift from its code: tsc --strict checks the JSDoc types of src/
// against the code, the declarations in types/ must be exactly what tsc generates from them
// (regenerate with `npm run types --prefix tests/js`), the documented usage (types/usage.ts)
// compiles against them, the public API has no `any`, and the error codes are PROTOCOL.md's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { kServerErrorCodes } from '../../clients/js/src/errors.js';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const client = fileURLToPath(new URL('../../clients/js/', import.meta.url));
const types = path.join(client, 'types');

function run(args) {
  const result = spawnSync(process.execPath, [tsc, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `tsc ${args.join(' ')}\n${result.stdout}${result.stderr}`);
}

test('src/ type-checks under --strict and types/ is exactly what it generates', () => {
  const fresh = mkdtempSync(path.join(os.tmpdir(), 'herald-types-'));
  try {
    run(['-p', path.join(client, 'tsconfig.json'), '--declarationDir', fresh]);
    const generated = readdirSync(fresh).sort();
    assert.deepEqual(readdirSync(types).sort(), generated, 'the files of types/');
    for (const name of generated) {
      assert.equal(
        readFileSync(path.join(types, name), 'utf8'),
        readFileSync(path.join(fresh, name), 'utf8'),
        `types/${name} differs from the code: run npm run types --prefix tests/js`,
      );
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});

test('the documented usage compiles against the declarations, and misuse does not', () => {
  const usage = fileURLToPath(new URL('./types/usage.ts', import.meta.url));
  run([
    '--noEmit',
    '--strict',
    '--target',
    'es2022',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--lib',
    'es2022,dom',
    usage,
  ]);
});

test('the public declarations have no any', () => {
  for (const name of readdirSync(types)) {
    const code = readFileSync(path.join(types, name), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\bany\b/, `types/${name}`);
  }
});

test("the server's error codes are the ones PROTOCOL.md section 4 documents", () => {
  const spec = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');
  const section = spec.slice(spec.indexOf('### error'), spec.indexOf('### gap'));
  const documented = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  assert.ok(documented.length >= 12, `only ${documented.length} codes found`);
  assert.deepEqual([...kServerErrorCodes], documented);
});
