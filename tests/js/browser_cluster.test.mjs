// The browser side of issue 13: a page whose client lists two Herald nodes sharing one Redis
// loses its node to kill -9 mid-stream, moves to the other by itself and ends with every
// acknowledged message exactly once (recovery from + epoch, served from the topics' Redis
// streams, PROTOCOL.md section 12). Exact topics: cluster.test.mjs says why not a pattern.
// Exits 77 (skipped) without redis-server or a herald built with --redis.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { startBrowser } from './browser.mjs';
import { requireFlag } from './broker.mjs';
import { RedisServer, clusterNode, requireRedis, waitReady } from './redis.mjs';
import { assertExactlyOnce, publishStream } from './stream.mjs';

const skip = requireFlag('--redis', 'the Redis cluster, PROTOCOL.md section 12') || requireRedis();
const kRule = 'live.>=redis,count=100000';
const kTopics = ['live.x', 'live.y'];

describe('a page across a kill -9 of its node', { skip }, () => {
  const redis = new RedisServer();
  let nodeA;
  let nodeB;
  let browser;
  before(async () => {
    await redis.start(); // first: the nodes' flags name its port
    nodeA = clusterNode(redis, kRule);
    nodeB = clusterNode(redis, kRule);
    for (const node of [nodeA, nodeB]) {
      await node.start();
      await waitReady(node);
    }
    browser = await startBrowser();
  });
  after(async () => {
    await browser?.close();
    for (const node of [nodeA, nodeB]) node?.kill();
    redis.close();
  });

  test('moves to the other node and receives every acked message exactly once', async () => {
    const page = await browser.page();
    await page.evaluate(
      async ({ urls, topics }) => {
        const client = new window.herald.HeraldClient(urls, {
          backoffBaseMs: 20,
          backoffCapMs: 300,
        });
        window.client = client;
        window.received = [];
        window.gaps = [];
        window.states = [];
        client.on('gap', (g) => window.gaps.push(g));
        client.on('state', ({ state }) => window.states.push(state));
        await client.connect();
        for (const topic of topics) {
          await client.subscribe(topic, (m) =>
            window.received.push({ topic: m.topic, seq: m.seq, data: m.data }),
          ).ready;
        }
      },
      { urls: [nodeA.url, nodeB.url], topics: kTopics },
    );
    assert.equal(await page.evaluate(() => window.client.url), nodeA.url);

    // The publisher on B. The page's node (A) may start listening on Redis after the
    // subscription's ack (section 12): one warm-up message per topic, repeated until the page
    // has it, and the stream is checked from there on.
    const publisher = new HeraldClient(nodeB.url, {
      WebSocket,
      backoffBaseMs: 20,
      backoffCapMs: 300,
    });
    await publisher.connect();
    const warm = new Map();
    for (const topic of kTopics) {
      for (let attempt = 0; attempt < 50 && !warm.has(topic); ++attempt) {
        const seq = await publisher.publish(topic, { warm: attempt });
        const seen = await page
          .waitForFunction(
            ({ topic, seq }) => window.received.some((m) => m.topic === topic && m.seq === seq),
            { topic, seq },
            { timeout: 300 },
          )
          .then(
            () => true,
            () => false,
          );
        if (seen) warm.set(topic, seq);
      }
      assert.ok(warm.has(topic), `${topic}: the page's node never delivered a warm-up`);
    }

    let killed = false;
    const acked = await publishStream(publisher, kTopics, 400, async (n) => {
      if (n === 150) {
        await nodeA.killHard();
        killed = true;
      }
    });
    publisher.close();
    assert.ok(killed);
    const total = [...acked.values()].reduce((sum, m) => sum + Math.max(0, ...m.keys()), 0);
    const warmed = [...warm.values()].reduce((sum, seq) => sum + seq, 0);
    await page.waitForFunction(
      ({ n, warm }) =>
        window.gaps.length > 0 || window.received.filter((m) => m.seq > warm[m.topic]).length >= n,
      { n: total - warmed, warm: Object.fromEntries(warm) },
      { timeout: 20_000 },
    );
    const { received, gaps, states, url } = await page.evaluate(() => ({
      received: window.received,
      gaps: window.gaps,
      states: window.states,
      url: window.client.url,
    }));
    assert.deepEqual(gaps, []);
    // Renumbered from each topic's warm-up on, so that assertExactlyOnce checks 1..n.
    const shift = (topic, seq) => seq - warm.get(topic);
    assertExactlyOnce(
      received
        .filter((m) => m.seq > warm.get(m.topic))
        .map((m) => ({ ...m, seq: shift(m.topic, m.seq) })),
      new Map(
        [...acked].map(([topic, seqs]) => [
          topic,
          new Map([...seqs].map(([seq, i]) => [shift(topic, seq), i])),
        ]),
      ),
    );
    assert.ok(states.includes('reconnecting'), `the page never lost its connection: ${states}`);
    assert.equal(url, nodeB.url);
    assert.deepEqual(page.errors, []);
  });
});
