// Publishing and tokens against a scripted fake WebSocket: the offline queue, cancellation by
// signal and timeout, acks lost with the connection, and token refresh (a token function
// asked before every connection, authenticate(), 4001/4003). No broker; about a second.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { FakeServer, sleep } from './fake_socket.mjs';

describe('the offline queue', () => {
  test('publishes made offline go out in order once open, and resolve on their acks', async () => {
    const server = new FakeServer();
    const { client } = server.client({ maxOfflinePublishes: 3 });
    const opened = client.connect();
    const acks = ['a', 'b', 'c'].map((data) => client.publish('q.t', data));
    await assert.rejects(client.publish('q.t', 'd'), { code: 'queue_full' });
    const socket = await server.opened(0);
    await opened;
    const sent = socket.ops('pub');
    assert.deepEqual(
      sent.map((c) => c.data),
      ['a', 'b', 'c'],
    );
    sent.forEach((c, i) => socket.receive({ type: 'ack', id: c.id, seq: 10 + i }));
    assert.deepEqual(await Promise.all(acks), [10, 11, 12]);
    client.close();
  });

  test('sent but unacknowledged: rejected with connection_lost and not resent', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const lost = client.publish('q.t', 1);
    socket.drop(1006);
    await assert.rejects(lost, { code: 'connection_lost' });
    const next = await server.opened(1);
    assert.deepEqual(next.ops('pub'), []);
    client.close();
  });

  test('close() rejects the queue; publishing after it rejects at once', async () => {
    const server = new FakeServer();
    const { client } = server.client();
    const connecting = client.connect();
    const queued = client.publish('q.t', 1);
    client.close();
    await assert.rejects(queued, { code: 'closed' });
    await assert.rejects(connecting, { code: 'closed' });
    await assert.rejects(client.publish('q.t', 2), { code: 'closed' });
  });

  test('binary data goes out as a binary frame; undefined is refused', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const unanswered = client.publish('b.t', new Uint8Array([1, 2, 3]));
    const [frame] = socket.sent;
    assert.ok(frame instanceof Uint8Array);
    assert.deepEqual([...frame.subarray(0, 2)], [0x01, 0x01]); // publish, with an id
    assert.deepEqual([...frame.subarray(-3)], [1, 2, 3]);
    await assert.rejects(client.publish('b.t', undefined), { code: 'bad_request' });
    client.close();
    await assert.rejects(unanswered, { code: 'connection_lost' });
  });
});

describe('cancellation', () => {
  test('a signal takes a queued publish out of the queue', async () => {
    const server = new FakeServer();
    const { client } = server.client();
    const opened = client.connect();
    const controller = new AbortController();
    const cancelled = client.publish('c.t', 'no', { signal: controller.signal });
    const kept = client.publish('c.t', 'yes');
    controller.abort('changed my mind');
    await assert.rejects(cancelled, (e) => e.code === 'aborted' && e.cause === 'changed my mind');
    const socket = await server.opened(0);
    await opened;
    const [only] = socket.ops('pub');
    assert.equal(socket.ops('pub').length, 1);
    assert.equal(only.data, 'yes');
    socket.receive({ type: 'ack', id: only.id, seq: 1 });
    assert.equal(await kept, 1);
    client.close();
  });

  test('a timeout ends the wait for an ack; the late ack is ignored', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected();
    const slow = client.publish('c.t', 1, { timeoutMs: 15 });
    const [sent] = socket.ops('pub');
    await assert.rejects(slow, { code: 'timeout' });
    socket.receive({ type: 'ack', id: sent.id, seq: 1 });
    const fast = client.publish('c.t', 2, {
      timeoutMs: 1000,
      signal: new AbortController().signal,
    });
    const [, second] = socket.ops('pub');
    socket.receive({ type: 'ack', id: second.id, seq: 2 });
    assert.equal(await fast, 2);
    assert.deepEqual(log.errors, []);
    client.close();
  });

  test('an aborted signal rejects at once and sends nothing', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    await assert.rejects(client.publish('c.t', 1, { signal: AbortSignal.abort() }), {
      code: 'aborted',
    });
    assert.deepEqual(socket.sent, []);
    client.close();
  });
});

describe('tokens', () => {
  test('a token function is asked before every connection', async () => {
    const server = new FakeServer();
    const tokens = ['t1', 't2'];
    const { client } = server.client({ token: async () => tokens.shift() });
    const opened = client.connect();
    const first = await server.opened(0);
    await opened;
    first.drop(1001);
    const second = await server.socket(1);
    assert.deepEqual([first.url, second.url], ['ws://fake/?token=t1', 'ws://fake/?token=t2']);
    client.close();
  });

  test('authenticate() sends auth, settles on the answer and keeps the token', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected({ token: 'old' });
    const refreshed = client.authenticate('new');
    const [auth] = socket.ops('auth');
    assert.equal(auth.token, 'new');
    socket.receive({ type: 'ack', id: auth.id });
    await refreshed;
    const refused = client.authenticate('bad');
    const [, second] = socket.ops('auth');
    socket.receive({ type: 'error', id: second.id, code: 'unauthorized', text: 'bad token' });
    await assert.rejects(refused, { code: 'unauthorized' });
    socket.drop(1006);
    assert.equal((await server.socket(1)).url, 'ws://fake/?token=bad');
    client.close();
    await assert.rejects(client.authenticate('x'), { code: 'not_connected' });
  });

  test('4003 with a token function: a new token reconnects, the same one closes', async () => {
    const server = new FakeServer();
    const tokens = ['old', 'new'];
    const { client, socket } = await server.connected({ token: () => tokens.shift() ?? 'new' });
    socket.drop(4003, 'token expired');
    const next = await server.socket(1);
    assert.equal(next.url, 'ws://fake/?token=new');
    next.open();
    next.drop(4001);
    await sleep(10);
    assert.equal(client.state, 'closed');
    assert.equal(server.sockets.length, 2);
  });
});
