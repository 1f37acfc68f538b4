// The browser side of issue 13: a page whose client lists two Herald nodes sharing one Redis
// loses its node to kill -9 mid-stream, moves to the other by itself and ends with every
// acknowledged message exactly once (recovery from + epoch, served from the topics' Redis
// streams, PROTOCOL.md section 12). Exact topics: cluster.test.mjs says why not a pattern.
// Exits 77 (skipped) without redis-server or a herald built with --redis.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { pageResults, subscribePage, suiteBrowser } from './browser.mjs';
import { requireFlag } from './broker.mjs';
import { requireRedis, suiteCluster } from './redis.mjs';
import {
  ackedTotal,
  assertExactlyOnceAfter,
  connectPublisher,
  publishStream,
  warmUp,
} from './stream.mjs';

const skip = requireFlag('--redis', 'the Redis cluster, PROTOCOL.md section 12') || requireRedis();
const kRule = 'live.>=redis,count=100000';
const kTopics = ['live.x', 'live.y'];

describe('a page across a kill -9 of its node', { skip }, () => {
  const cluster = suiteCluster(kRule, 2);
  const browser = suiteBrowser();

  test('moves to the other node and receives every acked message exactly once', async () => {
    const [nodeA, nodeB] = cluster.nodes;
    const page = await browser.page();
    await subscribePage(page, [nodeA.url, nodeB.url], kTopics);
    assert.equal(await page.evaluate(() => window.client.url), nodeA.url);

    // The publisher on B; the page's node (A) is warmed up first (stream.mjs says why).
    const publisher = await connectPublisher(nodeB.url);
    const warm = await warmUp(publisher, kTopics, (topic, seq) =>
      page
        .waitForFunction(
          ({ topic, seq }) => window.received.some((m) => m.topic === topic && m.seq === seq),
          { topic, seq },
          { timeout: 300 },
        )
        .then(
          () => true,
          () => false,
        ),
    );

    let killed = false;
    const acked = await publishStream(publisher, kTopics, 400, async (n) => {
      if (n === 150) {
        await nodeA.killHard();
        killed = true;
      }
    });
    publisher.close();
    assert.ok(killed);
    const total = ackedTotal(acked);
    const warmed = [...warm.values()].reduce((sum, seq) => sum + seq, 0);
    await page.waitForFunction(
      ({ n, warm }) =>
        window.gaps.length > 0 || window.received.filter((m) => m.seq > warm[m.topic]).length >= n,
      { n: total - warmed, warm: Object.fromEntries(warm) },
      { timeout: 20_000 },
    );
    const { received, gaps, states, url } = await pageResults(page);
    assert.deepEqual(gaps, []);
    assertExactlyOnceAfter(warm, received, acked);
    assert.ok(states.includes('reconnecting'), `the page never lost its connection: ${states}`);
    assert.equal(url, nodeB.url);
    assert.deepEqual(page.errors, []);
  });
});
