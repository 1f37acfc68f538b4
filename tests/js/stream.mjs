// Test helper: a publisher that streams numbered messages to a few topics while the broker may
// restart, and the check that a subscriber saw each topic's sequences exactly once, in order.

import assert from 'node:assert/strict';

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
