// The client in real headless Chromium: two pages exchange JSON and binary messages through
// the broker, a page uses the URL list, isolated handlers, async iteration, subscription states
// and cancellation, and the ticker demo renders live prices (its screenshot is saved).

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { startPublisher, kSymbols } from '../../clients/js/demo/publisher.mjs';
import { suiteBrowser } from './browser.mjs';
import { Broker, freePort, suiteBroker } from './broker.mjs';

describe('in Chromium', () => {
  const broker = suiteBroker(new Broker());
  const browser = suiteBrowser();

  test('two pages exchange JSON and binary messages through the broker', async () => {
    const alice = await browser.page();
    const bob = await browser.page();
    const setup = async (page, name, listen) =>
      page.evaluate(
        async ({ url, name, listen }) => {
          const client = new window.herald.HeraldClient(url);
          window.received = [];
          await client.connect();
          await client.subscribe(listen, (m) => {
            const data = m.binary ? Array.from(m.data) : m.data;
            window.received.push({ topic: m.topic, seq: m.seq, binary: m.binary, data });
          }).ready;
          window.client = client;
          return name;
        },
        { url: broker.url, name, listen },
      );
    await setup(alice, 'alice', 'chat.to-alice.>');
    await setup(bob, 'bob', 'chat.to-bob');

    const acks = await bob.evaluate(async () => {
      const c = window.client;
      const all = new Uint8Array(256).map((_, i) => i);
      return [
        await c.publish('chat.to-alice.text', { from: 'bob', text: 'hello, alice ✓' }),
        await c.publish('chat.to-alice.bytes', all),
        await c.publish('chat.to-alice.bytes', all.buffer.slice(250)),
        await c.publish('chat.to-alice.text', 'second'),
      ];
    });
    assert.deepEqual(acks, [1, 1, 2, 2]);
    await alice.evaluate(async () => {
      await window.client.publish('chat.to-bob', new Float32Array([1.5, -2]));
      await window.client.publish('chat.to-bob', { from: 'alice', text: 'hi bob' });
    });
    await alice.waitForFunction(() => window.received.length === 4);
    await bob.waitForFunction(() => window.received.length === 2);
    const toAlice = await alice.evaluate(() => window.received);
    const toBob = await bob.evaluate(() => window.received);

    assert.deepEqual(toAlice, [
      {
        topic: 'chat.to-alice.text',
        seq: 1,
        binary: false,
        data: { from: 'bob', text: 'hello, alice ✓' },
      },
      { topic: 'chat.to-alice.bytes', seq: 1, binary: true, data: [...Array(256).keys()] },
      { topic: 'chat.to-alice.bytes', seq: 2, binary: true, data: [250, 251, 252, 253, 254, 255] },
      { topic: 'chat.to-alice.text', seq: 2, binary: false, data: 'second' },
    ]);
    const floatBytes = [...new Uint8Array(new Float32Array([1.5, -2]).buffer)];
    assert.deepEqual(toBob, [
      { topic: 'chat.to-bob', seq: 1, binary: true, data: floatBytes },
      { topic: 'chat.to-bob', seq: 2, binary: false, data: { from: 'alice', text: 'hi bob' } },
    ]);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
    await alice.close();
    await bob.close();
  });

  test('a page reconnects to a restarted broker and resubscribes', async () => {
    const page = await browser.page();
    await page.evaluate(async (url) => {
      const client = new window.herald.HeraldClient(url, { backoffBaseMs: 20, backoffCapMs: 200 });
      window.received = [];
      window.states = [];
      window.gaps = [];
      client.on('state', ({ state }) => window.states.push(state));
      client.on('gap', (g) => window.gaps.push(g.reason));
      await client.connect();
      await client.subscribe('restart.t', (m) => window.received.push(m.data)).ready;
      await client.publish('restart.t', 'before');
      window.client = client;
    }, broker.url);
    await page.waitForFunction(() => window.received.length === 1);
    await broker.restart();
    await page.waitForFunction(() => window.client.state === 'open' && window.states.length > 2);
    // Its own message comes back only through the resubscription (one connection's commands
    // are handled in order); then a message from Node must arrive as well.
    await page.evaluate(() => window.client.publish('restart.t', 'self'));
    await page.waitForFunction(() => window.received.length === 2);
    const node = new HeraldClient(broker.url, { WebSocket, reconnect: false });
    await node.connect();
    await node.publish('restart.t', 'from node');
    node.close();
    await page.waitForFunction(() => window.received.length === 3);
    const { received, states, gaps } = await page.evaluate(() => ({
      received: window.received,
      states: window.states,
      gaps: window.gaps,
    }));
    assert.deepEqual(received, ['before', 'self', 'from node']);
    assert.deepEqual(states.slice(0, 3), ['connecting', 'open', 'reconnecting']);
    assert.equal(states.at(-1), 'open');
    assert.deepEqual(gaps, ['reset']); // no history: the restarted broker numbers from 1 again
    assert.deepEqual(page.errors, []);
    await page.evaluate(() => window.client.close());
    await page.close();
  });

  test('a page: URL list, isolated handlers, async iteration, states, cancellation', async () => {
    const page = await browser.page();
    const dead = `ws://127.0.0.1:${await freePort()}/`;
    const result = await page.evaluate(
      async ({ urls }) => {
        const { HeraldClient } = window.herald;
        const client = new HeraldClient(urls, { backoffBaseMs: 20, backoffCapMs: 200 });
        const out = { tried: [], errors: [], other: [], states: [], loop: [] };
        client.on('reconnecting', ({ attempt, url }) => out.tried.push([attempt, url]));
        client.on('error', (e) => {
          if (e.code === 'handler_failed') out.errors.push([e.topic, e.seq, e.cause.message]);
        });
        await client.connect({ timeoutMs: 10_000 });
        out.url = client.url;
        client.subscribe('page.iso', () => {
          throw new Error('bug');
        });
        client.subscribe('page.*', (m) => out.other.push(m.seq));
        const stream = client.subscribe('page.iso');
        stream.on('state', ({ state }) => out.states.push(state));
        await stream.ready;
        for (let i = 1; i <= 3; ++i) await client.publish('page.iso', { i });
        for await (const m of stream) {
          out.loop.push([m.seq, m.data.i]);
          if (m.seq === 3) break;
        }
        const controller = new AbortController();
        const aborted = client.publish('page.iso', 4, { signal: controller.signal });
        controller.abort();
        out.aborted = await aborted.then(String, (e) => e.code);
        out.timedOut = await client.ready({ timeoutMs: 50 }).then(
          () => 'open',
          (e) => e.code,
        );
        client.close();
        return out;
      },
      { urls: [dead, broker.url] },
    );
    assert.deepEqual(result.tried, [[1, broker.url]]);
    assert.equal(result.url, broker.url);
    assert.deepEqual(result.loop, [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    assert.deepEqual(result.errors, [
      ['page.iso', 1, 'bug'],
      ['page.iso', 2, 'bug'],
      ['page.iso', 3, 'bug'],
    ]);
    assert.deepEqual(result.other.slice(0, 3), [1, 2, 3]);
    assert.deepEqual(result.states, ['live', 'unsubscribed']);
    assert.equal(result.aborted, 'aborted');
    assert.equal(result.timedOut, 'open');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('the ticker demo shows live prices for every symbol (screenshot saved)', async () => {
    const publisher = startPublisher(broker.httpUrl, { intervalMs: 20 });
    try {
      await publisher.ready;
      const page = await browser.context.newPage();
      await page.goto(`${browser.origin}/demo/?broker=${encodeURIComponent(broker.url)}`);
      await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
      // Every symbol published again since the page subscribed, so every card has a price.
      await page.waitForFunction(
        (count) =>
          window.ticker.cards.size === count &&
          Number(document.getElementById('updates').textContent) > 3 * count,
        kSymbols.length,
        { timeout: 20_000 },
      );
      const prices = await page.$$eval('.quote .price', (nodes) => nodes.map((n) => n.textContent));
      assert.equal(prices.length, kSymbols.length);
      assert.ok(
        prices.every((p) => /^\d+\.\d\d$/.test(p)),
        prices.join(' '),
      );
      const file = process.env.HERALD_SCREENSHOT ?? path.join(os.tmpdir(), 'herald-ticker.png');
      await page.screenshot({ path: file });
      assert.ok(statSync(file).size > 10_000, `screenshot ${file}`);
      console.log(`ticker screenshot: ${file}`);
      await page.close();
    } finally {
      await publisher.stop();
    }
  });
});
