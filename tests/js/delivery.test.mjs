// Delivery against a scripted fake WebSocket: handler isolation, when positions move, resume
// positions after a reconnect, subscription states, and async iteration with its bounded
// buffer. No broker; the whole file runs in well under a second.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { HeraldClient } from '../../clients/js/src/index.js';
import { FakeServer, msg, sleep } from './fake_socket.mjs';

const recovery = (topic, epoch, next = 1) => ({
  type: 'recovery',
  topic,
  epoch,
  first: 1,
  from: next,
  next,
  complete: true,
});

describe('handler isolation', () => {
  test('a throwing handler is reported with topic and seq; the others still run', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected();
    const second = [];
    const third = [];
    client.subscribe('iso.t', (m) => {
      throw new Error(`boom ${m.seq}`);
    });
    client.subscribe('iso.*', (m) => second.push(m.seq));
    client.subscribe('iso.t', (m) => third.push(m.seq));
    socket.ackSubscribes();
    const acked = client.publish('iso.t', 1);
    const [publish] = socket.ops('pub');
    // The message and the ack after it arrive back to back: the ack must still be processed.
    socket.receive(msg('iso.t', 1, 'one'));
    socket.receive({ type: 'ack', id: publish.id, seq: 1 });
    socket.receive(msg('iso.t', 2, 'two'));
    assert.equal(await acked, 1);
    assert.deepEqual(second, [1, 2]);
    assert.deepEqual(third, [1, 2]);
    assert.deepEqual(
      log.errors.map((e) => [e.code, e.topic, e.seq, e.cause.message]),
      [
        ['handler_failed', 'iso.t', 1, 'boom 1'],
        ['handler_failed', 'iso.t', 2, 'boom 2'],
      ],
    );
    assert.equal(client.position('iso.t').seq, 2);
    client.close();
  });

  test('without an error listener the failure goes to console.error', async (t) => {
    const server = new FakeServer();
    const printed = t.mock.method(console, 'error', () => {});
    const client = new HeraldClient('ws://fake/', { WebSocket: server.WebSocket });
    const connecting = client.connect();
    const socket = await server.opened(0);
    await connecting;
    const got = [];
    client.subscribe('x', () => {
      throw new Error('bad handler');
    });
    client.subscribe('x', (m) => got.push(m.seq));
    socket.ackSubscribes();
    assert.doesNotThrow(() => socket.receive(msg('x', 1, null)));
    assert.deepEqual(got, [1]);
    assert.equal(printed.mock.callCount(), 1);
    assert.equal(printed.mock.calls[0].arguments[0].code, 'handler_failed');
    client.close();
  });

  test('the position moves only after every subscription had the message', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const seen = [];
    client.subscribe('p.t', (m) => seen.push(['first', m.seq, client.position('p.t')?.seq]));
    client.subscribe('p.>', (m) => seen.push(['second', m.seq, client.position('p.t')?.seq]));
    socket.ackSubscribes();
    socket.receive(msg('p.t', 1, null));
    socket.receive(msg('p.t', 2, null));
    assert.deepEqual(seen, [
      ['first', 1, undefined],
      ['second', 1, undefined],
      ['first', 2, 1],
      ['second', 2, 1],
    ]);
    assert.equal(client.position('p.t').seq, 2);
    client.close();
  });
});

