/**
 * `{"op":"sub",...}`. `options` may hold policy, from, epoch, last, since and snapshot
 * (section 9); they are written in that order after the id.
 * @param {string} topic
 * @param {Id} [id]
 * @param {WireSubscribeOptions} [options]
 */
export function encodeSubscribe(topic: string, id?: Id | undefined, options?: WireSubscribeOptions | undefined): string;
/**
 * @param {string} topic
 * @param {Id} [id]
 */
export function encodeUnsubscribe(topic: string, id?: Id | undefined): string;
/**
 * A text publish; `dataJson` is already-serialised JSON, written as is.
 * @param {string} topic
 * @param {string} dataJson
 * @param {Id} [id]
 * @param {boolean} [echo]
 */
export function encodePublish(topic: string, dataJson: string, id?: Id | undefined, echo?: boolean | undefined): string;
/**
 * @param {string} token
 * @param {Id} [id]
 */
export function encodeAuth(token: string, id?: Id | undefined): string;
/**
 * A binary publish frame (section 5); `id`, when given, is an unsigned 32-bit integer.
 * @param {string} topic
 * @param {Uint8Array} payload
 * @param {number} [id]
 * @param {boolean} [echo]
 */
export function encodeBinaryPublish(topic: string, payload: Uint8Array, id?: number | undefined, echo?: boolean | undefined): Uint8Array;
/**
 * Bytes of any binary value a caller may publish, without copying; null for anything else.
 * @param {unknown} value
 * @returns {Uint8Array | null}
 */
export function bytesOf(value: unknown): Uint8Array | null;
/**
 * Decodes a server text frame. Returns the message object ({type, ...}; `data` of a msg is the
 * parsed JSON value), or null when the frame is not a valid server message.
 * @param {string} text
 * @returns {ServerMessage | null}
 */
export function decodeText(text: string): ServerMessage | null;
/**
 * Decodes a server binary frame (kind 0x02) into {type:'msg', topic, seq, data: Uint8Array},
 * or null. `data` is a view into `buffer`.
 * @param {ArrayBuffer | ArrayBufferView} buffer
 * @returns {{ type: 'msg', topic: string, seq: number, data: Uint8Array } | null}
 */
export function decodeBinary(buffer: ArrayBuffer | ArrayBufferView): {
    type: "msg";
    topic: string;
    seq: number;
    data: Uint8Array;
} | null;
/**
 * a command id (section 3)
 */
export type Id = string | number;
/**
 * The options a subscribe command carries (sections 6 and 9).
 */
export type WireSubscribeOptions = import("./subscription.js").Replay & {
    policy?: string;
};
/**
 * A server message, decoded (PROTOCOL.md sections 4, 5, 9 and "reconnect").
 */
export type ServerMessage = {
    type: "msg";
    topic: string;
    seq: number;
    data: unknown;
} | {
    type: "ack";
    id: Id;
    seq?: number;
    complete?: boolean;
} | {
    type: "error";
    code: string;
    text?: string;
    id?: Id;
} | {
    type: "gap";
    topic: string;
    missed: number;
} | ({
    type: "recovery";
} & import("./positions.js").RecoveryInfo) | {
    type: "reconnect";
    after_ms: number;
    jitter_ms?: number;
    reason?: string;
};
