// Reconnects: backoff to a restarted broker, resubscribing, the offline publish queue, a planned
// move from a draining server, and the close-code policy (section 8), the last two against
// scripted WebSocket servers from `ws`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { Broker, waitFor } from './broker.mjs';

const kBackoff = { backoffBaseMs: 20, backoffCapMs: 200 };

describe('a restarted broker', () => {
  const broker = new Broker();
  before(() => broker.start());
  after(() => broker.stop().finally(() => broker.kill()));

  test('reconnects with capped backoff and resubscribes every subscription', async () => {
    const client = new HeraldClient(broker.url, { WebSocket, ...kBackoff });
    const attempts = [];
    const gaps = [];
    const got = { a: [], b: [] };
    client.on('reconnecting', (r) => attempts.push(r));
    client.on('gap', (g) => gaps.push(g));
    await client.connect();
    await client.subscribe('re.a', (m) => got.a.push(m.data)).ready;
    await client.subscribe('re.*', (m) => got.b.push(m.data)).ready;
    await client.publish('re.a', 'before1');
    await client.publish('re.a', 'before2');
    await waitFor(() => got.a.length === 2, 'messages before the restart');

    await broker.stop();
    await waitFor(() => attempts.length >= 2, 'two reconnect attempts while the broker is down');
    await broker.start();
    await waitFor(() => client.state === 'open', 'reconnected', 10_000);
    // Its own publish comes back only once its resubscription is in place (one connection's
    // commands are handled in order); then another client's publish must arrive as well.
    await client.publish('re.a', 'self');
    await waitFor(() => got.a.length === 3, 'its own message after the restart');
    const other = new HeraldClient(broker.url, { WebSocket, reconnect: false });
    await other.connect();
    await other.publish('re.a', 'other');
    await waitFor(() => got.a.length === 4 && got.b.length === 4, "the other client's message");
    other.close();
    client.close();
    assert.deepEqual(
      attempts.slice(0, 2).map((r) => r.attempt),
      [1, 2],
    );
    for (const { attempt, delay } of attempts) {
      assert.ok(delay >= 0 && delay <= Math.min(200, 20 * 2 ** (attempt - 1)), `delay ${delay}`);
    }
    assert.deepEqual(got.a, ['before1', 'before2', 'self', 'other']);
    assert.deepEqual(got.b, got.a);
    // Without history, a restarted broker numbers from 1 again: reported, not hidden.
    assert.deepEqual(
      gaps.map((g) => [g.topic, g.reason]),
      [['re.a', 'reset']],
    );
  });

  test('publishes made offline are queued, sent in order on reconnect and acked', async () => {
    const client = new HeraldClient(broker.url, { WebSocket, ...kBackoff, maxOfflinePublishes: 5 });
    const got = [];
    await client.connect();
    await client.subscribe('q.t', (m) => got.push(m.data)).ready;
    await broker.stop();
    await waitFor(
      () => client.state === 'reconnecting' || client.state === 'connecting',
      'offline',
    );
    const acks = Array.from({ length: 5 }, (_, i) => client.publish('q.t', { i }));
    // The queue is full: the sixth is refused at once rather than dropping an older one.
    await assert.rejects(client.publish('q.t', { i: 5 }), { code: 'queue_full' });
    await broker.start();
    assert.deepEqual(await Promise.all(acks), [1, 2, 3, 4, 5]);
    await waitFor(() => got.length === 5, 'the queued messages, echoed');
    assert.deepEqual(
      got.map((d) => d.i),
      [0, 1, 2, 3, 4],
    );
    client.close();
  });

  test('close() while offline rejects the queue and stops reconnecting', async () => {
    const client = new HeraldClient(broker.url, { WebSocket, ...kBackoff });
    await client.connect();
    await broker.stop();
    await waitFor(() => client.state !== 'open', 'offline');
    const queued = client.publish('q.x', 1);
    client.close();
    await assert.rejects(queued, { code: 'closed' });
    assert.equal(client.state, 'closed');
    await broker.start();
  });
});

