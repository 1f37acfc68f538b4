// The client's connection state machine against a scripted fake WebSocket (fake_socket.mjs):
// every state and transition, the close-code policy, seeded backoff bounds, the URL list and
// the server's planned `reconnect`. No broker; the whole file runs in about a second.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { backoffDelay } from '../../clients/js/src/backoff.js';
import { FakeServer, msg, seeded, sleep } from './fake_socket.mjs';

describe('connection states', () => {
  test('idle, connecting, open, reconnecting, connecting, open, closed', async () => {
    const server = new FakeServer();
    const { client, log } = server.client();
    assert.equal(client.state, 'idle');
    const opened = client.connect();
    assert.equal(client.state, 'connecting');
    const first = await server.socket(0);
    assert.equal(first.protocol, 'herald.v1');
    assert.equal(first.binaryType, 'arraybuffer');
    first.open();
    await opened;
    first.drop(1006);
    assert.equal(client.state, 'reconnecting');
    const second = await server.socket(1);
    assert.equal(client.state, 'connecting');
    second.open();
    client.close();
    await sleep(5);
    assert.equal(second.closedWith.code, 1000);
    assert.deepEqual(log.states, [
      'connecting',
      'open',
      'reconnecting',
      'connecting',
      'open',
      'closed',
    ]);
    assert.deepEqual(log.closes, [1006, 1000]);
    assert.deepEqual(
      log.reconnecting.map((r) => [r.attempt, r.planned]),
      [[1, false]],
    );
  });

  test('connect() while close() is under way connects again once the old socket ended', async () => {
    const server = new FakeServer();
    const { client, log } = server.client();
    const first = client.connect();
    (await server.socket(0)).open();
    await first;
    client.close();
    // The closing handshake has not completed: the old socket is still open.
    const again = client.connect();
    assert.equal(client.state, 'reconnecting');
    const second = await server.socket(1);
    assert.equal(server.sockets[0].closedWith.code, 1000);
    second.open();
    await again;
    assert.equal(client.state, 'open');
    assert.deepEqual(log.states, ['connecting', 'open', 'reconnecting', 'connecting', 'open']);
    client.close();
  });

  test('a socket closed before it opens is a failure; so is the connect timeout', async () => {
    const server = new FakeServer();
    const { client, log } = server.client({ connectTimeoutMs: 20 });
    const connecting = client.connect();
    (await server.socket(0)).drop(1006);
    const hung = await server.socket(1); // never opens: abandoned after connectTimeoutMs
    await server.socket(2);
    assert.equal(hung.closedWith.code, undefined);
    assert.deepEqual(
      log.reconnecting.map((r) => r.attempt),
      [1, 2],
    );
    assert.deepEqual(log.states.slice(0, 5), [
      'connecting',
      'reconnecting',
      'connecting',
      'reconnecting',
      'connecting',
    ]);
    client.close();
    await assert.rejects(connecting, { code: 'closed' });
    assert.equal(client.state, 'closed');
  });

  test('close() while reconnecting stops it; connect() after closed starts again', async () => {
    const server = new FakeServer();
    const { client, log } = server.client({ backoffBaseMs: 30 });
    const first = client.connect();
    (await server.socket(0)).drop(1006);
    assert.equal(client.state, 'reconnecting');
    const waiting = client.ready();
    client.close();
    await assert.rejects(waiting, { code: 'closed' });
    await assert.rejects(first, { code: 'closed' });
    await assert.rejects(client.ready(), { code: 'closed' });
    await sleep(60);
    assert.equal(server.sockets.length, 1);
    const again = client.connect();
    (await server.socket(1)).open();
    await again;
    assert.equal(client.state, 'open');
    assert.deepEqual(log.states, ['connecting', 'reconnecting', 'closed', 'connecting', 'open']);
    client.close();
  });

  test('close() before any connect: idle to closed, and nothing is opened', async () => {
    const server = new FakeServer();
    const { client, log } = server.client();
    const waiting = client.subscribe('a.t', () => {});
    client.close();
    await assert.rejects(waiting.ready, { code: 'closed' });
    assert.deepEqual(log.states, ['closed']);
    assert.equal(server.sockets.length, 0);
  });

  test('reconnect: false and maxReconnectAttempts end in closed', async () => {
    const server = new FakeServer();
    const { client, log } = server.client({ reconnect: false });
    const opened = client.connect();
    (await server.socket(0)).drop(1011);
    await assert.rejects(opened, { code: 'closed' });
    assert.equal(client.state, 'closed');
    assert.deepEqual(log.reconnecting, []);

    const limited = server.client({ maxReconnectAttempts: 2 });
    const attempt = limited.client.connect();
    for (let i = 1; i <= 3; ++i) (await server.socket(i)).drop(1006);
    await assert.rejects(attempt, { code: 'closed' });
    assert.deepEqual(
      limited.log.reconnecting.map((r) => r.attempt),
      [1, 2],
    );
    assert.equal(server.sockets.length, 4);
  });

  test('connect() and ready() take a signal and a timeout; only the wait ends', async () => {
    const server = new FakeServer();
    const { client } = server.client();
    const controller = new AbortController();
    const connecting = client.connect({ signal: controller.signal });
    controller.abort(new Error('user left'));
    await assert.rejects(
      connecting,
      (e) => e.code === 'aborted' && e.cause.message === 'user left',
    );
    await assert.rejects(client.ready({ timeoutMs: 10 }), { code: 'timeout' });
    const aborted = AbortSignal.abort();
    await assert.rejects(client.ready({ signal: aborted }), { code: 'aborted' });
    assert.equal(client.state, 'connecting'); // still trying: close() stops that
    const ready = client.ready({ timeoutMs: 1000 });
    (await server.socket(0)).open();
    await ready;
    await client.ready({ signal: AbortSignal.abort() }); // open already: resolves
    client.close();
  });
});

