/**
 * What the client needs of a WebSocket instance: the browser's and the `ws` package's fit.
 * @typedef {object} WebSocketLike
 * @property {string} binaryType
 * @property {(data: string | Uint8Array) => void} send
 * @property {(code?: number, reason?: string) => void} close
 */
/** @typedef {new (url: string, protocols: string) => WebSocketLike} WebSocketConstructor */
/**
 * The handler slots the client sets on a socket (every WHATWG WebSocket has them).
 * @typedef {WebSocketLike & {
 *   onopen: () => void,
 *   onmessage: (event: { data: string | ArrayBuffer }) => void,
 *   onerror: (event: { error?: unknown, message?: string }) => void,
 *   onclose: (event: CloseInfo) => void,
 * }} Socket
 */
/**
 * @typedef {object} HeraldClientOptions
 * @property {WebSocketConstructor} [WebSocket]  defaults to globalThis.WebSocket
 * @property {string | (() => string | Promise<string>)} [token]  a JWT sent as `?token=`
 *   (section 10); a function is asked again before every connection
 * @property {boolean} [reconnect]  reconnect after an unexpected close (default true)
 * @property {number} [backoffBaseMs]  round n of reconnects waits uniformly in
 *   [0, min(cap, base * 2^(n-1))] ms (default 250)
 * @property {number} [backoffCapMs]  default 10000
 * @property {number} [maxReconnectAttempts]  failed attempts in a row (default Infinity)
 * @property {number} [connectTimeoutMs]  an attempt not open after this long is abandoned
 *   (default 10000)
 * @property {number} [maxOfflinePublishes]  publishes held while offline; beyond it publish()
 *   rejects 'queue_full' (default 1000)
 * @property {() => number} [random]  the jitter's source, uniform in [0, 1) (default
 *   Math.random; tests pass a seeded one)
 */
/** @typedef {'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'} ConnectionState */
/** @typedef {{ code: number, reason: string, wasClean: boolean }} CloseInfo */
/**
 * A reconnect about to happen: `attempt` counts failures in a row (0 for a planned move, which
 * is not one), `delay` the wait in ms, `url` the server tried next; `planned` when the server
 * asked for it (its `reconnect` message), with its `reason` if it gave one.
 * @typedef {{ attempt: number, delay: number, url: string, planned: boolean, reason?: string }}
 *   ReconnectingInfo
 */
/**
 * @typedef {object} PublishOptions
 * @property {boolean} [echo]  false: not delivered back to this client (default true)
 * @property {AbortSignal} [signal]  stops waiting: rejects with a HeraldError 'aborted'
 * @property {number} [timeoutMs]  stops waiting after this long: a HeraldError 'timeout'
 */
/**
 * @typedef {object} HeraldEvents
 * @property {[]} open
 * @property {[CloseInfo]} close
 * @property {[Error]} error
 * @property {[ReconnectingInfo]} reconnecting
 * @property {[import('./positions.js').GapInfo]} gap
 * @property {[import('./positions.js').RecoveryInfo]} recovery
 * @property {[{ state: ConnectionState, previous: ConnectionState }]} state
 */
/**
 * @typedef {{ encode: (id: number) => string | Uint8Array, id?: number,
 *   resolve: (seq: number) => void, reject: (error: HeraldError) => void }} Outgoing
 * @typedef {{ kind: 'pub', entry: Outgoing }
 *   | { kind: 'sub', route: Route, resumed: boolean }
 *   | { kind: 'unsub', resolve: () => void }
 *   | { kind: 'auth', resolve: () => void, reject: (error: HeraldError) => void }} Request
 * @typedef {{ resolve: () => void, reject: (error: HeraldError) => void }} Waiter
 * @typedef {import('./subscription.js').SubscribeOptions} SubscribeOptions
 * @typedef {import('./abort.js').CancelOptions} CancelOptions
 * @typedef {import('./subscription.js').Control} Control
 */