describe('a planned move (the reconnect message) over real sockets', () => {
  const broker = new Broker();
  before(() => broker.start());
  after(() => broker.stop().finally(() => broker.kill()));

  test('from a draining server to the broker: no failure counted, resubscribed', async (t) => {
    // A server that acknowledges subscribes, then asks its client to move within 30 ms.
    const { server: draining, url: from } = await listening();
    const closes = [];
    draining.on('connection', (socket) => {
      socket.on('close', (code, reason) => closes.push([code, String(reason)]));
      socket.on('message', (data) => {
        const command = JSON.parse(String(data));
        if (command.op !== 'sub') return;
        socket.send(JSON.stringify({ type: 'ack', id: command.id }));
        socket.send(JSON.stringify({ type: 'reconnect', after_ms: 10, jitter_ms: 20 }));
      });
    });
    const client = new HeraldClient([from, broker.url], { WebSocket, ...kBackoff });
    t.after(() => {
      client.close();
      draining.close();
    });
    const events = [];
    client.on('reconnecting', (r) => events.push(r));
    const got = [];
    const subscription = client.subscribe('move.t', (m) => got.push(m.data));
    await client.connect();
    await subscription.ready;
    // The url changes when the move starts: open on it is the new connection.
    await waitFor(() => client.url === broker.url && client.state === 'open', 'the move');
    await waitFor(() => subscription.state === 'live', 'live on the broker');
    await client.publish('move.t', 'after the move');
    await waitFor(() => got.length === 1, 'the message on the broker');
    assert.deepEqual(got, ['after the move']);
    assert.equal(events.length, 1);
    assert.equal(events[0].planned, true);
    assert.equal(events[0].attempt, 0);
    assert.ok(events[0].delay >= 10 && events[0].delay <= 30, `delay ${events[0].delay}`);
    await waitFor(() => closes.length === 1, 'the old connection closed');
    assert.deepEqual(closes, [[1000, 'planned reconnect']]);
  });
});

// A WebSocket server speaking herald.v1 on a free loopback port, once it listens.
async function listening() {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: () => 'herald.v1',
  });
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `ws://127.0.0.1:${server.address().port}/` };
}

// A WebSocket server that closes every connection with a scripted code, and records the URLs.
async function scriptedServer(closeCodeFor) {
  const { server, url } = await listening();
  const urls = [];
  server.on('connection', (socket, request) => {
    urls.push(request.url);
    const code = closeCodeFor(request.url, urls.length);
    if (code !== null) socket.close(code, `scripted ${code}`);
  });
  return { server, urls, url };
}

describe('close codes', () => {
  for (const code of [1002, 1007, 1008, 1009, 4001, 4003]) {
    test(`${code}: no reconnect`, async () => {
      const { server, urls, url } = await scriptedServer(() => code);
      const client = new HeraldClient(url, { WebSocket, ...kBackoff, token: 'fixed' });
      const events = [];
      client.on('close', (c) => events.push(c.code));
      client.on('reconnecting', () => events.push('reconnecting'));
      const unanswered = client.subscribe('a.b', () => {});
      await client.connect();
      await waitFor(() => client.state === 'closed', 'state closed');
      await assert.rejects(unanswered.ready, { code: 'closed' });
      assert.deepEqual(events, [code]);
      assert.deepEqual(urls, ['/?token=fixed']);
      server.close();
    });
  }

  for (const code of [1001, 1011]) {
    test(`${code}: reconnects`, async () => {
      const { server, urls, url } = await scriptedServer((_, count) => (count === 1 ? code : null));
      const client = new HeraldClient(url, { WebSocket, ...kBackoff });
      const closes = [];
      client.on('close', (c) => closes.push(c));
      await client.connect();
      await waitFor(() => urls.length === 2 && client.state === 'open', 'the second connection');
      assert.deepEqual(closes, [{ code, reason: `scripted ${code}`, wasClean: true }]);
      client.close();
      server.close();
    });
  }

  test('4003, token function: reconnects with a new token, not with the same one', async () => {
    const { server, urls, url } = await scriptedServer((path) =>
      path.endsWith('=new') ? null : 4003,
    );
    const tokens = ['old', 'new'];
    const client = new HeraldClient(url, {
      WebSocket,
      ...kBackoff,
      token: async () => tokens.shift() ?? 'new',
    });
    await client.connect();
    await waitFor(
      () => urls.length === 2 && client.state === 'open',
      'a connection with the new token',
    );
    assert.deepEqual(urls, ['/?token=old', '/?token=new']);
    client.close();

    const { server: stubborn, urls: tried, url: url2 } = await scriptedServer(() => 4001);
    const same = new HeraldClient(url2, { WebSocket, ...kBackoff, token: () => 'same' });
    await same.connect();
    await waitFor(() => same.state === 'closed', 'state closed');
    assert.deepEqual(tried, ['/?token=same']);
    server.close();
    stubborn.close();
  });
});
