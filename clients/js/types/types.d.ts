/**
 * What the client needs of a WebSocket instance: the browser's and the `ws` package's fit.
 */
export type WebSocketLike = {
    binaryType: string;
    send: (data: string | Uint8Array) => void;
    close: (code?: number, reason?: string) => void;
};
/**
 * A WebSocket class: the browser's takes (url, protocols); the `ws` package's also takes an
 * options object, which the client passes only when `perMessageDeflate` is set.
 */
export type WebSocketConstructor = new (url: string, protocols: string, options?: {
    perMessageDeflate: boolean | object;
}) => WebSocketLike;
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
    /**
     * Node with the ws package: passed to ws as
     * its `perMessageDeflate` option (true offers permessage-deflate, RFC 7692; false does not;
     * an object tunes it, see ws's documentation). Unset, ws's own default applies. Browsers
     * negotiate compression by themselves: leave it unset there.
     */
    perMessageDeflate?: boolean | object | undefined;
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
