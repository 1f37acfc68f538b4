// permessage-deflate (RFC 7692) in real headless Chromium, which offers it by itself: a page
// served from http://127.0.0.1 opens a native WebSocket, subscribes, and receives large
// compressible messages published over HTTP; the broker's metrics show compressed deliveries.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { suiteBrowser } from './browser.mjs';
import { Broker, requireFlag, suiteBroker } from './broker.mjs';

const skip = requireFlag('--compression', 'permessage-deflate');

async function metric(broker, series) {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

async function publish(broker, topic, body, contentType) {
  const response = await fetch(`${broker.httpUrl}/publish?topic=${topic}`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body,
  });
  assert.equal(response.status, 200, await response.text());
}

describe('Chromium and permessage-deflate', { skip }, () => {
  const broker = suiteBroker(new Broker());
  const browser = suiteBrowser();

  test('a native WebSocket negotiates deflate and receives large messages intact', async () => {
    const compressed = 'herald_deflate_deliveries_total{frame="compressed"}';
    const before = await metric(broker, compressed);
    const page = await browser.page();
    const extensions = await page.evaluate(
      (url) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(url, 'herald.v1');
          socket.binaryType = 'arraybuffer';
          window.received = [];
          socket.onmessage = (event) =>
            window.received.push(
              typeof event.data === 'string' ? event.data : Array.from(new Uint8Array(event.data)),
            );
          socket.onerror = () => reject(new Error('WebSocket error'));
          socket.onopen = () => {
            socket.send(JSON.stringify({ op: 'sub', topic: 'z.page', id: 's' }));
            window.socket = socket;
            resolve(socket.extensions);
          };
        }),
      broker.url,
    );
    assert.equal(
      extensions,
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    );
    await page.waitForFunction(() => window.received.length === 1);
    assert.deepEqual(JSON.parse(await page.evaluate(() => window.received[0])), {
      type: 'ack',
      id: 's',
    });

    const rows = Array.from({ length: 20000 }, (_, n) => ({ n, sym: 'MSFT', px: 410 + n / 100 }));
    const json = JSON.stringify({ rows, note: 'κόσμε ✓' });
    await publish(broker, 'z.page', json, 'application/json');
    const binary = Buffer.alloc(300000, 'abcdefgh');
    binary.writeUInt32BE(0xdeadbeef, 1000);
    await publish(broker, 'z.page', binary, 'application/octet-stream');

    await page.waitForFunction(() => window.received.length === 3);
    const text = await page.evaluate(() => window.received[1]);
    assert.equal(text, `{"type":"msg","topic":"z.page","seq":1,"data":${json}}`);
    const bytes = Buffer.from(await page.evaluate(() => window.received[2]));
    assert.equal(bytes[0], 2);
    assert.equal(bytes.subarray(2, 8).toString(), 'z.page');
    assert.equal(bytes.readBigUInt64BE(8), 2n);
    assert.ok(bytes.subarray(16).equals(binary), 'the binary message, byte for byte');
    assert.deepEqual(page.errors, []);
    assert.equal((await metric(broker, compressed)) - before, 2);
    await page.evaluate(() => window.socket.close());
    await page.close();
  });
});
