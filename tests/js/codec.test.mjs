// The client's codec against the golden vectors the C++ tests share (tests/golden), plus the
// pure parts of the client: topic rules and matching, positions and gaps, backoff.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { codec, isValidPattern, isValidTopic, matches } from '../../clients/js/src/index.js';
import { backoffDelay } from '../../clients/js/src/backoff.js';
import { Positions } from '../../clients/js/src/positions.js';

const golden = (name) =>
  JSON.parse(readFileSync(new URL(`../golden/${name}`, import.meta.url), 'utf8'));
const vectors = [...golden('pubsub_v1.json'), ...golden('pubsub_v1_history_auth.json')];
const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
const toHex = (bytes) => Buffer.from(bytes).toString('hex');
const idOf = (expect) => (expect.id_json === undefined ? undefined : JSON.parse(expect.id_json));

function encodeCommand(v) {
  const e = v.expect;
  if (v.frame === 'binary') {
    return toHex(codec.encodeBinaryPublish(e.topic, fromHex(e.data_hex), idOf(e), e.echo ?? true));
  }
  if (e.op === 'sub') {
    const options = { policy: e.policy };
    for (const name of ['from', 'epoch', 'last', 'since', 'snapshot']) {
      if (e[`${name}_json`] !== undefined) options[name] = JSON.parse(e[`${name}_json`]);
    }
    return codec.encodeSubscribe(e.topic, idOf(e), options);
  }
  if (e.op === 'unsub') return codec.encodeUnsubscribe(e.topic, idOf(e));
  if (e.op === 'auth') return codec.encodeAuth(e.token, idOf(e));
  return codec.encodePublish(e.topic, e.data_json, idOf(e), e.echo ?? true);
}

test('client encoders write exactly the canonical golden commands', () => {
  const canonical = vectors.filter((v) => v.direction === 'client_to_server' && v.canonical);
  assert.ok(canonical.length >= 25, `only ${canonical.length} canonical commands`);
  for (const v of canonical) {
    const expected = v.frame === 'binary' ? v.payload_hex : v.payload_text;
    assert.equal(encodeCommand(v), expected, v.name);
  }
});

test('topic rules agree with the golden bad_topic cases', () => {
  let checked = 0;
  for (const v of vectors.filter((v) => v.direction === 'client_to_server' && v.frame === 'text')) {
    let command;
    try {
      command = JSON.parse(v.payload_text);
    } catch {
      continue;
    }
    if (typeof command?.topic !== 'string') continue;
    const valid =
      command.op === 'pub' ? isValidTopic(command.topic) : isValidPattern(command.topic);
    assert.equal(valid, v.expect.error !== 'bad_topic', v.name);
    ++checked;
  }
  assert.ok(checked >= 30, `only ${checked} topic cases`);
});

test('$sys is valid as a first token only', () => {
  assert.ok(isValidTopic('$sys.stats'));
  assert.ok(isValidPattern('$sys.>'));
  assert.ok(!isValidTopic('$sys.>'));
  assert.ok(!isValidTopic('a.$sys'));
  assert.ok(!isValidTopic('$system'));
  assert.ok(!isValidPattern('$'));
});

test('server messages decode as the golden vectors say', () => {
  const cases = vectors.filter((v) => v.direction === 'server_to_client');
  assert.ok(cases.length >= 20, `only ${cases.length} server messages`);
  for (const v of cases) {
    const message =
      v.frame === 'binary'
        ? codec.decodeBinary(fromHex(v.payload_hex))
        : codec.decodeText(v.payload_text);
    if (v.expect.invalid) {
      assert.equal(message, null, v.name);
      continue;
    }
    assert.ok(message, v.name);
    const e = v.expect;
    assert.equal(message.type, e.type, v.name);
    for (const name of [
      'topic',
      'seq',
      'code',
      'text',
      'missed',
      'epoch',
      'first',
      'from',
      'next',
      'complete',
    ]) {
      assert.deepEqual(message[name], e[name], `${v.name}: ${name}`);
    }
    if (e.id_json !== undefined) assert.deepEqual(message.id, JSON.parse(e.id_json), v.name);
    if (e.data_hex !== undefined) assert.equal(toHex(message.data), e.data_hex, v.name);
    if (e.data_json !== undefined) assert.deepEqual(message.data, JSON.parse(e.data_json), v.name);
  }
});

test('text decoding refuses types inherited from Object.prototype', () => {
  for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.equal(codec.decodeText(JSON.stringify({ type })), null, type);
  }
});

test('binary decoding refuses every truncation of a valid frame', () => {
  const frame = fromHex('0203612e62000000000000002a00ff');
  for (let length = 0; length < 13; ++length) {
    assert.equal(codec.decodeBinary(frame.subarray(0, length)), null, `length ${length}`);
  }
  assert.equal(codec.decodeBinary(frame.subarray(0, 13)).data.length, 0);
});

test('wildcards match as section 2 says', () => {
  const cases = [
    ['prices.*.AAPL', 'prices.nasdaq.AAPL', true],
    ['prices.*.AAPL', 'prices.AAPL', false],
    ['prices.*.AAPL', 'prices.a.b.AAPL', false],
    ['prices.>', 'prices.nasdaq', true],
    ['prices.>', 'prices.nasdaq.AAPL', true],
    ['prices.>', 'prices', false],
    ['>', 'a', true],
    ['*', 'a.b', false],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bc', false],
    ['*.*', 'a.b', true],
    // The reserved $sys topics: reached only by a filter naming $sys (section 2).
    ['>', '$sys.stats', false],
    ['*.stats', '$sys.stats', false],
    ['$sys.>', '$sys.stats', true],
    ['$sys.*', '$sys.topics', true],
  ];
  for (const [pattern, topic, expected] of cases) {
    assert.equal(matches(pattern, topic), expected, `${pattern} ~ ${topic}`);
  }
});

