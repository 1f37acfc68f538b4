// permessage-deflate in Node: the client's perMessageDeflate option reaches ws as is. Checked
// against a local ws server that records the offer; and against the real broker behind a
// byte-counting TCP relay: the messages arrive compressed.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { Broker, waitFor } from './broker.mjs';

// A ws class that remembers its last socket, to read the extensions it negotiated.
class Recording extends WebSocket {
  static last = null;
  constructor(...args) {
    super(...args);
    Recording.last = this;
  }
}

// A ws server on a free 127.0.0.1 port that accepts herald.v1 and records each handshake's
// Sec-WebSocket-Extensions.
async function recordingServer() {
  const offers = [];
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: true,
    handleProtocols: (protocols) => (protocols.has('herald.v1') ? 'herald.v1' : false),
  });
  server.on('headers', (_headers, request) => {
    offers.push(request.headers['sec-websocket-extensions'] ?? null);
  });
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, offers, url: `ws://127.0.0.1:${server.address().port}/` };
}

async function openAndClose(url, options) {
  const client = new HeraldClient(url, { WebSocket: Recording, reconnect: false, ...options });
  await client.connect({ timeoutMs: 5000 });
  const extensions = Recording.last.extensions;
  client.close();
  return extensions;
}

describe('the perMessageDeflate option', () => {
  let local;
  before(async () => {
    local = await recordingServer();
  });
  after(() => new Promise((resolve) => local.server.close(resolve)));

  test('true offers permessage-deflate and ws negotiates it', async () => {
    const extensions = await openAndClose(local.url, { perMessageDeflate: true });
    assert.match(local.offers.at(-1), /^permessage-deflate/);
    assert.match(extensions, /^permessage-deflate/);
  });

  test('false offers nothing', async () => {
    const extensions = await openAndClose(local.url, { perMessageDeflate: false });
    assert.equal(local.offers.at(-1), null);
    assert.equal(extensions, '');
  });

  test("an object is passed through: ws's own parameters appear in the offer", async () => {
    await openAndClose(local.url, {
      perMessageDeflate: { clientNoContextTakeover: true, serverMaxWindowBits: 10 },
    });
    assert.match(local.offers.at(-1), /client_no_context_takeover/);
    assert.match(local.offers.at(-1), /server_max_window_bits=10/);
  });

  test("unset leaves ws's default: the same offer as a bare ws socket", async () => {
    await openAndClose(local.url, {});
    const viaClient = local.offers.at(-1);
    const bare = new WebSocket(local.url, 'herald.v1');
    await new Promise((resolve, reject) => {
      bare.once('open', resolve);
      bare.once('error', reject);
    });
    bare.close();
    assert.equal(viaClient, local.offers.at(-1));
  });
});

// Relays 127.0.0.1:<port> to the broker and counts the bytes the broker sends back.
async function countingRelay(brokerPort) {
  const counts = { down: 0 };
  const sockets = new Set();
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: brokerPort });
    sockets.add(client).add(upstream);
    upstream.on('data', (chunk) => (counts.down += chunk.length));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const close = () => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => relay.close(resolve));
  };
  return { counts, close, url: `ws://127.0.0.1:${relay.address().port}/` };
}

describe('against the real broker', () => {
  const broker = new Broker();
  before(() => broker.start());
  after(async () => {
    await broker.stop().finally(() => broker.kill());
  });

  test('ticks arrive compressed: well under their size on the wire', async () => {
    const relay = await countingRelay(broker.port);
    const subscriber = new HeraldClient(relay.url, {
      WebSocket: Recording,
      reconnect: false,
      perMessageDeflate: true,
    });
    const publisher = new HeraldClient(broker.url, { WebSocket, reconnect: false });
    try {
      await subscriber.connect({ timeoutMs: 5000 });
      assert.match(Recording.last.extensions, /^permessage-deflate/);
      await publisher.connect({ timeoutMs: 5000 });
      const got = [];
      await subscriber.subscribe('deflate.ticks', (m) => got.push(m.data)).ready;
      const before = relay.counts.down;
      const ticks = [];
      for (let i = 0; i < 200; i++) {
        ticks.push({
          sym: ['AAPL', 'MSFT', 'NVDA'][i % 3],
          px: 187.23 + i / 100,
          bid: 187.22 + i / 100,
          ask: 187.24 + i / 100,
          vol: 1_000_000 + i * 137,
          venue: 'XNAS',
          note: 'a realistic tick repeats its field names and much of its values '.repeat(3),
        });
      }
      for (const tick of ticks) await publisher.publish('deflate.ticks', tick);
      await waitFor(() => got.length === ticks.length, 'every tick');
      assert.deepEqual(got, ticks);
      const payload = ticks.reduce((sum, tick) => sum + JSON.stringify(tick).length, 0);
      const wire = relay.counts.down - before;
      // Plain, the wire carries each tick plus its envelope and frame header: about 1.2 times
      // the ticks. Each message is compressed on its own (server_no_context_takeover), so the
      // envelope's field names and the numbers stay: about 0.6 here.
      assert.ok(wire < payload * 0.7, `${wire} bytes on the wire for ${payload} bytes of ticks`);
    } finally {
      subscriber.close();
      publisher.close();
      await relay.close();
    }
  });
});