describe('close codes (PROTOCOL.md section 8)', () => {
  for (const code of [1002, 1007, 1008, 1009, 4001, 4003]) {
    test(`${code}: closed for good, no reconnect`, async () => {
      const server = new FakeServer();
      const { client, log, socket } = await server.connected({ token: 'fixed' });
      const unanswered = client.subscribe('a.b', () => {});
      const queued = client.publish('a.b', 1);
      socket.drop(code, 'scripted');
      await assert.rejects(queued, { code: 'connection_lost' });
      assert.equal(client.state, 'closed');
      await assert.rejects(unanswered.ready, { code: 'closed' });
      await sleep(10);
      assert.equal(server.sockets.length, 1);
      assert.deepEqual(log.reconnecting, []);
      assert.equal(socket.url, 'ws://fake/?token=fixed');
    });
  }

  for (const code of [1000, 1001, 1005, 1006, 1011, 1012, 1013]) {
    test(`${code}: reconnects`, async () => {
      const server = new FakeServer();
      const { client, log, socket } = await server.connected();
      socket.drop(code);
      (await server.socket(1)).open();
      assert.equal(client.state, 'open');
      assert.deepEqual(log.closes, [code]);
      client.close();
    });
  }
});

describe('backoff and the URL list', () => {
  // Every attempt fails before opening; returns the 'reconnecting' events.
  async function failing(urls, seed, attempts) {
    const server = new FakeServer();
    const { client, log } = server.client(
      { backoffBaseMs: 4, backoffCapMs: 20, random: seeded(seed), maxReconnectAttempts: attempts },
      urls,
    );
    const done = client.connect().catch((e) => e);
    for (let i = 0; i <= attempts; ++i) (await server.socket(i)).drop(1006);
    assert.equal((await done).code, 'closed');
    return { events: log.reconnecting, urls: server.sockets.map((s) => s.url) };
  }

  test('one URL: each attempt waits within [0, min(cap, base * 2^(n-1))], seeded', async () => {
    const { events } = await failing('ws://one/', 7, 8);
    assert.deepEqual(
      events.map((e) => e.attempt),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    for (const { attempt, delay } of events) {
      assert.ok(delay >= 0 && delay < Math.min(20, 4 * 2 ** (attempt - 1)), `${attempt}: ${delay}`);
    }
    // The same seed replays the same delays, from the same formula; another seed differs.
    const random = seeded(7);
    assert.deepEqual(
      events.map((e) => e.delay),
      events.map((e) => backoffDelay(e.attempt, 4, 20, random)),
    );
    const again = await failing('ws://one/', 7, 8);
    assert.deepEqual(again.events, events);
    const other = await failing('ws://one/', 8, 8);
    assert.notDeepEqual(
      other.events.map((e) => e.delay),
      events.map((e) => e.delay),
    );
  });

  test('several URLs: tried in turn, the backoff of each round before its first try', async () => {
    const list = ['ws://a/', 'ws://b/', 'ws://c/'];
    const { events, urls } = await failing(list, 3, 7);
    assert.deepEqual(urls, [...list, ...list, 'ws://a/', 'ws://b/']);
    assert.deepEqual(
      events.map((e) => e.url),
      urls.slice(1),
    );
    const random = seeded(3);
    // Failures 1, 4, 7 open rounds 1, 2, 3 (the drop of a, then each full round): they wait;
    // the rest of a round follows at once.
    assert.deepEqual(
      events.map((e) => e.delay),
      [1, 0, 0, 2, 0, 0, 3].map((round) => (round ? backoffDelay(round, 4, 20, random) : 0)),
    );
  });

  test('an open connection resets the count: the next drop starts round 1', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected({}, ['ws://a/', 'ws://b/']);
    socket.drop(1006);
    (await server.socket(1)).drop(1006);
    (await server.socket(2)).open();
    server.sockets[2].drop(1001);
    await server.socket(3);
    assert.deepEqual(
      log.reconnecting.map((r) => [r.attempt, r.url]),
      [
        [1, 'ws://b/'],
        [2, 'ws://a/'],
        [1, 'ws://b/'],
      ],
    );
    client.close();
  });
});

