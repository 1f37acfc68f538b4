// Handler isolation against the real broker (issue 15's bug): with two overlapping
// subscriptions whose first handler always throws, the second gets every message, before and
// after a reconnect across a broker restart, each failure is reported with its topic and seq,
// and the client's own publishes still resolve. Needs a broker with --history and --data-dir.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { historyBroker, requireFlag, waitFor } from './broker.mjs';

const skip = requireFlag('--history', 'history and replay, PROTOCOL.md section 9');
const kBackoff = { backoffBaseMs: 20, backoffCapMs: 300 };

describe('a throwing handler', { skip }, () => {
  const broker = historyBroker('iso.>=rocksdb,count=1000', skip);

  test('starves no overlapping subscription, before and after a reconnect', async (t) => {
    const subscriber = new HeraldClient(broker.url, { WebSocket, ...kBackoff });
    const publisher = new HeraldClient(broker.url, { WebSocket, ...kBackoff });
    t.after(() => {
      subscriber.close();
      publisher.close();
    });
    const failures = [];
    const gaps = [];
    const states = [];
    subscriber.on('error', (e) => failures.push(e));
    subscriber.on('gap', (g) => gaps.push(g));
    subscriber.on('state', ({ state }) => states.push(state));
    let thrown = 0;
    const throwing = subscriber.subscribe('iso.t', () => {
      thrown += 1;
      throw new Error('a bug in the first handler');
    });
    const received = [];
    const second = subscriber.subscribe('iso.*', (m) => received.push([m.seq, m.data]));
    await Promise.all([subscriber.connect(), publisher.connect()]);
    await Promise.all([throwing.ready, second.ready]);

    for (let i = 1; i <= 4; ++i) await publisher.publish('iso.t', i);
    // Its own publish resolves: the throw no longer escapes into the socket's listener.
    const own = await Promise.race([
      subscriber.publish('iso.t', 5),
      new Promise((_, reject) => setTimeout(() => reject(new Error('publish hung')), 5000)),
    ]);
    assert.equal(own, 5);
    await waitFor(() => received.length === 5, 'the first five messages');

    // A reconnect across a restart: what is published meanwhile comes back by resume.
    await broker.restart();
    for (let i = 6; i <= 8; ++i) await publisher.publish('iso.t', i);
    await waitFor(() => subscriber.state === 'open', 'the subscriber back', 10_000);
    await waitFor(() => second.state === 'live', 'the subscription live again');
    await publisher.publish('iso.t', 9);
    await waitFor(() => received.length >= 9, 'the messages after the reconnect', 10_000);

    const all = Array.from({ length: 9 }, (_, k) => [k + 1, k + 1]);
    assert.deepEqual(received, all);
    assert.equal(thrown, 9);
    const handlerFailures = failures.filter((e) => e.code === 'handler_failed');
    assert.deepEqual(
      handlerFailures.map((e) => [e.topic, e.seq, e.cause.message]),
      all.map(([seq]) => ['iso.t', seq, 'a bug in the first handler']),
    );
    assert.equal(subscriber.position('iso.t').seq, 9);
    assert.deepEqual(gaps, []);
    assert.ok(states.includes('reconnecting'), `never reconnected: ${states}`);
  });
});
