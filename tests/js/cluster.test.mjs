// The JavaScript client across Herald nodes sharing one Redis (issue 13, PROTOCOL.md section
// 12): a subscriber given every node's URL loses its node to kill -9 mid-stream, moves to
// another node by itself and resumes from its position (from + epoch, served from the topic's
// Redis stream): every acknowledged message exactly once, in order, no gap. Then the time for
// all the clients of a killed node to be resumed on the others: HERALD_CLUSTER_CLIENTS of them
// (default 20 for CI; HERALD_CLUSTER_CLIENTS=1000 for the measurement).
// Exits 77 (skipped) without redis-server or a herald built with --redis.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { requireFlag, waitFor } from './broker.mjs';
import { requireRedis, suiteCluster } from './redis.mjs';
import { ackedTotal, assertExactlyOnceAfter, publishStream, warmUp } from './stream.mjs';

const skip = requireFlag('--redis', 'the Redis cluster, PROTOCOL.md section 12') || requireRedis();
const kBackoff = { backoffBaseMs: 20, backoffCapMs: 300 };
const kRule = 'cl.>=redis,count=100000';
const kClients = Number(process.env.HERALD_CLUSTER_CLIENTS ?? 20);

function client(t, urls, options = kBackoff) {
  const c = new HeraldClient(urls, { WebSocket, ...options });
  t.after(() => c.close());
  return c;
}

/** Whether `received` gets `topic`'s message `seq` within a short wait (for warmUp). */
function deliveredTo(received) {
  return (topic, seq) =>
    waitFor(() => received.some((m) => m.topic === topic && m.seq === seq), 'warm', 300).then(
      () => true,
      () => false,
    );
}

