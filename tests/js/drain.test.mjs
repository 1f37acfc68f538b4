// A drain (README "Draining and rolling deploys") moving a real client between real brokers:
// a client of broker A, subscribed to a topic with history, gets A's reconnect notice on
// SIGTERM, is cut (1001) by a second SIGTERM before it moved, and moves at its planned time to
// broker B, the next URL, counting no failure. B opens A's data directory (RocksDB allows one
// process at a time, so B starts once A has exited: the hand-over of a rolling deploy on one
// disk), and the client resumes there from its position with nothing lost or repeated.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { Broker, freePort, requireFlag, waitFor } from './broker.mjs';

const skip =
  requireFlag('--drain-timeout-ms', 'draining') || requireFlag('--history', 'history');
// jitter_ms is four fifths of the drain timeout (8000 ms); the client's random() = 0.5 takes
// half of it, so it moves 4 s after the notice: time enough for A to exit and B to start.
const kDrainTimeoutMs = 10000;
const kMoveDelayMs = 4000;

async function publishHttp(broker, topic, data) {
  const response = await fetch(`${broker.httpUrl}/publish?topic=${topic}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(data),
  });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  return JSON.parse(body).seq;
}

describe('a drained broker hands its clients to the next one', { skip }, () => {
  test('planned move from A to B, resumed from history, no failure counted', async (t) => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'herald-js-drain-'));
    const flags = [
      '--data-dir',
      dataDir,
      '--history',
      'mv.>=rocksdb,count=100000',
      '--drain-timeout-ms',
      String(kDrainTimeoutMs),
    ];
    const a = new Broker(flags);
    // B's port is chosen now: it is the client's second URL.
    const b = new Broker(flags, { port: await freePort() });
    await a.start();
    const client = new HeraldClient([a.url, b.url], {
      WebSocket,
      backoffBaseMs: 20,
      backoffCapMs: 200,
      random: () => 0.5,
    });
    t.after(async () => {
      client.close();
      await b.stop().finally(() => b.kill());
      a.kill();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const events = [];
    const gaps = [];
    const got = [];
    client.on('reconnecting', (r) => events.push(r));
    client.on('gap', (g) => gaps.push(g));
    await client.connect();
    const subscription = client.subscribe('mv.t', (m) => got.push([m.seq, m.data]));
    await subscription.ready;
    for (let i = 1; i <= 3; ++i) await publishHttp(a, 'mv.t', { i });
    await waitFor(() => got.length === 3, 'the messages before the drain');

    a.process.kill('SIGTERM');
    await waitFor(() => events.length === 1, 'the reconnect notice');
    assert.equal(events[0].planned, true);
    assert.equal(events[0].attempt, 0);
    assert.equal(events[0].reason, 'drain');
    assert.equal(events[0].delay, kMoveDelayMs);
    // Until it moves the connection works (A accepts no new one, so the client publishes on
    // its own): the message is stored and arrives live.
    assert.equal(await client.publish('mv.t', { i: 4 }), 4);
    await waitFor(() => got.length === 4, 'a message during the drain');
    // A second SIGTERM cuts the drain: A closes the client (1001) before it moved and exits.
    await a.stop();
    await b.start();
    // Published while the client is between brokers: it must come from B's history.
    for (let i = 5; i <= 6; ++i) await publishHttp(b, 'mv.t', { i });
    await waitFor(() => client.url === b.url && client.state === 'open', 'the move', 10_000);
    await waitFor(() => subscription.state === 'live', 'live on B');
    await publishHttp(b, 'mv.t', { i: 7 });
    await waitFor(() => got.length === 7, 'every message, resumed then live', 10_000);
    assert.deepEqual(
      got.map(([seq, data]) => [seq, data.i]),
      [1, 2, 3, 4, 5, 6, 7].map((i) => [i, i]),
    );
    assert.deepEqual(gaps, []);
    assert.equal(events.length, 1, `one planned move, no failure: ${JSON.stringify(events)}`);
  });
});
