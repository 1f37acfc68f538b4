// The client against the real broker on a loopback port: subscribe and wildcard routing,
// publish acks and errors, JSON and binary payloads, and the close-code policy on 1009.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient, HeraldError } from '../../clients/js/src/index.js';
import { Broker, heraldHasFlag, waitFor } from './broker.mjs';

async function connected(broker, options = {}) {
  const client = new HeraldClient(broker.url, { WebSocket, reconnect: false, ...options });
  await client.connect();
  return client;
}

describe('against one broker', () => {
  const broker = new Broker();
  const clients = [];
  const open = async (options) => {
    const client = await connected(broker, options);
    clients.push(client);
    return client;
  };
  before(() => broker.start());
  after(async () => {
    for (const client of clients) client.close();
    await broker.stop().finally(() => broker.kill());
  });

  test('JSON values round-trip, acks carry the topic sequence', async () => {
    const client = await open();
    const got = [];
    await client.subscribe('json.t', (m) => got.push(m)).ready;
    const values = [{ bid: 189.3, ask: 189.4 }, 'héllo "q"\n', -1.5e10, null, [1, [2]], true];
    const seqs = [];
    for (const value of values) seqs.push(await client.publish('json.t', value));
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
    await waitFor(() => got.length === values.length, 'all JSON messages');
    assert.deepEqual(
      got.map((m) => m.data),
      values,
    );
    assert.deepEqual(
      got.map((m) => m.seq),
      seqs,
    );
    assert.ok(got.every((m) => m.topic === 'json.t' && m.binary === false));
  });

  test('wildcards route each message to every matching handler, once each', async () => {
    const client = await open();
    const seen = { star: [], tail: [], exact: [], other: [] };
    const star = client.subscribe('w.*', (m) => seen.star.push(m.topic));
    client.subscribe('w.>', (m) => seen.tail.push(m.topic));
    client.subscribe('w.a', (m) => seen.exact.push(m.topic));
    client.subscribe('x.*', (m) => seen.other.push(m.topic));
    await star.ready;
    await client.publish('w.a', 1);
    await client.publish('w.b.c', 2);
    await client.publish('w.b', 3);
    await waitFor(() => seen.star.length === 2, 'w.* deliveries');
    await star.unsubscribe();
    await client.publish('w.a', 4);
    await waitFor(() => seen.exact.length === 2, 'the last w.a');
    assert.deepEqual(seen.star, ['w.a', 'w.b']);
    assert.deepEqual(seen.tail, ['w.a', 'w.b.c', 'w.b', 'w.a']);
    assert.deepEqual(seen.exact, ['w.a', 'w.a']);
    assert.deepEqual(seen.other, []);
  });

  test('two handlers on one pattern share its wire subscription until the last goes', async () => {
    const client = await open();
    const probe = await open();
    const first = [];
    const second = [];
    const a = client.subscribe('twice.t', (m) => first.push(m.data));
    const b = client.subscribe('twice.t', (m) => second.push(m.data));
    await Promise.all([a.ready, b.ready]);
    await probe.publish('twice.t', 1);
    await waitFor(() => second.length === 1, 'the first message');
    await a.unsubscribe();
    await probe.publish('twice.t', 2);
    await waitFor(() => second.length === 2, 'the second message, still subscribed');
    await b.unsubscribe();
    // A wider pattern now takes the topic: its handler gets 3, the removed ones get nothing
    // (both would be called for the same frame, so nothing can arrive later).
    const wide = [];
    await client.subscribe('twice.*', (m) => wide.push(m.data)).ready;
    await probe.publish('twice.t', 3);
    await waitFor(() => wide.length === 1, 'the message after unsubscribing');
    assert.deepEqual(wide, [3]);
    assert.deepEqual(first, [1]);
    assert.deepEqual(second, [1, 2]);
  });

  test('binary payloads: ArrayBuffer, typed arrays and views, empty', async () => {
    const client = await open();
    const got = [];
    await client.subscribe('bin.>', (m) => got.push(m)).ready;
    const backing = new Uint8Array([9, 9, 0, 255, 1, 128, 9]);
    const payloads = [
      new Uint8Array([0, 1, 2, 254, 255]).buffer,
      backing.subarray(2, 6),
      new Float64Array([Math.PI, -0]),
      new DataView(backing.buffer, 1, 3),
      new Uint8Array(0),
      new Uint8Array(70_000).map((_, i) => i * 7),
    ];
    for (const payload of payloads) await client.publish('bin.x', payload);
    await waitFor(() => got.length === payloads.length, 'all binary messages');
    for (const [i, payload] of payloads.entries()) {
      const bytes = ArrayBuffer.isView(payload)
        ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)
        : new Uint8Array(payload);
      assert.equal(got[i].binary, true);
      assert.ok(got[i].data instanceof Uint8Array);
      assert.deepEqual([...got[i].data], [...bytes], `payload ${i}`);
    }
  });

  test('messages cross clients in order; echo false skips the publisher', async () => {
    const publisher = await open();
    const subscriber = await open();
    const own = [];
    const got = [];
    await publisher.subscribe('order.t', (m) => own.push(m.seq)).ready;
    await subscriber.subscribe('order.t', (m) => got.push(m)).ready;
    const acks = await Promise.all(
      Array.from({ length: 300 }, (_, i) => publisher.publish('order.t', { i }, { echo: false })),
    );
    await waitFor(() => got.length === 300, '300 messages');
    assert.deepEqual(
      acks,
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      got.map((m) => m.data.i),
      [...Array(300).keys()],
    );
    assert.deepEqual(
      got.map((m) => m.seq),
      acks,
    );
    assert.deepEqual(own, []);
  });

  test('bad topics are refused by the client before any send', async () => {
    const client = await open();
    await assert.rejects(client.publish('a.*', 1), { code: 'bad_topic' });
    await assert.rejects(client.publish('a..b', 1), { code: 'bad_topic' });
    assert.throws(() => client.subscribe('a.>.b', () => {}), { code: 'bad_topic' });
    assert.throws(() => client.subscribe('a', () => {}, { policy: 'fast' }), {
      code: 'bad_request',
    });
    assert.throws(() => client.subscribe('a', () => {}, { last: 1, snapshot: true }), {
      code: 'bad_request',
    });
    await assert.rejects(client.publish('a', undefined), { code: 'bad_request' });
    assert.equal(client.state, 'open');
  });

  test('replay options reach the server, which refuses them without history', async () => {
    // A broker without history support (no --history flag) refuses the field itself.
    const expected = heraldHasFlag('--history') ? 'no_history' : 'bad_request';
    const client = await open();
    const subscription = client.subscribe('plain.t', () => {}, { last: 5 });
    await assert.rejects(
      subscription.ready,
      (e) => e instanceof HeraldError && e.code === expected,
    );
    assert.equal(subscription.active, false);
  });
});

