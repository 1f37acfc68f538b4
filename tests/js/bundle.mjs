// The client's size as a browser app would ship it: bundled and minified by esbuild, then
// gzipped (level 9). The README quotes the figure; package.test.mjs keeps the two in sync.
//   node tests/js/bundle.mjs   prints the sizes

import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('../../clients/js/src/index.js', import.meta.url));

/** Resolves with { minified, gzipped } in bytes. */
export async function bundleSize() {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await bundleSize();
  const kib = (n) => (n / 1024).toFixed(1);
  console.log(
    `minified ${minified} B (${kib(minified)} KiB), gzipped ${gzipped} B (${kib(gzipped)} KiB)`,
  );
}