/**
 * @template T
 * @typedef {import('./subscription.js').Message<T>} Message
 */
/** @extends {Emitter<HeraldEvents>} */
export class HeraldClient extends Emitter<HeraldEvents> {
    /**
     * @param {string | readonly string[]} urls  one server, or several tried in turn
     * @param {HeraldClientOptions} [options]
     */
    constructor(urls: string | readonly string[], options?: HeraldClientOptions | undefined);
    /** @returns {ConnectionState} */
    get state(): ConnectionState;
    /** The server URL in use, or tried next. */
    get url(): string;
    /**
     * The last sequence handed to every subscription, and the epoch, of `topic`, if known.
     * @param {string} topic
     */
    position(topic: string): {
        seq: number;
        epoch: string | null;
    } | undefined;
    /**
     * Opens the connection; resolves once open, rejects if it closes for good first. A signal
     * or timeout ends the wait only: call close() to stop connecting.
     * @param {CancelOptions} [options]
     * @returns {Promise<void>}
     */
    connect(options?: import("./abort.js").CancelOptions | undefined): Promise<void>;
    /**
     * Resolves once the connection is open (at once if it is); rejects if the client is or gets
     * closed for good first. Does not connect.
     * @param {CancelOptions} [options]
     * @returns {Promise<void>}
     */
    ready(options?: import("./abort.js").CancelOptions | undefined): Promise<void>;
    /** Closes for good (code 1000): no reconnect; queued and unacknowledged publishes reject. */
    close(code?: number, reason?: string): void;
    /**
     * Subscribes a handler to a topic or pattern; each message goes to every subscription that
     * matches it. A handler that throws is reported ('error' event, a HeraldError
     * 'handler_failed' with the topic and seq) and does not stop the others. Options: `policy`
     * (section 6), one of `from` (with `epoch`), `last`, `since`, `snapshot` (section 9),
     * `signal`.
     * @template [T=unknown]
     * @overload
     * @param {string} pattern
     * @param {(message: Message<T>) => void} handler
     * @param {SubscribeOptions} [options]
     * @returns {Subscription<T>}
     */
    subscribe<T = unknown>(pattern: string, handler: (message: Message<T>) => void, options?: import("./subscription.js").SubscribeOptions | undefined): Subscription<T>;
    /**
     * Subscribes without a handler: iterate the subscription (`for await`) for its messages,
     * buffered up to `bufferSize` (default 1024); one more ends it with a HeraldError
     * 'overflow' once the buffered ones are read. Leaving the loop unsubscribes.
     * @template [T=unknown]
     * @overload
     * @param {string} pattern
     * @param {SubscribeOptions} [options]
     * @returns {Subscription<T>}
     */
    subscribe<T = unknown>(pattern: string, options?: import("./subscription.js").SubscribeOptions | undefined): Subscription<T>;
    /**
     * Publishes a JSON value, a string, or binary data (ArrayBuffer or a typed array). Resolves
     * with the sequence number the broker gave it; rejects with the server's error (HeraldError).
     * While offline, up to maxOfflinePublishes wait for the connection; beyond that, or once
     * closed for good, it rejects at once ('queue_full', 'closed'). A signal or timeout that
     * ends the wait takes a queued publish out of the queue; one already sent may still be
     * published.
     * @param {string} topic
     * @param {unknown} data
     * @param {PublishOptions} [options]
     * @returns {Promise<number>}
     */
    publish(topic: string, data: unknown, { echo, signal, timeoutMs }?: PublishOptions | undefined): Promise<number>;
    /**
     * Sends a new token (section 10) and keeps it for reconnects. Needs an open connection.
     * @param {string} token
     * @returns {Promise<void>}
     */
    authenticate(token: string): Promise<void>;
    #private;
}
/**
 * What the client needs of a WebSocket instance: the browser's and the `ws` package's fit.
 */
