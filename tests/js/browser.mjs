// Test helper: headless Chromium from Debian's package, driven by playwright-core, with pages
// served from an http://127.0.0.1 origin (Chromium blocks file: and about:blank from reaching
// loopback, and the check stays on).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

import { startStaticServer } from '../../clients/js/demo/static_server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const kChromium = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/**
 * Starts Chromium with its own empty profile and the static server; returns the handles.
 * `args` are extra Chromium command-line switches.
 */
export async function startBrowser({ args = [] } = {}) {
  if (!existsSync(kChromium))
    throw new Error(`no Chromium at ${kChromium}: apt-get install chromium`);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: kChromium,
    headless: true,
    args: ['--no-sandbox', ...args],
    timeout: 30_000,
    viewport: { width: 1100, height: 640 },
  });
  context.setDefaultTimeout(10_000);
  const { server, origin } = await startStaticServer({
    '/': path.resolve(here, '../../clients/js'),
    '/test/': path.resolve(here, 'pages'),
  });
  return {
    context,
    origin,
    /** A new page with the client loaded as window.herald, its console errors collected. */
    async page() {
      const page = await context.newPage();
      page.errors = [];
      page.on('pageerror', (error) => page.errors.push(String(error)));
      await page.goto(`${origin}/test/`);
      await page.waitForFunction(() => document.title === 'ready');
      return page;
    },
    async close() {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Inside a describe(): the browser of startBrowser(), started before the suite's tests (after
 * the hooks registered earlier, such as a broker's) and closed after them. The handle is
 * filled in by the `before` hook, so use it only inside tests.
 */
export function suiteBrowser(options) {
  const browser = {};
  before(async () => Object.assign(browser, await startBrowser(options)));
  after(() => browser.close?.());
  return browser;
}

/**
 * In `page`, a client of `urls` (quick backoff) as window.client, subscribed to each of
 * `topics` exactly; what it receives, its gaps and its states are collected on window.
 */
export function subscribePage(page, urls, topics) {
  return page.evaluate(
    async ({ urls, topics }) => {
      const client = new window.herald.HeraldClient(urls, {
        backoffBaseMs: 20,
        backoffCapMs: 300,
      });
      window.client = client;
      window.received = [];
      window.gaps = [];
      window.states = [];
      client.on('gap', (g) => window.gaps.push(g));
      client.on('state', ({ state }) => window.states.push(state));
      await client.connect();
      for (const topic of topics) {
        await client.subscribe(topic, (m) =>
          window.received.push({ topic: m.topic, seq: m.seq, data: m.data }),
        ).ready;
      }
    },
    { urls, topics },
  );
}

/** What subscribePage collected so far, and the client's URL. */
export function pageResults(page) {
  return page.evaluate(() => ({
    received: window.received,
    gaps: window.gaps,
    states: window.states,
    url: window.client.url,
  }));
}
