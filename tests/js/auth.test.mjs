// Authentication (PROTOCOL.md section 10) against the real broker: a token in the URL, its
// permissions, a refresh with `auth`, and 4001 without a token. Needs a broker with --auth.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { HeraldClient } from '../../clients/js/src/index.js';
import { Broker, requireFlag, waitFor } from './broker.mjs';

const skip = requireFlag('--auth', 'authentication, PROTOCOL.md section 10');
const kSecret = 'a test secret that is long enough for HS256';

const base64url = (value) => Buffer.from(value).toString('base64url');

function token(claims) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(
    JSON.stringify({ sub: 'js-test', exp: Math.floor(Date.now() / 1000) + 3600, ...claims }),
  );
  const signature = createHmac('sha256', kSecret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

describe('with --auth required', { skip }, () => {
  const dir = skip ? null : mkdtempSync(path.join(os.tmpdir(), 'herald-js-auth-'));
  const secretFile = skip ? null : path.join(dir, 'secret');
  const broker = new Broker([
    '--auth',
    'required',
    '--jwt-secret-file',
    secretFile,
    '--allow-missing-origin',
    'true',
    '--handshake-timeout-ms',
    '500',
  ]);
  before(() => {
    writeFileSync(secretFile, kSecret);
    return broker.start();
  });
  after(async () => {
    await broker.stop().finally(() => broker.kill());
    rmSync(dir, { recursive: true, force: true });
  });

  test('a token in the URL: its permissions apply, a refresh replaces them', async (t) => {
    const narrow = token({ sub_allow: ['auth.ok.>'], pub_allow: ['auth.ok.>'] });
    const client = new HeraldClient(broker.url, { WebSocket, token: narrow, reconnect: false });
    t.after(() => client.close());
    await client.connect();
    const got = [];
    await client.subscribe('auth.ok.>', (m) => got.push(m.data)).ready;
    assert.equal(await client.publish('auth.ok.x', 1), 1);
    await assert.rejects(client.publish('auth.no', 2), { code: 'forbidden' });
    await assert.rejects(client.subscribe('auth.no.>', () => {}).ready, { code: 'forbidden' });
    await client.authenticate(token({ sub_allow: ['auth.>'], pub_allow: ['auth.>'] }));
    assert.equal(await client.publish('auth.no', 3), 1);
    await assert.rejects(client.authenticate('not.a.token'), { code: 'unauthorized' });
    await waitFor(() => got.length === 1, 'the allowed message');
    assert.deepEqual(got, [1]);
    assert.equal(client.state, 'open');
  });

  test('no token: closed with 4001, and no reconnect', async (t) => {
    const client = new HeraldClient(broker.url, { WebSocket, backoffBaseMs: 20 });
    t.after(() => client.close());
    const events = [];
    client.on('close', (c) => events.push(c.code));
    client.on('reconnecting', () => events.push('reconnecting'));
    await client.connect();
    await waitFor(() => client.state === 'closed', 'the 4001 close', 5000);
    assert.deepEqual(events, [4001]);
  });

  test('a refused token, then a good one from the token function', async (t) => {
    const tokens = ['bad.token.value', token({ sub_allow: ['>'], pub_allow: ['>'] })];
    const client = new HeraldClient(broker.url, {
      WebSocket,
      backoffBaseMs: 20,
      token: () => tokens.shift() ?? 'exhausted',
    });
    t.after(() => client.close());
    await client.connect();
    assert.equal(await client.publish('any.topic', 1), 1);
    assert.deepEqual(tokens, []);
  });
});
