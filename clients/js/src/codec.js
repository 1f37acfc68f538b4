// The herald.v1 wire format (PROTOCOL.md sections 3 to 5, 9 and 10): commands encoded to the
// exact bytes the spec shows, server frames decoded into plain objects. No I/O, no state.

const kPublishKind = 0x01;
const kMessageKind = 0x02;
const kFlagId = 0x01;
const kFlagNoEcho = 0x02;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** @typedef {string | number} Id  a command id (section 3) */

/**
 * The options a subscribe command carries (sections 6 and 9).
 * @typedef {import('./subscription.js').Replay & { policy?: string }} WireSubscribeOptions
 */

/**
 * A server message, decoded (PROTOCOL.md sections 4, 5, 9 and "reconnect").
 * @typedef {{ type: 'msg', topic: string, seq: number, data: unknown }
 *   | { type: 'ack', id: Id, seq?: number, complete?: boolean }
 *   | { type: 'error', code: string, text?: string, id?: Id }
 *   | { type: 'gap', topic: string, missed: number }
 *   | ({ type: 'recovery' } & import('./positions.js').RecoveryInfo)
 *   | { type: 'reconnect', after_ms: number, jitter_ms?: number, reason?: string }
 * } ServerMessage
 */

/**
 * @param {string} name
 * @param {unknown} value
 */
function field(name, value) {
  return `,"${name}":${JSON.stringify(value)}`;
}

/**
 * `{"op":"sub",...}`. `options` may hold policy, from, epoch, last, since and snapshot
 * (section 9); they are written in that order after the id.
 * @param {string} topic
 * @param {Id} [id]
 * @param {WireSubscribeOptions} [options]
 */
export function encodeSubscribe(topic, id, options = {}) {
  let out = `{"op":"sub"${field('topic', topic)}`;
  if (id !== undefined) out += field('id', id);
  const { policy, from, epoch, last, since, snapshot } = options;
  for (const [name, value] of Object.entries({ policy, from, epoch, last, since, snapshot })) {
    if (value !== undefined) out += field(name, value);
  }
  return out + '}';
}

/**
 * @param {string} topic
 * @param {Id} [id]
 */
export function encodeUnsubscribe(topic, id) {
  return `{"op":"unsub"${field('topic', topic)}${id === undefined ? '' : field('id', id)}}`;
}

/**
 * A text publish; `dataJson` is already-serialised JSON, written as is.
 * @param {string} topic
 * @param {string} dataJson
 * @param {Id} [id]
 * @param {boolean} [echo]
 */
export function encodePublish(topic, dataJson, id, echo = true) {
  let out = `{"op":"pub"${field('topic', topic)},"data":${dataJson}`;
  if (id !== undefined) out += field('id', id);
  if (!echo) out += ',"echo":false';
  return out + '}';
}

/**
 * @param {string} token
 * @param {Id} [id]
 */
export function encodeAuth(token, id) {
  return `{"op":"auth"${field('token', token)}${id === undefined ? '' : field('id', id)}}`;
}

/**
 * A binary publish frame (section 5); `id`, when given, is an unsigned 32-bit integer.
 * @param {string} topic
 * @param {Uint8Array} payload
 * @param {number} [id]
 * @param {boolean} [echo]
 */
export function encodeBinaryPublish(topic, payload, id, echo = true) {
  const topicBytes = textEncoder.encode(topic);
  const hasId = id !== undefined;
  const header = 3 + topicBytes.length + (hasId ? 4 : 0);
  const frame = new Uint8Array(header + payload.byteLength);
  frame[0] = kPublishKind;
  frame[1] = (hasId ? kFlagId : 0) | (echo ? 0 : kFlagNoEcho);
  frame[2] = topicBytes.length;
  frame.set(topicBytes, 3);
  if (hasId) new DataView(frame.buffer).setUint32(3 + topicBytes.length, id);
  frame.set(payload, header);
  return frame;
}

/**
 * Bytes of any binary value a caller may publish, without copying; null for anything else.
 * @param {unknown} value
 * @returns {Uint8Array | null}
 */
export function bytesOf(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/** @param {unknown} v */
const isUint = (v) => Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0;
/** @param {unknown} v */
const isString = (v) => typeof v === 'string';
/** @param {unknown} v */
const isId = (v) => isString(v) || isUint(v);

// Required fields of each server message type, with their checks; optional ones after.
/** @type {Record<string, Record<string, (v: unknown) => boolean>>} */
const kShapes = {
  msg: { topic: isString, seq: isUint },
  ack: { id: isId },
  error: { code: isString },
  gap: { topic: isString, missed: isUint },
  recovery: {
    topic: isString,
    epoch: isString,
    first: isUint,
    from: isUint,
    next: isUint,
    complete: (v) => typeof v === 'boolean',
  },
  reconnect: { after_ms: isUint },
};

/**
 * Decodes a server text frame. Returns the message object ({type, ...}; `data` of a msg is the
 * parsed JSON value), or null when the frame is not a valid server message.
 * @param {string} text
 * @returns {ServerMessage | null}
 */
export function decodeText(text) {
  /** @type {Record<string, unknown>} */
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return null;
  // Own keys only: a type such as "constructor" must not find Object.prototype's.
  if (typeof message.type !== 'string' || !Object.hasOwn(kShapes, message.type)) return null;
  const shape = kShapes[message.type];
  for (const [name, check] of Object.entries(shape)) {
    if (!check(message[name])) return null;
  }
  if (message.type === 'msg' && !('data' in message)) return null;
  if (message.type === 'ack' && message.seq !== undefined && !isUint(message.seq)) return null;
  if (message.type === 'error' && message.id !== undefined && !isId(message.id)) return null;
  if (message.type === 'reconnect') {
    if (message.jitter_ms !== undefined && !isUint(message.jitter_ms)) return null;
    if (message.reason !== undefined && !isString(message.reason)) return null;
  }
  return /** @type {ServerMessage} */ (message);
}

/**
 * Decodes a server binary frame (kind 0x02) into {type:'msg', topic, seq, data: Uint8Array},
 * or null. `data` is a view into `buffer`.
 * @param {ArrayBuffer | ArrayBufferView} buffer
 * @returns {{ type: 'msg', topic: string, seq: number, data: Uint8Array } | null}
 */
export function decodeBinary(buffer) {
  const bytes = bytesOf(buffer);
  if (bytes === null || bytes.length < 2 || bytes[0] !== kMessageKind) return null;
  const topicLength = bytes[1];
  if (topicLength === 0 || bytes.length < 2 + topicLength + 8) return null;
  let topic;
  try {
    topic = textDecoder.decode(bytes.subarray(2, 2 + topicLength));
  } catch {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getBigUint64(2 + topicLength);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { type: 'msg', topic, seq: Number(seq), data: bytes.subarray(2 + topicLength + 8) };
}
