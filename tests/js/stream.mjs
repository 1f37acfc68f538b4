// Test helper: a publisher that streams numbered messages to a few topics while the broker may
// restart, and the check that a subscriber saw each topic's sequences exactly once, in order.

import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';

/** A connected Node client of `urls` with a quick backoff, to publish the stream from. */
export async function connectPublisher(urls) {
  const publisher = new HeraldClient(urls, { WebSocket, backoffBaseMs: 20, backoffCapMs: 300 });
  await publisher.connect();
  return publisher;
}

/**
 * Publishes `count` messages {i} round-robin over `topics`, one at a time; calls `onAcked(n)`
 * after each ack. A publish cut off by a restart ('connection_lost') may or may not have been
 * published, so it is recorded as unknown and the stream goes on. Returns topic -> Map(seq, i).
 */
export async function publishStream(client, topics, count, onAcked = () => {}) {
  const acked = new Map(topics.map((t) => [t, new Map()]));
  for (let i = 0; i < count; ++i) {
    const topic = topics[i % topics.length];
    try {
      acked.get(topic).set(await client.publish(topic, { i }), i);
    } catch (error) {
      if (error.code !== 'connection_lost') throw error;
    }
    await onAcked(i + 1);
  }
  return acked;
}

/**
 * `received`: [{topic, seq, data}] in arrival order. Every topic's sequences must run 1..last
 * with no repeat and no hole, cover every acked message with the data it was published with.
 */
export function assertExactlyOnce(received, acked) {
  for (const [topic, seqs] of acked) {
    const mine = received.filter((m) => m.topic === topic);
    const last = Math.max(0, ...seqs.keys());
    assert.ok(mine.length >= seqs.size, `${topic}: ${mine.length} received, ${seqs.size} acked`);
    assert.deepEqual(
      mine.map((m) => m.seq),
      Array.from({ length: mine.length }, (_, k) => k + 1),
      `${topic}: sequences not 1..n exactly once`,
    );
    assert.ok(mine.length >= last, `${topic}: acked up to ${last}, received ${mine.length}`);
    for (const m of mine) {
      if (seqs.has(m.seq)) assert.equal(m.data.i, seqs.get(m.seq), `${topic} seq ${m.seq}`);
    }
  }
}

/** The number of messages in `acked` counting the unknown ones: each topic's last acked seq. */
export function ackedTotal(acked) {
  return [...acked.values()].reduce((sum, m) => sum + Math.max(0, ...m.keys()), 0);
}

/**
 * Publishes on each topic until `delivered(topic, seq)` resolves true (it waits a little): a
 * cluster node's Redis SUBSCRIBE may come into force after the subscription's ack (PROTOCOL.md
 * section 12), so a stream started at once could lose its first messages before the
 * subscriber's node listens. Returns topic -> the last warm-up seq the subscriber received.
 */
export async function warmUp(publisher, topics, delivered) {
  const warm = new Map();
  for (const topic of topics) {
    for (let attempt = 0; attempt < 50 && !warm.has(topic); ++attempt) {
      const seq = await publisher.publish(topic, { warm: attempt });
      if (await delivered(topic, seq)) warm.set(topic, seq);
    }
    assert.ok(warm.has(topic), `${topic}: the subscriber's node never delivered a warm-up`);
  }
  return warm;
}

/** assertExactlyOnce over the messages after each topic's warm-up, renumbered from 1. */
export function assertExactlyOnceAfter(warm, received, acked) {
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
}
