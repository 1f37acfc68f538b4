// The public types of the client's options, events and socket, as JSDoc typedefs checked by
// tsc with the code that uses them (client.js). No code: nothing here exists at run time.

/**
 * What the client needs of a WebSocket instance: the browser's and the `ws` package's fit.
 * @typedef {object} WebSocketLike
 * @property {string} binaryType
 * @property {(data: string | Uint8Array) => void} send
 * @property {(code?: number, reason?: string) => void} close
 */

/**
 * A WebSocket class: the browser's takes (url, protocols); the `ws` package's also takes an
 * options object, which the client passes only when `perMessageDeflate` is set.
 * @typedef {new (url: string, protocols: string, options?: { perMessageDeflate: boolean | object })
 *   => WebSocketLike} WebSocketConstructor
 */

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
 * @property {boolean | object} [perMessageDeflate]  Node with the ws package: passed to ws as
 *   its `perMessageDeflate` option (true offers permessage-deflate, RFC 7692; false does not;
 *   an object tunes it, see ws's documentation). Unset, ws's own default applies. Browsers
 *   negotiate compression by themselves: leave it unset there.
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

export {};