describe('resume positions', () => {
  test('a topic resumes from the next sequence and epoch; repeats are dropped', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected();
    const got = [];
    client.subscribe('h.a', (m) => got.push(m.seq));
    socket.receive(recovery('h.a', 'e1'));
    socket.ackSubscribes();
    for (const seq of [1, 2, 3]) socket.receive(msg('h.a', seq, seq));
    socket.drop(1006);
    const next = await server.opened(1);
    const [sub] = next.ops('sub');
    assert.deepEqual({ ...sub, id: 0 }, { op: 'sub', topic: 'h.a', id: 0, from: 4, epoch: 'e1' });
    next.receive({ ...recovery('h.a', 'e1', 6), from: 4 });
    next.ackSubscribes();
    for (const seq of [3, 4, 5, 6]) next.receive(msg('h.a', seq, seq));
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(log.gaps, []);
    client.close();
  });

  test('a pattern resumes every topic it saw, by name', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    client.subscribe('h.*', () => {}, { policy: 'drop' });
    socket.receive(recovery('h.a', 'ea'));
    socket.receive(recovery('h.b', 'eb'));
    socket.ackSubscribes();
    socket.receive(msg('h.a', 1, null));
    socket.receive(msg('h.a', 2, null));
    socket.receive(msg('h.b', 1, null));
    socket.receive(msg('plain', 1, null)); // no subscription, no history: not resumed
    socket.drop(1001);
    const next = await server.opened(1);
    const [sub] = next.ops('sub');
    assert.deepEqual(sub.from, { 'h.a': 3, 'h.b': 2 });
    assert.deepEqual(sub.epoch, { 'h.a': 'ea', 'h.b': 'eb' });
    assert.equal(sub.policy, 'drop');
    client.close();
  });

  test('a replay request is sent once; after its ack, reconnects resume instead', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    client.subscribe('h.a', () => {}, { last: 10 });
    assert.equal(socket.ops('sub')[0].last, 10);
    socket.receive(recovery('h.a', 'e1', 8));
    socket.ackSubscribes();
    socket.receive(msg('h.a', 7, null));
    socket.drop(1006);
    const next = await server.opened(1);
    const [sub] = next.ops('sub');
    assert.equal(sub.last, undefined);
    assert.equal(sub.from, 8);
    client.close();
  });

  test('a refused resume (no_history) subscribes live and reports the possible gap', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected();
    client.subscribe('h.a', () => {});
    socket.receive(recovery('h.a', 'e1'));
    socket.ackSubscribes();
    socket.receive(msg('h.a', 1, null));
    socket.drop(1006);
    const next = await server.opened(1);
    const [resume] = next.ops('sub');
    next.receive({ type: 'error', id: resume.id, code: 'no_history', text: 'none' });
    const live = next.ops('sub')[1];
    assert.equal(live.from, undefined);
    assert.deepEqual(log.gaps, [
      { topic: 'h.a', from: 2, to: null, missed: null, reason: 'history' },
    ]);
    client.close();
  });
});

describe('subscription states', () => {
  test('subscribing, live, recovering, live, unsubscribed', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const subscription = client.subscribe('s.t', () => {});
    const states = [];
    subscription.on('state', ({ state, previous }) => states.push(`${previous}>${state}`));
    assert.equal(subscription.state, 'subscribing');
    socket.ackSubscribes();
    assert.deepEqual(await subscription.ready, { complete: true });
    socket.drop(1006);
    assert.equal(subscription.state, 'recovering');
    const next = await server.opened(1);
    assert.equal(subscription.state, 'recovering'); // until the resubscribe's ack
    next.ackSubscribes();
    const gone = subscription.unsubscribe();
    const [unsub] = next.ops('unsub');
    assert.equal(unsub.topic, 's.t');
    next.receive({ type: 'ack', id: unsub.id });
    await gone;
    assert.deepEqual(states, [
      'subscribing>live',
      'live>recovering',
      'recovering>live',
      'live>unsubscribed',
    ]);
    assert.equal(subscription.active, false);
    client.close();
  });

  test('unsubscribed while recovering: not resent; a pending unsub ends with it', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const kept = client.subscribe('k.t', () => {});
    const dropped = client.subscribe('d.t', () => {});
    const leaving = client.subscribe('l.t', () => {});
    socket.ackSubscribes();
    const pending = leaving.unsubscribe(); // its ack never comes: the connection drops first
    socket.drop(1006);
    await pending;
    assert.equal(dropped.state, 'recovering');
    await dropped.unsubscribe();
    assert.equal(dropped.state, 'unsubscribed');
    const next = await server.opened(1);
    assert.deepEqual(
      next.ops('sub').map((c) => c.topic),
      ['k.t'],
    );
    assert.deepEqual(next.ops('unsub'), []);
    assert.equal(kept.state, 'recovering');
    client.close();
  });

  test('joining a live pattern is live at once; a refused one is unsubscribed', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const first = client.subscribe('j.t', () => {});
    socket.ackSubscribes();
    await first.ready;
    const joined = client.subscribe('j.t', () => {});
    assert.equal(joined.state, 'live');
    assert.equal(socket.ops('sub').length, 1);
    const refused = client.subscribe('no.t', () => {});
    const [, sub] = socket.ops('sub');
    socket.receive({ type: 'error', id: sub.id, code: 'forbidden', text: 'no.t' });
    await assert.rejects(refused.ready, { code: 'forbidden' });
    assert.equal(refused.state, 'unsubscribed');
    client.close();
  });

  test('a signal unsubscribes; an aborted one before the ack rejects ready', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const controller = new AbortController();
    const subscription = client.subscribe('a.t', () => {}, { signal: controller.signal });
    controller.abort();
    await assert.rejects(subscription.ready, { code: 'aborted' });
    assert.equal(subscription.state, 'unsubscribed');
    assert.deepEqual(
      socket.ops('unsub').map((c) => c.topic),
      ['a.t'],
    );
    const never = client.subscribe('b.t', () => {}, { signal: AbortSignal.abort() });
    assert.equal(never.state, 'unsubscribed');
    client.close();
  });
});

