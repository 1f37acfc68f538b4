// The admin page (/admin, README "Admin page") in headless Chromium: served by the broker
// itself, it takes the admin token, subscribes to $sys.stats and $sys.topics with the project's
// client, and its numbers move as load runs (read from the DOM). A wrong token is refused.
// The screenshot goes to HERALD_ADMIN_SCREENSHOT (deploy/admin-page.png is made that way).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { suiteBrowser } from './browser.mjs';
import { Broker, sleep, suiteBroker } from './broker.mjs';

// Base64 like `head -c 32 /dev/urandom | base64`: the client's URL encodes '+', '/' and '='.
const kToken = 'admin+page/test3b8f1c2d9e7a=';

describe('the admin page in Chromium', () => {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'herald-admin-page-'));
  const tokenFile = path.join(directory, 'admin.token');
  writeFileSync(tokenFile, `${kToken}\n`);
  const broker = suiteBroker(new Broker(['--admin-token-file', tokenFile]));
  const browser = suiteBrowser();
  after(() => rmSync(directory, { recursive: true, force: true }));

  async function openPage() {
    const page = await browser.context.newPage();
    page.errors = [];
    page.on('pageerror', (error) => page.errors.push(String(error)));
    await page.goto(`${broker.httpUrl}/admin`);
    return page;
  }

  const number = (page, id) =>
    page.$eval(`#${id}`, (node) => {
      const text = node.textContent.trim();
      const scale = text.endsWith('k') ? 1e3 : text.endsWith('M') ? 1e6 : 1;
      return text === '–' ? -1 : Number.parseFloat(text) * scale;
    });

  test('a wrong token is refused and the form stays', async () => {
    const page = await openPage();
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error').textContent !== '');
    assert.match(await page.textContent('#login-error'), /forbidden|not allowed|admin/);
    assert.equal(await page.isVisible('#dashboard'), false);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('the numbers move as load runs (screenshot saved)', async () => {
    const page = await openPage();
    await page.fill('#token', kToken);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => !document.getElementById('dashboard').hidden);
    assert.equal(await page.isVisible('#login'), false);
    await page.waitForFunction(() => document.getElementById('connections').textContent !== '–');
    const idle = await number(page, 'publishes');

    const clients = [];
    const subscriber = new HeraldClient(broker.url, { WebSocket });
    const publisher = new HeraldClient(broker.url, { WebSocket });
    clients.push(subscriber, publisher);
    try {
      await subscriber.connect();
      await publisher.connect();
      await subscriber.subscribe('load.>', () => {}).ready;
      let busiest = '';
      let publishes = 0;
      let deliveries = 0;
      // Bounded: up to 15 rounds of load of about 200 ms, until the page shows it.
      for (let round = 0; round < 15; ++round) {
        const sends = [];
        for (let i = 0; i < 100; ++i) {
          sends.push(publisher.publish(`load.${i % 4 === 0 ? 'quotes' : 'trades'}`, { i }));
        }
        await Promise.all(sends);
        await sleep(200);
        publishes = await number(page, 'publishes');
        deliveries = await number(page, 'deliveries');
        busiest = await page.$$eval('#busiest td:first-child', (cells) =>
          cells.map((cell) => cell.textContent).join(' '),
        );
        if (publishes > 50 && deliveries > 50 && busiest.includes('load.quotes')) break;
      }
      assert.ok(publishes > idle && publishes > 50, `publishes/s ${idle} -> ${publishes}`);
      assert.ok(deliveries > 50, `deliveries/s ${deliveries}`);
      assert.match(busiest, /load\.trades.*load\.quotes/, 'busiest first');
      assert.ok((await number(page, 'connections')) >= 3);
      assert.ok((await number(page, 'subscriptions')) >= 3);
      assert.equal(await page.textContent('#redis'), 'not configured');
      assert.equal(await page.$$eval('#workers .bar', (bars) => bars.length), 2);
      const line = await page.$eval('#publishes-line path', (p) => p.getAttribute('d'));
      assert.match(line, /^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+$/, 'a sparkline with points');
      const file =
        process.env.HERALD_ADMIN_SCREENSHOT ?? path.join(os.tmpdir(), 'herald-admin-page.png');
      // For the README's picture, some more seconds of uneven load fill the sparklines.
      const extraSeconds = process.env.HERALD_ADMIN_SCREENSHOT ? 20 : 0;
      for (let second = 0; second < extraSeconds; ++second) {
        const burst = 100 + 80 * Math.round(Math.sin(second / 3) + 1);
        const sends = [];
        for (let i = 0; i < burst; ++i) sends.push(publisher.publish(`load.s${i % 7}`, { i }));
        await Promise.all(sends);
        await sleep(1000);
      }
      await page.screenshot({ path: file, fullPage: true });
      assert.ok(statSync(file).size > 10_000, `screenshot ${file}`);
      console.log(`admin page screenshot: ${file}`);
      assert.deepEqual(page.errors, []);
      // A reload keeps the token (sessionStorage) and goes live without the form.
      await page.reload();
      await page.waitForFunction(() => !document.getElementById('dashboard').hidden);
      assert.equal(await page.isVisible('#login'), false);
    } finally {
      for (const client of clients) client.close();
      await page.close();
    }
  });
});
