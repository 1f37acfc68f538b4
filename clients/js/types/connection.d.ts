/**
 * @typedef {import('./types.js').WebSocketConstructor} WebSocketConstructor
 * @typedef {import('./types.js').Socket} Socket
 * @typedef {import('./types.js').ConnectionState} ConnectionState
 * @typedef {import('./types.js').CloseInfo} CloseInfo
 * @typedef {import('./types.js').HeraldEvents} HeraldEvents
 */
/**
 * What the connection needs from the client that owns it. Callbacks, not the client itself:
 * the client's state lives in private fields, and this keeps the boundary a handful of calls.
 * @typedef {object} Host
 * @property {(state: ConnectionState) => void} setState
 * @property {(socket: Socket) => void} opened  the socket is open: resubscribe and send
 * @property {(data: string | ArrayBuffer) => void} received
 * @property {(close: CloseInfo) => void} lost  the socket closed, before deciding what follows
 * @property {(error: HeraldError, byCaller: boolean) => void} finished  closed for good
 * @property {(error: Error) => void} failed  an 'error' event
 * @property {(info: HeraldEvents['reconnecting'][0]) => void} reconnecting
 */
/**
 * @typedef {object} ConnectionOptions
 * @property {WebSocketConstructor} WebSocket
 * @property {import('./types.js').HeraldClientOptions['token']} [token]
 * @property {import('./types.js').HeraldClientOptions['perMessageDeflate']} [perMessageDeflate]
 * @property {boolean} reconnect
 * @property {number} backoffBaseMs
 * @property {number} backoffCapMs
 * @property {number} maxReconnectAttempts
 * @property {number} connectTimeoutMs
 * @property {() => number} random
 */
export class Connection {
    /**
     * @param {string[]} urls
     * @param {ConnectionOptions} options
     * @param {Host} host
     */
    constructor(urls: string[], options: ConnectionOptions, host: Host);
    /** The open (or opening) socket, or null. */
    get socket(): import("./types.js").Socket | null;
    /** The server URL in use, or tried next. */
    get url(): string;
    /** @param {ConnectionOptions['token']} token  used from the next connection on */
    set token(token: string | (() => string | Promise<string>) | undefined);
    /**
     * connect() while close() is still under way: the old socket ends first, then this connects
     * again. Returns whether that is the case.
     */
    reopenAfterClose(): boolean;
    /** Starts connecting from the first URL; only when idle or closed. */
    start(): void;
    /**
     * @param {number} code
     * @param {string} reason
     */
    close(code: number, reason: string): void;
    /**
     * The server's `reconnect` message (PROTOCOL.md): close after `after_ms` plus a jitter in
     * [0, jitter_ms] and connect to the next URL, keeping every position.
     * @param {{ after_ms: number, jitter_ms?: number, reason?: string }} message
     */
    planMove({ after_ms, jitter_ms, reason }: {
        after_ms: number;
        jitter_ms?: number;
        reason?: string;
    }): void;
    #private;
}
export type WebSocketConstructor = import("./types.js").WebSocketConstructor;
export type Socket = import("./types.js").Socket;
export type ConnectionState = import("./types.js").ConnectionState;
export type CloseInfo = import("./types.js").CloseInfo;
export type HeraldEvents = import("./types.js").HeraldEvents;
/**
 * What the connection needs from the client that owns it. Callbacks, not the client itself:
 * the client's state lives in private fields, and this keeps the boundary a handful of calls.
 */
export type Host = {
    setState: (state: ConnectionState) => void;
    /**
     * the socket is open: resubscribe and send
     */
    opened: (socket: Socket) => void;
    received: (data: string | ArrayBuffer) => void;
    /**
     * the socket closed, before deciding what follows
     */
    lost: (close: CloseInfo) => void;
    /**
     * closed for good
     */
    finished: (error: HeraldError, byCaller: boolean) => void;
    /**
     * an 'error' event
     */
    failed: (error: Error) => void;
    reconnecting: (info: HeraldEvents["reconnecting"][0]) => void;
};
export type ConnectionOptions = {
    WebSocket: WebSocketConstructor;
    token?: import("./types.js").HeraldClientOptions["token"];
    perMessageDeflate?: import("./types.js").HeraldClientOptions["perMessageDeflate"];
    reconnect: boolean;
    backoffBaseMs: number;
    backoffCapMs: number;
    maxReconnectAttempts: number;
    connectTimeoutMs: number;
    random: () => number;
};
import { HeraldError } from './errors.js';
