// The browser side of recovery: a page subscribed to topics with history keeps receiving while
// the broker restarts mid-stream, and ends with every message exactly once. Needs a broker
// with --history and --data-dir (PROTOCOL.md section 9).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { pageResults, subscribePage, suiteBrowser } from './browser.mjs';
import { historyBroker, requireFlag } from './broker.mjs';
import { ackedTotal, assertExactlyOnce, connectPublisher, publishStream } from './stream.mjs';

const skip = requireFlag('--history', 'history and replay, PROTOCOL.md section 9');

describe('a page across a broker restart', { skip }, () => {
  const broker = historyBroker('live.>=rocksdb,count=100000', skip);
  const browser = suiteBrowser();

  test('receives every message exactly once after recovery', async () => {
    const page = await browser.page();
    // Exact topics here; recovery.test.mjs covers a pattern as well.
    await subscribePage(page, broker.url, ['live.x', 'live.y']);

    const publisher = await connectPublisher(broker.url);
    const acked = await publishStream(publisher, ['live.x', 'live.y'], 400, async (n) => {
      if (n === 150) await broker.restart();
    });
    publisher.close();
    const total = ackedTotal(acked);
    await page.waitForFunction((n) => window.received.length >= n, total, { timeout: 20_000 });
    const { received, gaps, states } = await pageResults(page);
    assertExactlyOnce(received, acked);
    assert.deepEqual(gaps, []);
    assert.ok(states.includes('reconnecting'), `the page never lost its connection: ${states}`);
    assert.deepEqual(page.errors, []);
  });
});
