// The TypeScript declarations shipped beside the client compile, under --strict, against a
// typed version of the README's usage (types/usage.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const require = createRequire(import.meta.url);

test('index.d.ts type-checks the documented usage', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const usage = fileURLToPath(new URL('./types/usage.ts', import.meta.url));
  const result = spawnSync(
    process.execPath,
    [
      tsc,
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
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