describe('server errors', () => {
  const broker = new Broker(['--max-topics', '1', '--max-subscriptions', '1']);
  before(() => broker.start());
  after(() => broker.stop().finally(() => broker.kill()));

  test('publish and subscribe reject with the server error; the connection stays', async () => {
    const client = await connected(broker);
    const errors = [];
    client.on('error', (e) => errors.push(e.code));
    assert.equal(await client.publish('only.one', 1), 1);
    await assert.rejects(
      client.publish('another', 1),
      (e) => e instanceof HeraldError && e.code === 'too_many_topics',
    );
    await client.subscribe('s.a', () => {}).ready;
    const second = client.subscribe('s.b', () => {});
    await assert.rejects(second.ready, { code: 'too_many_subscriptions' });
    assert.equal(second.active, false);
    assert.equal(await client.publish('only.one', 2), 2);
    assert.equal(client.state, 'open');
    assert.deepEqual(errors, ['too_many_subscriptions']);
    client.close();
  });
});

describe('close codes', () => {
  const broker = new Broker(['--max-message-bytes', '1024']);
  before(() => broker.start());
  after(() => broker.stop().finally(() => broker.kill()));

  test('1009 (message too big) closes for good: no reconnect', async () => {
    const client = await connected(broker, { reconnect: true, backoffBaseMs: 10 });
    const events = [];
    client.on('reconnecting', () => events.push('reconnecting'));
    client.on('close', (c) => events.push(c.code));
    const big = client.publish('big', 'x'.repeat(4000));
    await assert.rejects(big, { code: 'connection_lost' });
    await waitFor(() => client.state === 'closed', 'state closed');
    assert.deepEqual(events, [1009]);
    await assert.rejects(client.publish('small', 1), { code: 'closed' });
  });
});
