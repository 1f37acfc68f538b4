// The README's JavaScript examples, run as written against the real broker: each ```js block
// of the section "JavaScript client" must be followed by a ```text block with exactly what it
// prints. The README's ports 8080 (a broker) and 8081 (nothing listening) are mapped to free
// ones, and '@herald/client' and 'ws' to this tree's files.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { Broker, freePort } from './broker.mjs';

const kRunTimeoutMs = 20_000;
const require = createRequire(import.meta.url);

/** [{ code, output }] for the section's js blocks, each with the text block after it. */
export function readmeExamples() {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n## JavaScript client\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks = [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    body: m[2],
  }));
  const examples = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'js') return;
    const next = blocks[i + 1];
    assert.equal(
      next?.lang,
      'text',
      `js block ${examples.length + 1} has no output block after it`,
    );
    examples.push({ code: block.body, output: next.body });
  });
  return examples;
}

function run(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), kRunTimeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

describe("the README's JavaScript examples", () => {
  const broker = new Broker();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-readme-'));
  let deadPort;
  before(async () => {
    await broker.start();
    deadPort = await freePort();
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await broker.stop().finally(() => broker.kill());
  });

  const examples = readmeExamples();
  test('the section has its three examples', () => {
    assert.equal(examples.length, 3);
  });

  examples.forEach(({ code, output }, i) => {
    test(`example ${i + 1} prints what the README says`, async () => {
      const source = code
        .replaceAll(
          "'@herald/client'",
          `'${new URL('../../clients/js/src/index.js', import.meta.url)}'`,
        )
        .replaceAll("'ws'", `'${pathToFileURL(require.resolve('ws'))}'`)
        .replaceAll('127.0.0.1:8080', `127.0.0.1:${broker.port}`)
        .replaceAll('127.0.0.1:8081', `127.0.0.1:${deadPort}`);
      const file = path.join(dir, `example${i + 1}.mjs`);
      writeFileSync(file, source);
      const result = await run(file);
      assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}`);
      const printed = result.stdout
        .replaceAll(`127.0.0.1:${broker.port}`, '127.0.0.1:8080')
        .replaceAll(`127.0.0.1:${deadPort}`, '127.0.0.1:8081');
      assert.equal(printed, output);
    });
  });
});