test('positions drop repeats, report gaps and give resume points', () => {
  const p = new Positions();
  assert.deepEqual(p.onMessage('t', 1, 1), { deliver: true, gap: null });
  assert.deepEqual(p.onMessage('t', 1, 1), { deliver: false, gap: null });
  const skipped = p.onMessage('t', 4, 1);
  assert.deepEqual(skipped.gap, { topic: 't', from: 2, to: 3, missed: 2, reason: 'skipped' });
  assert.deepEqual(p.onGap('t', 3), { topic: 't', from: 5, to: 7, missed: 3, reason: 'dropped' });
  assert.equal(p.onMessage('t', 8, 1).gap, null);
  // Without history, a lower number on a new connection is a restarted broker, not a repeat.
  assert.equal(p.onMessage('t', 1, 2).gap.reason, 'reset');
  assert.equal(p.resumeFor('t', false), null);

  const history = { topic: 'h.a', epoch: 'e1', first: 1, from: 1, next: 1, complete: true };
  assert.equal(p.onRecovery(history, 1), null);
  assert.equal(p.onMessage('h.a', 1, 1).deliver, true);
  assert.equal(p.onMessage('h.a', 2, 1).deliver, true);
  assert.deepEqual(p.resumeFor('h.a', false), { from: 3, epoch: 'e1' });
  assert.deepEqual(p.resumeFor('h.*', true), { from: { 'h.a': 3 }, epoch: { 'h.a': 'e1' } });
  // Replayed after a reconnect: repeats are dropped even on a new connection.
  assert.equal(p.onMessage('h.a', 2, 2).deliver, false);
  const partial = { ...history, first: 10, from: 10, next: 12, complete: false };
  assert.deepEqual(p.onRecovery(partial, 2), {
    topic: 'h.a',
    from: 3,
    to: 9,
    missed: 7,
    reason: 'history',
  });
  assert.equal(p.onMessage('h.a', 10, 2).gap, null);
  const reset = { ...history, epoch: 'e2', from: 1, next: 3 };
  assert.equal(p.onRecovery(reset, 3).reason, 'epoch');
  assert.equal(p.onMessage('h.a', 1, 3).deliver, true);
  p.prune(['x.>']);
  assert.equal(p.get('h.a'), undefined);
});

test('an epoch seen while the history was empty is provisional', () => {
  const p = new Positions();
  const empty = {
    topic: 'e.t',
    epoch: '0000000000000000',
    first: 0,
    from: 1,
    next: 1,
    complete: true,
  };
  assert.equal(p.onRecovery(empty, 1), null);
  for (const seq of [1, 2, 3]) assert.equal(p.onMessage('e.t', seq, 1).deliver, true);
  // Resumed without the epoch, which the topic only got with its first message.
  assert.deepEqual(p.resumeFor('e.t', false), { from: 4 });
  assert.deepEqual(p.resumeFor('e.*', true), { from: { 'e.t': 4 } });
  const real = { ...empty, epoch: '70a10ee001adfc15', first: 1, from: 4, next: 9 };
  assert.equal(p.onRecovery(real, 2), null);
  assert.equal(p.onMessage('e.t', 3, 2).deliver, false);
  assert.equal(p.onMessage('e.t', 4, 2).deliver, true);
  assert.deepEqual(p.resumeFor('e.t', false), { from: 5, epoch: '70a10ee001adfc15' });
});

test('backoff has full jitter under an exponential ceiling and a cap', () => {
  assert.equal(
    backoffDelay(1, 100, 1000, () => 0.999999),
    99,
  );
  assert.equal(
    backoffDelay(3, 100, 1000, () => 0.999999),
    399,
  );
  assert.equal(
    backoffDelay(10, 100, 1000, () => 0.999999),
    999,
  );
  assert.equal(
    backoffDelay(1000, 100, 1000, () => 0.5),
    500,
  );
  assert.equal(
    backoffDelay(5, 100, 1000, () => 0),
    0,
  );
});

test('decoders never throw on mutated frames (seeded, 20,000 cases)', () => {
  const seed = Number(process.env.HERALD_TEST_SEED ?? 20261121);
  let state = seed >>> 0;
  const random = (n) => {
    // xorshift32: a fixed, printed seed makes any failure reproducible.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const seeds = vectors.filter((v) => v.direction === 'server_to_client');
  const encoder = new TextEncoder();
  for (let i = 0; i < 20_000; ++i) {
    const v = seeds[random(seeds.length)];
    const bytes = v.frame === 'binary' ? fromHex(v.payload_hex) : encoder.encode(v.payload_text);
    const mutated = Uint8Array.from(bytes);
    for (let k = random(4) + 1; k > 0 && mutated.length > 0; --k)
      mutated[random(mutated.length)] = random(256);
    const cut = mutated.subarray(0, random(mutated.length + 1));
    let message;
    try {
      message =
        v.frame === 'binary'
          ? codec.decodeBinary(cut)
          : codec.decodeText(new TextDecoder().decode(cut));
    } catch (error) {
      assert.fail(`seed ${seed}, case ${i}: ${error}`);
    }
    if (message !== null)
      assert.ok(['msg', 'ack', 'error', 'gap', 'recovery'].includes(message.type));
  }
});
