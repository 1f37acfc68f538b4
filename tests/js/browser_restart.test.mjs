// The browser side of recovery: a page subscribed to topics with history keeps receiving while
// the broker restarts mid-stream, and ends with every message exactly once. Needs a broker
// with --history and --data-dir (PROTOCOL.md section 9).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { startBrowser } from './browser.mjs';
import { Broker, requireFlag } from './broker.mjs';
import { assertExactlyOnce, publishStream } from './stream.mjs';

const skip = requireFlag('--history', 'history and replay, PROTOCOL.md section 9');

describe('a page across a broker restart', { skip }, () => {
  const dataDir = skip ? null : mkdtempSync(path.join(os.tmpdir(), 'herald-js-data-'));
  const broker = new Broker(['--data-dir', dataDir, '--history', 'live.>=rocksdb,count=100000']);
  let browser;
  before(async () => {
    await broker.start();
    browser = await startBrowser();
  });
  after(async () => {
    await browser?.close();
    await broker.stop().finally(() => broker.kill());
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('receives every message exactly once after recovery', async () => {
    const page = await browser.page();
    await page.evaluate(async (url) => {
      const client = new window.herald.HeraldClient(url, { backoffBaseMs: 20, backoffCapMs: 300 });
      window.received = [];
      window.gaps = [];
      window.states = [];
      client.on('gap', (g) => window.gaps.push(g));
      client.on('state', ({ state }) => window.states.push(state));
      await client.connect();
      // Exact topics here; recovery.test.mjs covers a pattern as well.
      for (const topic of ['live.x', 'live.y']) {
        await client.subscribe(topic, (m) =>
          window.received.push({ topic: m.topic, seq: m.seq, data: m.data }),
        ).ready;
      }
    }, broker.url);

    const publisher = new HeraldClient(broker.url, {
      WebSocket,
      backoffBaseMs: 20,
      backoffCapMs: 300,
    });
    await publisher.connect();
    const acked = await publishStream(publisher, ['live.x', 'live.y'], 400, async (n) => {
      if (n === 150) await broker.restart();
    });
    publisher.close();
    const total = [...acked.values()].reduce((sum, m) => sum + Math.max(0, ...m.keys()), 0);
    await page.waitForFunction((n) => window.received.length >= n, total, { timeout: 20_000 });
    const { received, gaps, states } = await page.evaluate(() => ({
      received: window.received,
      gaps: window.gaps,
      states: window.states,
    }));
    assertExactlyOnce(received, acked);
    assert.deepEqual(gaps, []);
    assert.ok(states.includes('reconnecting'), `the page never lost its connection: ${states}`);
    assert.deepEqual(page.errors, []);
  });
});
