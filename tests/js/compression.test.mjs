// permessage-deflate (RFC 7692) with Node's ws and perMessageDeflate: true against the real
// broker: the extension is agreed, pub/sub of small and large JSON and binary messages arrives
// intact, and the broker's metrics count compressed deliveries. A second or two.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import { Broker, requireFlag } from './broker.mjs';

const skip = requireFlag('--compression', 'permessage-deflate');

function open(url, perMessageDeflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'herald.v1', { perMessageDeflate });
    const frames = [];
    let answer = '';
    ws.once('upgrade', (response) => (answer = response.headers['sec-websocket-extensions'] ?? ''));
    ws.on('message', (data, isBinary) => frames.push({ data, isBinary }));
    ws.once('open', () => resolve(Object.assign(ws, { frames, answer })));
    ws.once('error', reject);
  });
}

/** Resolves with the next `count` messages of `ws`, rejects after `timeoutMs`. */
function next(ws, count = 1, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      if (ws.frames.length >= count) return resolve(ws.frames.splice(0, count));
      if (Date.now() > deadline) return reject(new Error(`no ${count} messages in time`));
      setTimeout(poll, 2);
    };
    poll();
  });
}

async function metrics(broker) {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  const value = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };
  return {
    compressed: value('herald_deflate_deliveries_total{frame="compressed"}'),
    plain: value('herald_deflate_deliveries_total{frame="plain"}'),
    frames: value('herald_deflate_frames_total'),
    negotiated: value('herald_deflate_negotiated_total'),
  };
}

function tick(n, padding) {
  return { sym: 'AAPL', px: 180 + n / 100, qty: n, venue: 'XNAS', note: 'tick '.repeat(padding) };
}

describe('Node ws with perMessageDeflate', { skip }, () => {
  const broker = new Broker();
  before(() => broker.start());
  after(() => broker.stop().finally(() => broker.kill()));

  test('negotiates, and pub/sub of small and large messages arrives intact', async () => {
    const before = await metrics(broker);
    const sub = await open(broker.url, true);
    const pub = await open(broker.url, true);
    const plainSub = await open(broker.url, false);
    assert.equal(sub.extensions, 'permessage-deflate');
    assert.equal(
      sub.answer,
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    );
    assert.equal(plainSub.extensions, '');
    assert.equal(plainSub.answer, '');
    for (const ws of [sub, plainSub]) {
      ws.send(JSON.stringify({ op: 'sub', topic: 'z.node', id: 's' }));
      assert.deepEqual(JSON.parse((await next(ws))[0].data), { type: 'ack', id: 's' });
    }
    // JSON messages of about 100 B (under --compression-min-bytes), 200 B, 5 KB and 300 KB; then
    // binary (section 5 frames) of random and repetitive bytes. (All under the default
    // --max-queued-bytes of 1 MiB, which a larger message would pass: it would be dropped.)
    const json = [0, 20, 1000, 60000].map((padding, n) => tick(n, padding));
    for (const data of json) pub.send(JSON.stringify({ op: 'pub', topic: 'z.node', data }));
    const binaries = [randomBytes(10), randomBytes(100000), Buffer.alloc(500_000, 'herald ')];
    for (const payload of binaries) {
      const head = Buffer.from([1, 0, 6, ...Buffer.from('z.node')]);
      pub.send(Buffer.concat([head, payload]));
    }
    const total = json.length + binaries.length;
    for (const ws of [sub, plainSub]) {
      const got = await next(ws, total);
      json.forEach((data, i) => {
        assert.equal(got[i].isBinary, false);
        assert.deepEqual(JSON.parse(got[i].data), {
          type: 'msg',
          topic: 'z.node',
          seq: i + 1,
          data,
        });
      });
      binaries.forEach((payload, i) => {
        const frame = got[json.length + i];
        assert.equal(frame.isBinary, true);
        assert.equal(frame.data[0], 2); // a message (section 5)
        assert.equal(frame.data.subarray(2, 8).toString(), 'z.node');
        assert.equal(frame.data.readBigUInt64BE(8), BigInt(json.length + i + 1));
        assert.ok(frame.data.subarray(16).equals(payload), `binary message ${i}`);
      });
    }
    const after = await metrics(broker);
    assert.equal(after.negotiated - before.negotiated, 2);
    // Compressed: the three larger JSON messages and the repetitive binary; plain: the small JSON,
    // the small binary and the random 100 KB (deflate does not shrink it).
    assert.equal(after.compressed - before.compressed, 4);
    assert.equal(after.plain - before.plain, 3);
    assert.equal(after.frames - before.frames, 4);
    for (const ws of [sub, pub, plainSub]) ws.close();
  });

  test('compressed publishes are inflated by the broker', async () => {
    const sub = await open(broker.url, false);
    const pub = await open(broker.url, { threshold: 0 }); // ws compresses every message
    sub.send(JSON.stringify({ op: 'sub', topic: 'z.in', id: 1 }));
    await next(sub);
    const data = { text: 'κόσμε '.repeat(50000) };
    pub.send(JSON.stringify({ op: 'pub', topic: 'z.in', data, id: 2 }));
    assert.deepEqual(JSON.parse((await next(pub))[0].data), { type: 'ack', id: 2, seq: 1 });
    assert.deepEqual(JSON.parse((await next(sub))[0].data).data, data);
    sub.close();
    pub.close();
  });
});
