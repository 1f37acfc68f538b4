// Test helper: one real redis-server on 127.0.0.1 (a free port, its own temp directory, no
// snapshots), for the cluster tests (PROTOCOL.md section 12), and the nodes that share it.
// Every wait bounded.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import { Broker, freePort, sleep } from './broker.mjs';

const kRedisServer = process.env.REDIS_SERVER ?? 'redis-server';
const kStartTimeoutMs = 10_000;
const kReadyTimeoutMs = 20_000;

/**
 * Skips this test file loudly when redis-server is not installed, as requireFlag does: exits
 * with HERALD_SKIP_CODE under ctest, otherwise returns the reason for node:test's `skip`.
 */
export function requireRedis() {
  const found = spawnSync(kRedisServer, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (found.status === 0) return false;
  const reason = `SKIPPED: no ${kRedisServer} (apt-get install redis-server)`;
  console.error(`\n${'!'.repeat(reason.length)}\n${reason}\n${'!'.repeat(reason.length)}\n`);
  if (process.env.HERALD_SKIP_CODE) process.exit(Number(process.env.HERALD_SKIP_CODE));
  return reason;
}

/** Resolves with Redis's first reply line to PING on `port`, or null. */
function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1000, () => done(null));
    socket.once('error', () => done(null));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.split('\r\n')[0]);
    });
  });
}

export class RedisServer {
  constructor() {
    this.port = undefined;
    this.dir = null;
    this.process = null;
    this.output = '';
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'herald-js-redis-'));
    for (let attempt = 0; attempt < 3; ++attempt) {
      this.port = await freePort();
      const child = spawn(
        kRedisServer,
        ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      this.process = child;
      child.stdout.on('data', (chunk) => (this.output += chunk));
      child.stderr.on('data', (chunk) => (this.output += chunk));
      const deadline = Date.now() + kStartTimeoutMs;
      while (Date.now() < deadline && child.exitCode === null) {
        if ((await ping(this.port)) === '+PONG') return this;
        await sleep(20);
      }
      child.kill('SIGKILL');
    }
    throw new Error(`redis-server did not answer PING:\n${this.output}`);
  }

  /** Kills redis-server and removes its directory. */
  close() {
    if (this.process !== null && this.process.exitCode === null) this.process.kill('SIGKILL');
    this.process = null;
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** Resolves once `broker` answers GET /readyz with 200 (its Redis link is up). */
export async function waitReady(broker, timeoutMs = kReadyTimeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${broker.httpUrl}/readyz`);
      last = response.status;
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch (error) {
      last = error.message;
    }
    await sleep(50);
  }
  throw new Error(`node on ${broker.port} not ready within ${timeoutMs} ms (last: ${last})`);
}

/** A herald node sharing `redis`, keeping history by `rule` (a --history value), not started. */
export function clusterNode(redis, rule, flags = []) {
  return new Broker(['--redis', redis.url, '--history', rule, ...flags]);
}

/**
 * Inside a describe(): a redis-server and `count` nodes sharing it (history by `rule`), each
 * ready, started before the suite's tests; every node and Redis killed after them. `nodes` is
 * filled in by the `before` hook; `startNode()` adds one more, ready, killed with the rest.
 */
export function suiteCluster(rule, count) {
  const redis = new RedisServer();
  const started = [];
  const cluster = {
    redis,
    /** @type {Broker[]} */
    nodes: [],
    async startNode() {
      const node = clusterNode(redis, rule);
      started.push(node);
      await node.start();
      await waitReady(node);
      return node;
    },
  };
  before(async () => {
    await redis.start(); // first: the nodes' flags name its port
    for (let k = 0; k < count; ++k) cluster.nodes.push(await cluster.startNode());
  });
  after(() => {
    for (const node of started) node.kill();
    redis.close();
  });
  return cluster;
}
