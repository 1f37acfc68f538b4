// Headless Chromium through a TLS-terminating proxy: two pages served from http://127.0.0.1 use
// the JavaScript client over wss://, one subscribes, the other publishes; prints what the
// subscriber received as one JSON line. Run by proxies.py (nginx_test, haproxy_test).
// Usage: node proxy_browser.mjs WSS_URL SPKI_SHA256_BASE64 COUNT
// Chromium trusts the proxy's certificate by its public key hash only (the test CA is not
// installed anywhere). Exits 0 with the JSON on stdout, 1 with one line on stderr otherwise.
import { startBrowser } from '../js/browser.mjs';

const [url, spki, countText] = process.argv.slice(2);
const count = Number(countText);
if (!url || !spki || !(count > 0)) {
  console.error('usage: node proxy_browser.mjs WSS_URL SPKI_SHA256_BASE64 COUNT');
  process.exit(2);
}
const fail = (why) => {
  console.error(`proxy_browser: ${why}`);
  process.exit(1);
};
setTimeout(() => fail('timed out after 60 s'), 60_000).unref();

let browser;
try {
  browser = await startBrowser({ args: [`--ignore-certificate-errors-spki-list=${spki}`] });
  const subscriber = await browser.page();
  const publisher = await browser.page();
  const topic = `browser.proxy.${process.pid}`;
  await subscriber.evaluate(
    async ({ url, topic }) => {
      window.received = [];
      const client = new window.herald.HeraldClient(url, { reconnect: false });
      await client.connect({ timeoutMs: 10_000 });
      await client.subscribe(topic, (m) => window.received.push({ seq: m.seq, data: m.data }))
        .ready;
    },
    { url, topic },
  );
  const acks = await publisher.evaluate(
    async ({ url, topic, count }) => {
      const client = new window.herald.HeraldClient(url, { reconnect: false });
      await client.connect({ timeoutMs: 10_000 });
      const seqs = [];
      for (let i = 0; i < count; ++i) seqs.push(await client.publish(topic, { i }));
      client.close();
      return seqs;
    },
    { url, topic, count },
  );
  await subscriber.waitForFunction((n) => window.received.length >= n, count);
  const received = await subscriber.evaluate(() => window.received);
  const errors = [...subscriber.errors, ...publisher.errors];
  console.log(JSON.stringify({ acks, received, errors }));
  await browser.close();
  process.exit(0);
} catch (error) {
  await browser?.close().catch(() => {});
  fail(String(error?.message ?? error));
}
