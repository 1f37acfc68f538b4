// Throughput of the JavaScript client in Node against the real broker: one client publishes
// COUNT messages with up to WINDOW unacknowledged, another receives them; the time runs from
// the first publish to the last delivery. Prints the median of RUNS runs. The broker's
// per-connection queue is raised to 256 MiB so that a subscriber slower than the publisher is
// measured rather than dropped (any drop is reported, and the run fails).
//   node tests/js/bench.mjs --herald build/release/broker/herald [count window runs]

import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { Broker, waitFor } from './broker.mjs';

const args = process.argv
  .slice(2)
  .filter((a, i, all) => a !== '--herald' && all[i - 1] !== '--herald');
const [count = 50_000, window = 1000, runs = 5] = args.map(Number);

async function run(broker, topic, payload) {
  const publisher = new HeraldClient(broker.url, { WebSocket, reconnect: false });
  const subscriber = new HeraldClient(broker.url, { WebSocket, reconnect: false });
  await Promise.all([publisher.connect(), subscriber.connect()]);
  let received = 0;
  subscriber.on('gap', (g) => {
    throw new Error(`dropped ${g.missed} messages on ${g.topic}`);
  });
  await subscriber.subscribe(topic, () => ++received).ready;
  const start = performance.now();
  const inFlight = new Set();
  for (let i = 0; i < count; ++i) {
    const ack = publisher.publish(topic, payload(i));
    inFlight.add(ack);
    ack.finally(() => inFlight.delete(ack));
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await waitFor(() => received === count, `${count} deliveries`, 60_000);
  const seconds = (performance.now() - start) / 1000;
  publisher.close();
  subscriber.close();
  return count / seconds;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const broker = await new Broker(['--max-queued-bytes', String(256 << 20)]).start();
try {
  const kib = new Uint8Array(1024).fill(7);
  const cases = {
    'JSON {"i":n,"p":price}': (i) => ({ i, p: 189.25 + i / 100 }),
    'binary 1 KiB': () => kib,
  };
  for (const [name, payload] of Object.entries(cases)) {
    const rates = [];
    for (let r = 0; r < runs; ++r)
      rates.push(await run(broker, `bench.${r}.${name.length}`, payload));
    console.log(
      `${name}: median ${Math.round(median(rates))} msg/s over ${runs} runs ` +
        `(${rates.map((x) => Math.round(x)).join(', ')}); ${count} messages, window ${window}`,
    );
  }
} finally {
  await broker.stop().finally(() => broker.kill());
}