describe('a node killed with kill -9', { skip }, () => {
  // B and C stay up through the file; every test starts its own A and kills it.
  const cluster = suiteCluster(kRule, 2);

  // Subscribed to each topic exactly, or by one pattern; the publisher on B (which stays up)
  // or on A itself (its publishes cut off by the kill may or may not exist). The subscriber
  // lists A, B, C, or A, C, B: it moves to the publisher's node or to one that has not seen
  // the topics before. `watched`: another client on the node it moves to follows the pattern.
  const scenarios = [];
  for (const publisherOnA of [false, true])
    for (const toC of [false, true]) scenarios.push({ exact: true, publisherOnA, toC });
  for (const watched of [false, true]) {
    scenarios.push({ exact: false, publisherOnA: false, toC: false, watched });
    scenarios.push({ exact: false, publisherOnA: true, toC: true, watched });
  }
  for (const { exact, publisherOnA, toC, watched = false } of scenarios) {
    const how =
      `${exact ? 'exact topics' : 'a pattern'}, publisher on ${publisherOnA ? 'A' : 'B'}, ` +
      `subscriber moves to ${toC ? 'C' : 'B'}${watched ? ' (watched there)' : ''}`;
    const name = `kill -9 of the subscriber's node mid-stream, ${how}: every acked message once`;
    test(name, async (t) => {
      const nodeA = await cluster.startNode();
      const [nodeB, nodeC] = cluster.nodes;
      const prefix =
        `cl.${exact ? 'x' : 'p'}${publisherOnA ? 'a' : 'b'}${toC ? 'c' : 'b'}` +
        `${watched ? 'w' : ''}`;
      const topics = ['a', 'b', 'c'].map((name) => `${prefix}.${name}`);
      const subscriberUrls = toC
        ? [nodeA.url, nodeC.url, nodeB.url]
        : [nodeA.url, nodeB.url, nodeC.url];
      const subscriber = client(t, subscriberUrls);
      const publisher = client(t, publisherOnA ? [nodeA.url, nodeB.url] : [nodeB.url]);
      await subscriber.connect();
      await publisher.connect();
      const received = [];
      const gaps = [];
      const urls = [];
      subscriber.on('gap', (g) => gaps.push(g));
      subscriber.on('open', () => urls.push(subscriber.url));
      for (const pattern of exact ? topics : [`${prefix}.*`]) {
        assert.deepEqual(await subscriber.subscribe(pattern, (m) => received.push(m)).ready, {
          complete: true,
        });
      }
      if (watched) {
        const watcher = client(t, [toC ? nodeC.url : nodeB.url]);
        await watcher.connect();
        const seen = [];
        await watcher.subscribe(`${prefix}.*`, (m) => seen.push(m)).ready;
        await warmUp(publisher, topics, deliveredTo(seen)); // the watcher's node has delivered each
      }
      const warm = await warmUp(publisher, topics, deliveredTo(received));
      let killed = false;
      const acked = await publishStream(publisher, topics, 450, async (n) => {
        if (n === 150) {
          await nodeA.killHard();
          killed = true;
        }
      });
      assert.ok(killed);
      const total = ackedTotal(acked);
      const warmed = [...warm.values()].reduce((sum, seq) => sum + seq, 0);
      const fresh = () => received.filter((m) => m.seq > warm.get(m.topic)).length;
      try {
        // A gap fails the test below: no need to wait the whole time for what cannot come.
        await waitFor(
          () => fresh() >= total - warmed || gaps.length > 0,
          `${total - warmed} messages`,
          15_000,
        );
      } catch (error) {
        const seqs = Object.fromEntries(
          topics.map((tp) => [tp, received.filter((m) => m.topic === tp).map((m) => m.seq)]),
        );
        throw new Error(
          `${error.message}; warm ${JSON.stringify([...warm])}; ` +
            `gaps ${JSON.stringify(gaps)}; received ${JSON.stringify(seqs)}`,
        );
      }
      assertExactlyOnceAfter(warm, received, acked);
      assert.deepEqual(gaps, []);
      assert.equal(subscriber.url, toC ? nodeC.url : nodeB.url, `reopened on ${urls}`);
      subscriber.close();
      publisher.close();
    });
  }

  // The recovery figure: from the kill until every subscription of every client of
  // the killed node is live again on the others (the clients' default backoff, half listing B
  // next and half C). Printed, not asserted on; then one message per topic must reach them all.
  test(`${kClients} clients of a killed node are resumed on the others`, async (t) => {
    const nodeA = await cluster.startNode();
    const [nodeB, nodeC] = cluster.nodes;
    const topics = Array.from({ length: 10 }, (_, k) => `cl.load.${k}`);
    const clients = [];
    const received = Array.from({ length: kClients }, () => []);
    let liveAgain = 0;
    let lastLive = 0;
    for (let k = 0; k < kClients; ++k) {
      const urls = k % 2 ? [nodeA.url, nodeC.url, nodeB.url] : [nodeA.url, nodeB.url, nodeC.url];
      const c = client(t, urls, {});
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.connect()));
    const subscriptions = clients.map((c, k) =>
      c.subscribe(topics[k % topics.length], (m) => received[k].push(m)),
    );
    await Promise.all(subscriptions.map((s) => s.ready));
    const publisher = client(t, [nodeB.url]);
    await publisher.connect();
    for (const topic of topics) await publisher.publish(topic, { before: true });
    await waitFor(() => received.every((r) => r.length === 1), 'one message each', 20_000);
    for (const s of subscriptions) {
      s.on('state', ({ state, previous }) => {
        if (state === 'live' && previous === 'recovering') {
          liveAgain += 1;
          lastLive = performance.now();
        }
      });
    }
    const killedAt = performance.now();
    await nodeA.killHard();
    await waitFor(() => liveAgain === kClients, `${kClients} subscriptions live again`, 60_000);
    const ms = lastLive - killedAt;
    console.log(
      `cluster recovery: ${kClients} clients of a killed node resumed on the others ` +
        `in ${ms.toFixed(0)} ms (from SIGKILL to the last subscription live again)`,
    );
    for (const topic of topics) await publisher.publish(topic, { after: true });
    await waitFor(() => received.every((r) => r.length === 2), 'one more message each', 20_000);
    for (const r of received)
      assert.deepEqual(
        r.map((m) => m.seq),
        [1, 2],
      );
    for (const c of clients) c.close();
    publisher.close();
  });
});
