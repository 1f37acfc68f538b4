// Connection: the socket's life cycle for HeraldClient: opening it (token, URL rotation, connect
// timeout), deciding what follows a close (give up, back off, a planned move, a reopen) and
// finishing. It knows nothing of subscriptions or publishes; it reports to its Host.

import { Rotation } from './backoff.js';
import { HeraldError } from './errors.js';

// PROTOCOL.md section 8: the server would refuse these again, so retrying needs a change.
const kFinalCloseCodes = new Set([1002, 1007, 1008, 1009, 4001, 4003]);
const kAuthCloseCodes = new Set([4001, 4003]);
const kPlannedJitterMs = 1000; // PROTOCOL.md "reconnect": jitter_ms when the server gives none

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
  #host;
  #options;
  #rotation;
  /** @type {Socket | null} */
  #socket = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  #token;
  /** @type {string | undefined} */
  #lastToken;
  /** @type {string | undefined} a token the server closed with 4001/4003; retried once changed */
  #refusedToken;
  #userClosed = false;
  #reopen = false; // connect() came while close() was under way
  /** @type {{ due: boolean } | null} a planned move (the server's `reconnect`) under way */
  #planned = null;

  /**
   * @param {string[]} urls
   * @param {ConnectionOptions} options
   * @param {Host} host
   */
  constructor(urls, options, host) {
    this.#rotation = new Rotation(urls);
    this.#options = options;
    this.#token = options.token;
    this.#host = host;
  }

  /** The open (or opening) socket, or null. */
  get socket() {
    return this.#socket;
  }

  /** The server URL in use, or tried next. */
  get url() {
    return this.#rotation.url;
  }

  /** @param {ConnectionOptions['token']} token  used from the next connection on */
  set token(token) {
    this.#token = token;
  }

  /**
   * connect() while close() is still under way: the old socket ends first, then this connects
   * again. Returns whether that is the case.
   */
  reopenAfterClose() {
    if (!this.#userClosed || this.#socket === null) return false;
    this.#userClosed = false;
    this.#reopen = true;
    return true;
  }

  /** Starts connecting from the first URL; only when idle or closed. */
  start() {
    this.#userClosed = false;
    this.#rotation.reset();
    this.#open();
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  close(code, reason) {
    this.#userClosed = true;
    this.#reopen = false;
    clearTimeout(this.#timer);
    this.#planned = null;
    if (this.#socket !== null) {
      this.#socket.close(code, reason);
    } else {
      this.#finish(new HeraldError('closed', 'closed by the caller'));
    }
  }

  /**
   * The server's `reconnect` message (PROTOCOL.md): close after `after_ms` plus a jitter in
   * [0, jitter_ms] and connect to the next URL, keeping every position.
   * @param {{ after_ms: number, jitter_ms?: number, reason?: string }} message
   */
  planMove({ after_ms, jitter_ms = kPlannedJitterMs, reason }) {
    if (this.#planned !== null) return;
    const planned = { due: false };
    this.#planned = planned;
    const delay = after_ms + Math.floor(this.#options.random() * (jitter_ms + 1));
    const url = this.#rotation.next; // moved to when the move starts: `url` is in use until then
    this.#host.reconnecting({ attempt: 0, delay, url, planned: true, reason });
    this.#timer = setTimeout(() => {
      planned.due = true;
      if (this.#socket !== null) this.#socket.close(1000, 'planned reconnect');
      else this.#movePlanned();
    }, delay);
  }

  async #open() {
    this.#host.setState('connecting');
    let url = this.#rotation.url;
    /** @type {Socket} */
    let socket;
    try {
      const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
      if (this.#userClosed) return this.#finish(new HeraldError('closed', 'closed by the caller'));
      if (this.#refusedToken !== undefined && token === this.#refusedToken) {
        return this.#finish(new HeraldError('unauthorized', 'the server refused the token'));
      }
      this.#lastToken = token;
      if (token) url = withToken(url, token);
      // Only ws takes a third argument; without the option every WebSocket is called alike.
      const deflate = this.#options.perMessageDeflate;
      const WebSocket = this.#options.WebSocket;
      socket = /** @type {Socket} */ (
        deflate === undefined
          ? new WebSocket(url, 'herald.v1')
          : new WebSocket(url, 'herald.v1', { perMessageDeflate: deflate })
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#host.failed(error instanceof Error ? error : new HeraldError('socket_error', reason));
      return this.#afterClose({ code: 1006, reason, wasClean: false });
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    const timeout = setTimeout(() => socket.close(), this.#options.connectTimeoutMs);
    socket.onopen = () => {
      clearTimeout(timeout);
      this.#rotation.reset();
      this.#refusedToken = undefined;
      this.#host.opened(socket);
    };
    socket.onmessage = (event) => this.#host.received(event.data);
    socket.onerror = (event) => {
      const error = event.error instanceof Error ? event.error : null;
      this.#host.failed(error ?? new HeraldError('socket_error', event.message));
    };
    socket.onclose = (event) => {
      clearTimeout(timeout);
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#afterClose({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    };
  }

  /** @param {CloseInfo} close */
  #afterClose(close) {
    this.#host.lost(close);
    if (this.#userClosed) return this.#finish(new HeraldError('closed', 'closed by the caller'));
    if (this.#reopen) {
      this.#reopen = false;
      this.#rotation.reset();
      this.#open();
      return;
    }
    const auth = kAuthCloseCodes.has(close.code);
    if (auth) this.#refusedToken = this.#lastToken;
    if (kFinalCloseCodes.has(close.code) && !(auth && typeof this.#token === 'function')) {
      return this.#finish(
        new HeraldError('closed', `closed by the server: ${close.code} ${close.reason}`),
      );
    }
    if (this.#planned !== null) {
      // A planned move is no failure: it goes on at the time it was given, however early the
      // server closed.
      this.#host.setState('reconnecting');
      if (this.#planned.due) this.#movePlanned();
      return;
    }
    const { reconnect, maxReconnectAttempts, backoffBaseMs, backoffCapMs } = this.#options;
    if (!reconnect || this.#rotation.failures >= maxReconnectAttempts) {
      return this.#finish(new HeraldError('closed', `connection closed: ${close.code}`));
    }
    const next = this.#rotation.failed(backoffBaseMs, backoffCapMs, this.#options.random);
    this.#host.setState('reconnecting');
    this.#host.reconnecting({ ...next, planned: false });
    this.#timer = setTimeout(() => this.#open(), next.delay);
  }

  #movePlanned() {
    this.#planned = null;
    this.#rotation.planned();
    this.#open();
  }

  /** @param {HeraldError} error */
  #finish(error) {
    clearTimeout(this.#timer);
    this.#planned = null;
    this.#host.finished(error, this.#userClosed);
  }
}

/**
 * @param {string} url
 * @param {string} token
 */
function withToken(url, token) {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}