describe("the server's reconnect message (a planned move)", () => {
  const history = (topic, epoch) => ({
    type: 'recovery',
    topic,
    epoch,
    first: 1,
    from: 1,
    next: 1,
    complete: true,
  });

  test('keeps positions, waits after_ms + jitter, moves to the next URL: no failure', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected({ random: () => 0.5 }, [
      'ws://a/',
      'ws://b/',
    ]);
    const got = [];
    client.subscribe('h.t', (m) => got.push(m.seq));
    socket.receive(history('h.t', 'e1'));
    socket.ackSubscribes();
    for (const seq of [1, 2, 3]) socket.receive(msg('h.t', seq, seq));
    const asked = Date.now();
    socket.receive({ type: 'reconnect', after_ms: 40, jitter_ms: 20, reason: 'drain' });
    assert.deepEqual(log.reconnecting, [
      { attempt: 0, delay: 50, url: 'ws://b/', planned: true, reason: 'drain' },
    ]);
    assert.equal(client.state, 'open'); // the old connection serves until the move
    assert.equal(client.url, 'ws://a/');
    const moved = await server.socket(1);
    assert.ok(Date.now() - asked >= 45, `moved after ${Date.now() - asked} ms`);
    assert.deepEqual(socket.closedWith, { code: 1000, reason: 'planned reconnect' });
    assert.equal(moved.url, 'ws://b/');
    moved.open();
    assert.deepEqual(moved.ops('sub'), [
      { op: 'sub', topic: 'h.t', id: moved.ops('sub')[0].id, from: 4, epoch: 'e1' },
    ]);
    assert.deepEqual(log.states, ['connecting', 'open', 'reconnecting', 'connecting', 'open']);
    // It was not a failure: the next unplanned drop is attempt 1, from b to a.
    moved.drop(1006);
    await server.socket(2);
    assert.deepEqual(log.reconnecting.at(-1), {
      attempt: 1,
      delay: 125, // round 1: 0.5 * backoffBaseMs
      url: 'ws://a/',
      planned: false,
    });
    assert.deepEqual(got, [1, 2, 3]);
    client.close();
  });

  test('a server that closes first (1001) is still left at the planned time', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected({ random: () => 0 });
    socket.receive({ type: 'reconnect', after_ms: 40 });
    socket.drop(1001);
    assert.equal(client.state, 'reconnecting');
    const queued = client.publish('q.t', 'meanwhile');
    await sleep(20);
    assert.equal(server.sockets.length, 1, 'reconnected before after_ms');
    const next = await server.opened(1);
    const [publish] = next.ops('pub');
    assert.equal(publish.data, 'meanwhile');
    next.receive({ type: 'ack', id: publish.id, seq: 9 });
    assert.equal(await queued, 9);
    assert.deepEqual(
      log.reconnecting.map((r) => [r.attempt, r.delay, r.planned]),
      [[0, 40, true]],
    );
    client.close();
  });

  test('jitter_ms defaults to 1000; a malformed reconnect is reported, not obeyed', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected({ random: () => 0.9999 });
    socket.receive({ type: 'reconnect', after_ms: -1 });
    socket.receive({ type: 'reconnect', after_ms: 5, jitter_ms: 'soon' });
    assert.deepEqual(
      log.errors.map((e) => e.code),
      ['bad_message', 'bad_message'],
    );
    assert.deepEqual(log.reconnecting, []);
    socket.receive({ type: 'reconnect', after_ms: 5 });
    socket.receive({ type: 'reconnect', after_ms: 0 }); // one move at a time
    assert.deepEqual(
      log.reconnecting.map((r) => r.delay),
      [1005],
    );
    client.close(); // cancels the move
    await sleep(10);
    assert.equal(client.state, 'closed');
    assert.equal(server.sockets.length, 1);
  });
});