export type WebSocketLike = {
    binaryType: string;
    send: (data: string | Uint8Array) => void;
    close: (code?: number, reason?: string) => void;
};
export type WebSocketConstructor = new (url: string, protocols: string) => WebSocketLike;
/**
 * The handler slots the client sets on a socket (every WHATWG WebSocket has them).
 */
export type Socket = WebSocketLike & {
    onopen: () => void;
    onmessage: (event: {
        data: string | ArrayBuffer;
    }) => void;
    onerror: (event: {
        error?: unknown;
        message?: string;
    }) => void;
    onclose: (event: CloseInfo) => void;
};
export type HeraldClientOptions = {
    /**
     * defaults to globalThis.WebSocket
     */
    WebSocket?: WebSocketConstructor | undefined;
    /**
     * a JWT sent as `?token=`
     * (section 10); a function is asked again before every connection
     */
    token?: string | (() => string | Promise<string>) | undefined;
    /**
     * reconnect after an unexpected close (default true)
     */
    reconnect?: boolean | undefined;
    /**
     * round n of reconnects waits uniformly in
     * [0, min(cap, base * 2^(n-1))] ms (default 250)
     */
    backoffBaseMs?: number | undefined;
    /**
     * default 10000
     */
    backoffCapMs?: number | undefined;
    /**
     * failed attempts in a row (default Infinity)
     */
    maxReconnectAttempts?: number | undefined;
    /**
     * an attempt not open after this long is abandoned
     * (default 10000)
     */
    connectTimeoutMs?: number | undefined;
    /**
     * publishes held while offline; beyond it publish()
     * rejects 'queue_full' (default 1000)
     */
    maxOfflinePublishes?: number | undefined;
    /**
     * the jitter's source, uniform in [0, 1) (default
     * Math.random; tests pass a seeded one)
     */
    random?: (() => number) | undefined;
};
export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";
export type CloseInfo = {
    code: number;
    reason: string;
    wasClean: boolean;
};
/**
 * A reconnect about to happen: `attempt` counts failures in a row (0 for a planned move, which
 * is not one), `delay` the wait in ms, `url` the server tried next; `planned` when the server
 * asked for it (its `reconnect` message), with its `reason` if it gave one.
 */
export type ReconnectingInfo = {
    attempt: number;
    delay: number;
    url: string;
    planned: boolean;
    reason?: string;
};
export type PublishOptions = {
    /**
     * false: not delivered back to this client (default true)
     */
    echo?: boolean | undefined;
    /**
     * stops waiting: rejects with a HeraldError 'aborted'
     */
    signal?: AbortSignal | undefined;
    /**
     * stops waiting after this long: a HeraldError 'timeout'
     */
    timeoutMs?: number | undefined;
};
export type HeraldEvents = {
    open: [];
    close: [CloseInfo];
    error: [Error];
    reconnecting: [ReconnectingInfo];
    gap: [import("./positions.js").GapInfo];
    recovery: [import("./positions.js").RecoveryInfo];
    state: [{
        state: ConnectionState;
        previous: ConnectionState;
    }];
};
export type Outgoing = {
    encode: (id: number) => string | Uint8Array;
    id?: number;
    resolve: (seq: number) => void;
    reject: (error: HeraldError) => void;
};
export type Request = {
    kind: "pub";
    entry: Outgoing;
} | {
    kind: "sub";
    route: Route;
    resumed: boolean;
} | {
    kind: "unsub";
    resolve: () => void;
} | {
    kind: "auth";
    resolve: () => void;
    reject: (error: HeraldError) => void;
};
export type Waiter = {
    resolve: () => void;
    reject: (error: HeraldError) => void;
};
export type SubscribeOptions = import("./subscription.js").SubscribeOptions;
export type CancelOptions = import("./abort.js").CancelOptions;
export type Control = import("./subscription.js").Control;
export type Message<T> = import("./subscription.js").Message<T>;
import { Emitter } from './emitter.js';
import { Subscription } from './subscription.js';
import { HeraldError } from './errors.js';
import { Route } from './subscription.js';