describe('async iteration', () => {
  test('a loop gets every message in order; leaving it unsubscribes', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const subscription = client.subscribe('it.>');
    socket.ackSubscribes();
    for (const seq of [1, 2, 3]) socket.receive(msg('it.a', seq, { seq }));
    setTimeout(() => socket.receive(msg('it.b', 1, 'late')), 5);
    const got = [];
    for await (const m of subscription) {
      got.push([m.topic, m.seq, m.data]);
      if (got.length === 4) break;
    }
    assert.deepEqual(got, [
      ['it.a', 1, { seq: 1 }],
      ['it.a', 2, { seq: 2 }],
      ['it.a', 3, { seq: 3 }],
      ['it.b', 1, 'late'],
    ]);
    assert.equal(subscription.state, 'unsubscribed');
    assert.deepEqual(
      socket.ops('unsub').map((c) => c.topic),
      ['it.>'],
    );
    client.close();
  });

  test('a full buffer ends the loop with overflow after what it holds', async () => {
    const server = new FakeServer();
    const { client, log, socket } = await server.connected();
    const slow = client.subscribe('o.t', { bufferSize: 2 });
    const other = [];
    client.subscribe('o.t', (m) => other.push(m.seq));
    socket.ackSubscribes();
    for (const seq of [1, 2, 3, 4]) socket.receive(msg('o.t', seq, null));
    const got = [];
    await assert.rejects(
      (async () => {
        for await (const m of slow) got.push(m.seq);
      })(),
      (e) => e.code === 'overflow' && e.topic === 'o.t' && e.seq === 3,
    );
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(other, [1, 2, 3, 4]);
    assert.deepEqual(
      log.errors.map((e) => [e.code, e.seq]),
      [['overflow', 3]],
    );
    assert.equal(slow.state, 'unsubscribed');
    assert.equal(socket.ops('unsub').length, 0); // the handler still holds the wire subscription
    client.close();
  });

  test('close() ends a loop; a final close from the server makes it throw', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    const subscription = client.subscribe('c.t');
    socket.ackSubscribes();
    const loop = (async () => {
      const seen = [];
      for await (const m of subscription) seen.push(m.seq);
      return seen;
    })();
    socket.receive(msg('c.t', 1, null));
    await sleep(1);
    client.close();
    assert.deepEqual(await loop, [1]);

    const other = await server.connected();
    const failing = other.client.subscribe('c.t');
    other.socket.ackSubscribes();
    const pending = failing[Symbol.asyncIterator]().next();
    other.socket.drop(1008, 'slow consumer');
    await assert.rejects(pending, { code: 'closed' });
  });

  test('a subscription with a handler is not iterable; a signal ends a loop', async () => {
    const server = new FakeServer();
    const { client, socket } = await server.connected();
    assert.throws(() => client.subscribe('h.t', () => {})[Symbol.asyncIterator](), TypeError);
    const controller = new AbortController();
    const subscription = client.subscribe('s.t', { signal: controller.signal });
    socket.ackSubscribes();
    setTimeout(() => controller.abort(), 5);
    const seen = [];
    for await (const m of subscription) seen.push(m);
    assert.deepEqual(seen, []);
    assert.equal(subscription.state, 'unsubscribed');
    assert.throws(() => client.subscribe('s.t', { bufferSize: 0 }), { code: 'bad_request' });
    client.close();
  });
});
