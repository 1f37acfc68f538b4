/**
 * @typedef {import('./types.js').WebSocketConstructor} WebSocketConstructor
 * @typedef {import('./types.js').Socket} Socket
 * @typedef {import('./types.js').HeraldClientOptions} HeraldClientOptions
 * @typedef {import('./types.js').ConnectionState} ConnectionState
 * @typedef {import('./types.js').CloseInfo} CloseInfo
 * @typedef {import('./types.js').PublishOptions} PublishOptions
 * @typedef {import('./types.js').HeraldEvents} HeraldEvents
 * @typedef {import('./requests.js').Outgoing} Outgoing
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
export class HeraldClient extends Emitter<import("./types.js").HeraldEvents> {
    /**
     * @param {string | readonly string[]} urls  one server, or several tried in turn
     * @param {HeraldClientOptions} [options]
     */
    constructor(urls: string | readonly string[], options?: import("./types.js").HeraldClientOptions | undefined);
    /** @returns {ConnectionState} */
    get state(): import("./types.js").ConnectionState;
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
    publish(topic: string, data: unknown, { echo, signal, timeoutMs }?: import("./types.js").PublishOptions | undefined): Promise<number>;
    /**
     * Sends a new token (section 10) and keeps it for reconnects. Needs an open connection.
     * @param {string} token
     * @returns {Promise<void>}
     */
    authenticate(token: string): Promise<void>;
    #private;
}
export type WebSocketConstructor = import("./types.js").WebSocketConstructor;
export type Socket = import("./types.js").Socket;
export type HeraldClientOptions = import("./types.js").HeraldClientOptions;
export type ConnectionState = import("./types.js").ConnectionState;
export type CloseInfo = import("./types.js").CloseInfo;
export type PublishOptions = import("./types.js").PublishOptions;
export type HeraldEvents = import("./types.js").HeraldEvents;
export type Outgoing = import("./requests.js").Outgoing;
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
