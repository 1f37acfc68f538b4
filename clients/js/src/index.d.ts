// Type declarations of Herald's JavaScript client (src/index.js). The wire protocol they
// implement is protocol/PROTOCOL.md (herald.v1).

/** Anything with the WHATWG WebSocket constructor: the browser's, or the `ws` package's. */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): any;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface HeraldClientOptions {
  /** WebSocket implementation; defaults to globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** JWT sent as `?token=` (section 10); a function is asked again on every connect. */
  token?: string | (() => string | Promise<string>);
  /** Reconnect after an unexpected close (default true). */
  reconnect?: boolean;
  /** Backoff: attempt n waits uniformly in [0, min(cap, base * 2^(n-1))] ms. Default 250. */
  backoffBaseMs?: number;
  /** Default 10000. */
  backoffCapMs?: number;
  /** Default Infinity. */
  maxReconnectAttempts?: number;
  /** A connection attempt not open after this long is abandoned (default 10000). */
  connectTimeoutMs?: number;
  /** Publishes held while offline; beyond it publish() rejects 'queue_full' (default 1000). */
  maxOfflinePublishes?: number;
}

export type SlowConsumerPolicy = 'disconnect' | 'drop' | 'conflate' | 'catchup';

export interface SubscribeOptions {
  policy?: SlowConsumerPolicy;
  /** Replay from this sequence (a topic), or per topic (a pattern). */
  from?: number | Record<string, number>;
  /** With `from`: the epoch last seen (a topic), or per topic (a pattern). */
  epoch?: string | Record<string, string>;
  /** The last K retained messages of each matching topic. */
  last?: number;
  /** Retained messages published at or after this Unix time in milliseconds. */
  since?: number;
  /** The latest retained message of each matching topic. */
  snapshot?: boolean;
}

export interface Message {
  topic: string;
  seq: number;
  /** The parsed JSON value of a text message, or the bytes of a binary one. */
  data: unknown;
  binary: boolean;
}

export interface Subscription {
  readonly pattern: string;
  readonly active: boolean;
  /**
   * Resolves on the server's ack (`complete`: every replay was whole); rejects with its error,
   * or when the client closes for good before the ack.
   */
  readonly ready: Promise<{ complete: boolean }>;
  unsubscribe(): Promise<void>;
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/**
 * Sequences missed on a topic: `from`..`to` inclusive where known (null where not).
 * reason: 'dropped' (server gap under the drop policy), 'skipped' (numbers jumped, e.g. while
 * disconnected from a topic without history, or under conflate), 'history' (the history no
 * longer held them), 'epoch' (the topic's history was reset), 'reset' (a topic without
 * history restarted its numbering with the broker).
 */
export interface GapInfo {
  topic: string;
  from: number | null;
  to: number | null;
  missed: number | null;
  reason: 'dropped' | 'skipped' | 'history' | 'epoch' | 'reset';
}

export interface RecoveryInfo {
  topic: string;
  epoch: string;
  first: number;
  from: number;
  next: number;
  complete: boolean;
}

export interface HeraldEvents {
  open: () => void;
  close: (info: CloseInfo) => void;
  error: (error: Error) => void;
  reconnecting: (info: { attempt: number; delay: number }) => void;
  gap: (gap: GapInfo) => void;
  recovery: (recovery: RecoveryInfo) => void;
  state: (change: { state: ConnectionState; previous: ConnectionState }) => void;
}

/**
 * Error codes: the server's (bad_json, bad_request, unknown_op, bad_topic, not_subscribed,
 * too_many_subscriptions, too_many_topics, no_history, unauthorized, forbidden, rate_limited,
 * storage_failed) and the client's own: 'closed', 'queue_full', 'connection_lost' (closed
 * before the ack: the message may or may not have been published), 'not_connected',
 * 'bad_message', 'socket_error'.
 */
export class HeraldError extends Error {
  readonly code: string;
  readonly text: string;
}

export class HeraldClient {
  constructor(url: string, options?: HeraldClientOptions);
  readonly state: ConnectionState;
  connect(): Promise<void>;
  close(code?: number, reason?: string): void;
  subscribe(
    pattern: string,
    handler: (message: Message) => void,
    options?: SubscribeOptions,
  ): Subscription;
  publish(
    topic: string,
    data: unknown | ArrayBuffer | ArrayBufferView,
    options?: { echo?: boolean },
  ): Promise<number>;
  authenticate(token: string): Promise<void>;
  position(topic: string): { seq: number; epoch: string | null } | undefined;
  on<E extends keyof HeraldEvents>(event: E, listener: HeraldEvents[E]): this;
  off<E extends keyof HeraldEvents>(event: E, listener: HeraldEvents[E]): this;
  once<E extends keyof HeraldEvents>(event: E, listener: HeraldEvents[E]): this;
}

export function isValidTopic(topic: string): boolean;
export function isValidPattern(pattern: string): boolean;
export function matches(pattern: string, topic: string): boolean;

export namespace codec {
  function encodeSubscribe(topic: string, id?: string | number, options?: SubscribeOptions): string;
  function encodeUnsubscribe(topic: string, id?: string | number): string;
  function encodePublish(
    topic: string,
    dataJson: string,
    id?: string | number,
    echo?: boolean,
  ): string;
  function encodeAuth(token: string, id?: string | number): string;
  function encodeBinaryPublish(
    topic: string,
    payload: Uint8Array,
    id?: number,
    echo?: boolean,
  ): Uint8Array;
  function bytesOf(value: unknown): Uint8Array | null;
  function decodeText(text: string): ({ type: string } & Record<string, unknown>) | null;
  function decodeBinary(buffer: ArrayBuffer | ArrayBufferView): (Message & { type: 'msg' }) | null;
}
