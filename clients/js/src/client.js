// HeraldClient: one WebSocket to one of a list of Herald brokers, kept open across failures.
// It resubscribes from the last positions seen, queues publishes while offline and hands each
// message to every subscription, each isolated from the others. The socket's life cycle
// (opening, backoff, planned moves) lives in connection.js, the wire format in codec.js,
// positions in positions.js.

import { abortError, onCancel } from './abort.js';
import * as codec from './codec.js';
import { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { HeraldError } from './errors.js';
import { Positions } from './positions.js';
import { Requests } from './requests.js';
import { Route, Subscription, parseSubscribeOptions } from './subscription.js';
import { isPattern, isValidPattern, isValidTopic, matches } from './topic.js';

const kDefaults = {
  reconnect: true,
  backoffBaseMs: 250,
  backoffCapMs: 10_000,
  maxReconnectAttempts: Infinity,
  connectTimeoutMs: 10_000,
  maxOfflinePublishes: 1000,
};

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
export class HeraldClient extends Emitter {
  #options;
  #connection;
  /** @type {ConnectionState} */
  #state = 'idle';
  #generation = 0; // connections opened so far
  #requests = new Requests();
  /** @type {Outgoing[]} publishes waiting for a connection */
  #offline = [];
  /** @type {Map<string, Route>} pattern -> its wire subscription */
  #routes = new Map();
  #positions = new Positions();
  /** @type {Waiter[]} */
  #openWaiters = [];

  /**
   * @param {string | readonly string[]} urls  one server, or several tried in turn
   * @param {HeraldClientOptions} [options]
   */
  constructor(urls, options = {}) {
    super();
    const list = typeof urls === 'string' ? [urls] : [...urls];
    if (list.length === 0) throw new TypeError('no server URL');
    this.#options = { ...kDefaults, ...options, random: options.random ?? Math.random };
    /** @type {WebSocketConstructor | undefined} */
    const WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WebSocket !== 'function') {
      throw new TypeError('no WebSocket: pass options.WebSocket (for example the ws package)');
    }
    this.#connection = new Connection(
      list,
      { ...this.#options, WebSocket },
      {
        setState: (state) => this.#setState(state),
        opened: (socket) => this.#onOpen(socket),
        received: (data) => this.#onMessage(data),
        lost: (close) => this.#onClose(close),
        finished: (error, byCaller) => this.#finish(error, byCaller),
        failed: (error) => this.emit('error', error),
        reconnecting: (info) => this.emit('reconnecting', info),
      },
    );
  }

  /** @returns {ConnectionState} */
  get state() {
    return this.#state;
  }

  /** The server URL in use, or tried next. */
  get url() {
    return this.#connection.url;
  }

  /**
   * The last sequence handed to every subscription, and the epoch, of `topic`, if known.
   * @param {string} topic
   */
  position(topic) {
    return this.#positions.get(topic);
  }

  /**
   * Opens the connection; resolves once open, rejects if it closes for good first. A signal
   * or timeout ends the wait only: call close() to stop connecting.
   * @param {CancelOptions} [options]
   * @returns {Promise<void>}
   */
  connect(options = {}) {
    if (this.#connection.reopenAfterClose()) this.#setState('reconnecting');
    const opened = this.#waitOpen(options);
    if (this.#state === 'idle' || this.#state === 'closed') this.#connection.start();
    return opened;
  }

  /**
   * Resolves once the connection is open (at once if it is); rejects if the client is or gets
   * closed for good first. Does not connect.
   * @param {CancelOptions} [options]
   * @returns {Promise<void>}
   */
  ready(options = {}) {
    if (this.#state === 'closed') return Promise.reject(new HeraldError('closed', 'closed'));
    return this.#waitOpen(options);
  }

  /** Closes for good (code 1000): no reconnect; queued and unacknowledged publishes reject. */
  close(code = 1000, reason = '') {
    this.#connection.close(code, reason);
  }

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
  /**
   * @param {string} pattern
   * @param {((message: Message<unknown>) => void) | SubscribeOptions} [handlerOrOptions]
   * @param {SubscribeOptions} [moreOptions]
   * @returns {Subscription<unknown>}
   */
  subscribe(pattern, handlerOrOptions, moreOptions) {
    if (!isValidPattern(pattern)) throw new HeraldError('bad_topic', `invalid pattern ${pattern}`);
    const handler = typeof handlerOrOptions === 'function' ? handlerOrOptions : null;
    if (handler === null && handlerOrOptions !== undefined && typeof handlerOrOptions !== 'object')
      throw new TypeError('handler must be a function');
    const options = (handler === null ? handlerOrOptions : moreOptions) ?? {};
    const { policy, replay } = parseSubscribeOptions(/** @type {SubscribeOptions} */ (options));
    let route = this.#routes.get(pattern);
    const resend = route === undefined || replay !== null || policy !== route.policy;
    if (route === undefined) {
      route = new Route(pattern, isPattern(pattern), policy, replay);
      this.#routes.set(pattern, route);
    } else if (resend) {
      route.policy = policy;
      route.replay = replay;
      route.synced = false;
    }
    const { bufferSize, signal } = /** @type {SubscribeOptions} */ (options);
    const subscription = new Subscription(route, handler, bufferSize, (r, s) =>
      this.#removeSubscription(r, s),
    );
    const control = /** @type {Control} */ (route.subscriptions.get(subscription));
    if (route.live) control.setState('live');
    if (resend || !route.synced) {
      // Settled by the ack of the subscribe in flight, or of the one sent here.
      route.waiting.push(control);
      const socket = this.#connection.socket;
      if (resend && socket !== null && this.#state === 'open') this.#sendSubscribe(socket, route);
    } else {
      control.settle({ complete: true });
    }
    control.follow(signal);
    return subscription;
  }

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
  publish(topic, data, { echo = true, signal, timeoutMs } = {}) {
    if (!isValidTopic(topic))
      return Promise.reject(new HeraldError('bad_topic', `invalid topic ${topic}`));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const bytes = codec.bytesOf(data);
    /** @type {Outgoing['encode']} */
    let encode;
    if (bytes !== null) {
      encode = (id) => codec.encodeBinaryPublish(topic, bytes, id, echo);
    } else {
      const json = JSON.stringify(data);
      if (json === undefined)
        return Promise.reject(new HeraldError('bad_request', 'data is not JSON'));
      encode = (id) => codec.encodePublish(topic, json, id, echo);
    }
    if (this.#state === 'closed') {
      return Promise.reject(new HeraldError('closed', 'the client is closed'));
    }
    if (this.#state !== 'open' && this.#offline.length >= this.#options.maxOfflinePublishes) {
      return Promise.reject(new HeraldError('queue_full', 'too many publishes waiting'));
    }
    return new Promise((resolve, reject) => {
      /** @type {Outgoing} */
      const entry = {
        encode,
        resolve: (seq) => (detach(), resolve(seq)),
        reject: (error) => (detach(), reject(error)),
      };
      const detach = onCancel({ signal, timeoutMs }, (error) => this.#cancelPublish(entry, error));
      if (this.#state === 'open') this.#sendPublish(entry);
      else this.#offline.push(entry);
    });
  }

  /**
   * Sends a new token (section 10) and keeps it for reconnects. Needs an open connection.
   * @param {string} token
   * @returns {Promise<void>}
   */
  authenticate(token) {
    this.#connection.token = token;
    const socket = this.#connection.socket;
    if (this.#state !== 'open' || socket === null) {
      return Promise.reject(new HeraldError('not_connected', 'not open'));
    }
    return new Promise((resolve, reject) => {
      const id = this.#requests.add({ kind: 'auth', resolve, reject });
      socket.send(codec.encodeAuth(token, id));
    });
  }

  // ---- connection -----------------------------------------------------------------------

  /** @param {ConnectionState} state */
  #setState(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous });
  }

  /**
   * @param {CancelOptions} options
   * @returns {Promise<void>}
   */
  #waitOpen(options) {
    if (this.#state === 'open') return Promise.resolve();
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
    return new Promise((resolve, reject) => {
      /** @type {Waiter} */
      const waiter = {
        resolve: () => (detach(), resolve()),
        reject: (error) => (detach(), reject(error)),
      };
      const detach = onCancel(options, (error) => {
        this.#openWaiters.splice(this.#openWaiters.indexOf(waiter), 1);
        reject(error);
      });
      this.#openWaiters.push(waiter);
    });
  }

  /** @param {Socket} socket */
  #onOpen(socket) {
    this.#generation += 1;
    this.#setState('open');
    for (const route of this.#routes.values()) this.#sendSubscribe(socket, route);
    const offline = this.#offline.splice(0);
    for (const entry of offline) this.#sendPublish(entry);
    this.emit('open');
    for (const waiter of this.#openWaiters.splice(0)) waiter.resolve();
  }

  /** @param {CloseInfo} close */
  #onClose(close) {
    this.#requests.lost(new HeraldError('connection_lost', 'connection closed before the ack'));
    for (const route of this.#routes.values()) {
      route.live = false;
      for (const control of route.subscriptions.values()) {
        if (control.state() === 'live') control.setState('recovering');
      }
    }
    this.emit('close', close);
  }

  /**
   * @param {HeraldError} error
   * @param {boolean} byCaller  close() ended it
   */
  #finish(error, byCaller) {
    for (const entry of this.#offline.splice(0)) entry.reject(error);
    // Subscriptions with a handler stay registered (a later connect() resubscribes them), but
    // no ack is coming for the ones still waiting. A loop over one ends: after close() as a
    // loop does, otherwise by throwing why.
    const ending = byCaller ? null : error;
    for (const route of [...this.#routes.values()]) {
      for (const control of route.waiting.splice(0)) control.settle(error);
      for (const [subscription, control] of [...route.subscriptions]) {
        if (!control.iterated) continue;
        control.end(ending);
        this.#removeSubscription(route, subscription);
      }
    }
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(error);
    this.#setState('closed');
  }

  // ---- outgoing -------------------------------------------------------------------------

  /** @param {Outgoing} entry */
  #sendPublish(entry) {
    const id = this.#requests.add({ kind: 'pub', entry });
    entry.id = id;
    this.#connection.socket?.send(entry.encode(id));
  }

  /**
   * @param {Outgoing} entry
   * @param {HeraldError} error
   */
  #cancelPublish(entry, error) {
    const queued = this.#offline.indexOf(entry);
    if (queued >= 0) this.#offline.splice(queued, 1);
    this.#requests.forget(entry);
    entry.reject(error);
  }

  /**
   * @param {Socket} socket
   * @param {Route} route
   */
  #sendSubscribe(socket, route, resume = true) {
    /** @type {import('./codec.js').WireSubscribeOptions} */
    let options = { policy: route.policy };
    if (!route.synced && route.replay !== null) {
      options = { ...options, ...route.replay };
    } else if (resume) {
      options = { ...options, ...this.#positions.resumeFor(route.pattern, route.isPattern) };
    }
    const resumed = options.from !== undefined && route.synced;
    const id = this.#requests.add({ kind: 'sub', route, resumed });
    socket.send(codec.encodeSubscribe(route.pattern, id, options));
  }

  /**
   * @param {Route} route
   * @param {Subscription<unknown>} subscription
   * @returns {Promise<void>}
   */
  #removeSubscription(route, subscription) {
    route.subscriptions.delete(subscription);
    if (route.subscriptions.size > 0 || this.#routes.get(route.pattern) !== route) {
      return Promise.resolve();
    }
    this.#routes.delete(route.pattern);
    this.#positions.prune([...this.#routes.keys()]);
    const socket = this.#connection.socket;
    if (this.#state !== 'open' || socket === null) return Promise.resolve();
    return new Promise((resolve) => {
      // A failure here leaves nothing to undo: the subscriptions are gone either way.
      const id = this.#requests.add({ kind: 'unsub', resolve });
      socket.send(codec.encodeUnsubscribe(route.pattern, id));
    });
  }

  // ---- incoming -------------------------------------------------------------------------

  /** @param {string | ArrayBuffer} data */
  #onMessage(data) {
    const message = typeof data === 'string' ? codec.decodeText(data) : codec.decodeBinary(data);
    if (message === null) {
      this.emit('error', new HeraldError('bad_message', 'the server sent an invalid frame'));
      return;
    }
    switch (message.type) {
      case 'msg':
        return this.#deliver(message, typeof data !== 'string');
      case 'ack':
        return this.#onAck(message);
      case 'error':
        return this.#onError(message);
      case 'gap':
        return this.emit('gap', this.#positions.onGap(message.topic, message.missed));
      case 'recovery': {
        const gap = this.#positions.onRecovery(message, this.#generation);
        if (gap !== null) this.emit('gap', gap);
        return this.emit('recovery', message);
      }
      case 'reconnect':
        return this.#connection.planMove(message);
    }
  }

  /**
   * Hands a message to every matching subscription, each isolated: one that throws or
   * overflows is reported and the others still get it. Only then does the topic's position
   * move, so a resume after a reconnect starts after what every subscription had.
   * @param {{ topic: string, seq: number, data: unknown }} message
   * @param {boolean} binary
   */
  #deliver({ topic, seq, data }, binary) {
    const { deliver, gap } = this.#positions.check(topic, seq, this.#generation);
    if (gap !== null) this.emit('gap', gap);
    if (!deliver) return;
    const message = { topic, seq, data, binary };
    // Copies: a handler may subscribe or unsubscribe while it runs.
    for (const route of [...this.#routes.values()]) {
      if (route.isPattern ? !matches(route.pattern, topic) : route.pattern !== topic) continue;
      for (const control of [...route.subscriptions.values()]) {
        const error = control.handOver(message);
        if (error !== null) this.#report(error);
      }
    }
    this.#positions.advance(topic, seq, this.#generation);
  }

  /**
   * An error of the caller's own code: to the 'error' listeners, or to the console when there
   * are none, since swallowing it would hide a bug.
   * @param {HeraldError} error
   */
  #report(error) {
    if (this.listened('error')) this.emit('error', error);
    else console.error(error);
  }

  /** @param {{ id: string | number, seq?: number, complete?: boolean }} message */
  #onAck(message) {
    const request = this.#requests.take(message.id);
    if (request === undefined) return;
    if (request.kind === 'pub') return request.entry.resolve(message.seq ?? 0);
    if (request.kind !== 'sub') return request.resolve();
    const { route } = request;
    route.synced = true;
    route.live = true;
    const answer = { complete: message.complete ?? true };
    for (const control of route.waiting.splice(0)) control.settle(answer);
    for (const control of route.subscriptions.values()) control.setState('live');
  }

  /** @param {{ code: string, text?: string, id?: string | number }} message */
  #onError(message) {
    const code = /** @type {import('./errors.js').ErrorCode} */ (message.code);
    const error = new HeraldError(code, message.text);
    const request = this.#requests.take(message.id);
    if (request === undefined) return this.emit('error', error);
    if (request.kind === 'pub') return request.entry.reject(error);
    if (request.kind === 'auth') return request.reject(error);
    if (request.kind === 'unsub') return request.resolve();
    const { route } = request;
    const socket = this.#connection.socket;
    if (message.code === 'no_history' && request.resumed) {
      // The topics no longer keep history: subscribe live and report what may be lost.
      for (const [topic, position] of this.#positions.historyTopics(route.pattern)) {
        const from = position.seq + 1;
        this.emit('gap', { topic, from, to: null, missed: null, reason: 'history' });
      }
      if (this.#state === 'open' && socket !== null) this.#sendSubscribe(socket, route, false);
      return;
    }
    this.emit('error', error);
    if (route.synced) return; // a resubscribe failed; the caller learns it from 'error'
    const refused = new Set(route.waiting.splice(0));
    for (const [subscription, control] of route.subscriptions) {
      if (!refused.has(control)) continue;
      route.subscriptions.delete(subscription);
      control.settle(error);
      control.end(error);
    }
    if (route.subscriptions.size === 0 && this.#routes.get(route.pattern) === route) {
      this.#routes.delete(route.pattern);
    }
  }
}
