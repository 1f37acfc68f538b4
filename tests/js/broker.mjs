// Test helper: the real herald binary on a 127.0.0.1 port, started, restarted on the same port
// and stopped; every wait bounded. The binary comes from HERALD_BIN (set by the ctest entry)
// or --herald PATH.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

const kStartTimeoutMs = 10_000;
const kStopTimeoutMs = 10_000;

export function heraldPath() {
  const flag = process.argv.indexOf('--herald');
  const path = flag > 0 ? process.argv[flag + 1] : process.env.HERALD_BIN;
  if (!path) throw new Error('set HERALD_BIN or pass --herald PATH to the herald binary');
  return path;
}

/** Whether this herald binary supports `flag` (read from its --help). */
export function heraldHasFlag(flag) {
  const help = spawnSync(heraldPath(), ['--help'], { encoding: 'utf8', timeout: 5000 });
  return `${help.stdout}${help.stderr}`.includes(flag);
}

/**
 * Skips this test file loudly when the broker lacks `flag`: under ctest (HERALD_SKIP_CODE set)
 * the process exits with that code, which ctest reports as skipped; otherwise returns the
 * reason, for node:test's `skip` option.
 */
export function requireFlag(flag, feature) {
  if (heraldHasFlag(flag)) return false;
  const reason = `SKIPPED: the herald binary has no ${flag} flag (${feature} is not built in)`;
  console.error(`\n${'!'.repeat(reason.length)}\n${reason}\n${'!'.repeat(reason.length)}\n`);
  if (process.env.HERALD_SKIP_CODE) process.exit(Number(process.env.HERALD_SKIP_CODE));
  return reason;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function probe(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Broker {
  constructor(flags = [], { port } = {}) {
    this.flags = flags;
    this.port = port;
    this.process = null;
    this.output = '';
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/`;
  }

  get httpUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const fixed = this.port !== undefined;
    for (let attempt = 0; attempt < 3; ++attempt) {
      this.port ??= await freePort();
      if (await this.#launch()) return this;
      if (fixed || !this.output.toLowerCase().includes('in use')) break;
      this.port = undefined; // lost a race for the port
    }
    throw new Error(`herald did not start on port ${this.port}:\n${this.output}`);
  }

  async #launch() {
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--workers',
      '2',
      // HERALD_IO=epoll (or uring): the I/O backend, as for the Python integration tests.
      ...(process.env.HERALD_IO ? ['--io', process.env.HERALD_IO] : []),
      ...this.flags,
    ];
    const child = spawn(heraldPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    child.stdout.on('data', (chunk) => (this.output += chunk));
    child.stderr.on('data', (chunk) => (this.output += chunk));
    child.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + kStartTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      if (await probe(this.port)) return true;
      await sleep(20);
    }
    child.kill('SIGKILL');
    return false;
  }

  /**
   * SIGINT, and requires exit code 0 within the timeout: the graceful shutdown (1001 to every
   * client) without the drain that SIGTERM starts first (drain.test.mjs).
   */
  async stop() {
    const child = this.process;
    if (child === null) return;
    this.process = null;
    if (child.exitCode !== null)
      throw new Error(`herald had exited (${child.exitCode}):\n${this.output}`);
    child.kill('SIGINT');
    let timer;
    const timeout = new Promise(
      (resolve) => (timer = setTimeout(() => resolve(null), kStopTimeoutMs)),
    );
    const result = await Promise.race([child.exited, timeout]);
    clearTimeout(timer);
    if (result === null) {
      child.kill('SIGKILL');
      throw new Error(`herald did not exit within ${kStopTimeoutMs} ms of SIGINT`);
    }
    if (result.code !== 0)
      throw new Error(`herald exited ${result.code ?? result.signal}:\n${this.output}`);
  }

  /** Cleanup after a failure: kills herald if it still runs. */
  kill() {
    if (this.process !== null && this.process.exitCode === null) this.process.kill('SIGKILL');
    this.process = null;
  }

  /**
   * kill -9: SIGKILL, no shutdown at all (clients see their connection reset, not a 1001).
   * Resolves once the process is gone.
   */
  async killHard() {
    const child = this.process;
    if (child === null) return;
    this.process = null;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    let timer;
    const timeout = new Promise(
      (resolve) => (timer = setTimeout(() => resolve(null), kStopTimeoutMs)),
    );
    const result = await Promise.race([child.exited, timeout]);
    clearTimeout(timer);
    if (result === null)
      throw new Error(`herald did not die within ${kStopTimeoutMs} ms of SIGKILL`);
  }

  async restart() {
    await this.stop();
    await this.start();
  }
}

/**
 * Inside a describe(): `broker` started before the suite's tests and stopped after them (killed
 * if the stop fails). A skipped suite runs no hooks, so starts nothing.
 */
export function suiteBroker(broker) {
  before(() => broker.start());
  after(() => broker.stop().finally(() => broker.kill()));
  return broker;
}

/**
 * Inside a describe(): a broker keeping history by `rule` (a --history value) in a fresh data
 * directory, started before the suite's tests, stopped and its directory removed after them.
 * Pass the suite's `skip`: a skipped suite starts nothing.
 */
export function historyBroker(rule, skip) {
  const dataDir = skip ? null : mkdtempSync(path.join(os.tmpdir(), 'herald-js-data-'));
  const broker = suiteBroker(new Broker(['--data-dir', dataDir, '--history', rule]));
  after(() => rmSync(dataDir, { recursive: true, force: true })); // after the stop above
  return broker;
}

/** Resolves when `predicate()` holds, polling; rejects after `timeoutMs` naming `what`. */
export async function waitFor(predicate, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export { sleep };
