// HeraldClient: one WebSocket to a Herald broker, kept open across failures. It owns the
// connection state, reconnects with backoff, resubscribes from the last positions seen and
// queues publishes while offline. The wire format lives in codec.js, positions in positions.js.

import { backoffDelay } from './backoff.js';
import * as codec from './codec.js';
import { Emitter } from './emitter.js';
import { HeraldError } from './errors.js';
import { Positions } from './positions.js';
import { Route, Subscription, parseSubscribeOptions } from './subscription.js';
import { isPattern, isValidPattern, isValidTopic, matches } from './topic.js';

// PROTOCOL.md section 8: the server would refuse these again, so retrying needs a change.
const kFinalCloseCodes = new Set([1002, 1007, 1008, 1009, 4001, 4003]);
const kAuthCloseCodes = new Set([4001, 4003]);
const kIdLimit = 2 ** 32; // binary publish ids are unsigned 32-bit (section 5)

const kDefaults = {
  reconnect: true,
  backoffBaseMs: 250,
  backoffCapMs: 10_000,
  maxReconnectAttempts: Infinity,
  connectTimeoutMs: 10_000,
  maxOfflinePublishes: 1000,
};

export class HeraldClient extends Emitter {
  #url;
  #options;
  #WebSocket;
  #socket = null;
  #state = 'idle';
  #generation = 0; // connections opened so far
  #attempt = 0;
  #timer = null;
  #token;
  #lastToken;
  #refusedToken; // a token the server closed with 4001/4003; retried only once it changes
  #userClosed = false;
  #nextId = 1;
  #pending = new Map(); // id -> { kind, resolve, reject, route }
  #offline = []; // publishes waiting for a connection
  #routes = new Map(); // pattern -> Route
  #positions = new Positions();
  #connectWaiters = [];

  constructor(url, options = {}) {
    super();
    this.#url = url;
    this.#options = { ...kDefaults, ...options };
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError('no WebSocket: pass options.WebSocket (for example the ws package)');
    }
    this.#token = options.token;
  }

  /** 'idle', 'connecting', 'open', 'reconnecting' or 'closed'. */
  get state() {
    return this.#state;
  }

  /** The last sequence delivered and the epoch of `topic`, if known. */
  position(topic) {
    return this.#positions.get(topic);
  }

  /** Opens the connection; resolves once open, rejects if it closes for good first. */
  connect() {
    if (this.#state === 'open') return Promise.resolve();
    const opened = new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#state === 'idle' || this.#state === 'closed') {
      this.#userClosed = false;
      this.#attempt = 0;
      this.#open();
    }
    return opened;
  }

  /** Closes for good (code 1000): no reconnect; queued and unacknowledged publishes reject. */
  close(code = 1000, reason = '') {
    this.#userClosed = true;
    clearTimeout(this.#timer);
    if (this.#socket !== null) {
      this.#socket.close(code, reason);
    } else {
      this.#finish(new HeraldError('closed', 'closed by the caller'));
    }
  }

  /**
   * Subscribes `handler(message)` to a topic or pattern. Options: `policy` (section 6) and one
   * of `from` (with `epoch`), `last`, `since`, `snapshot` (section 9). Returns a Subscription.
   */
  subscribe(pattern, handler, options = {}) {
    if (!isValidPattern(pattern)) throw new HeraldError('bad_topic', `invalid pattern ${pattern}`);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const { policy, replay } = parseSubscribeOptions(options);
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
    const subscription = new Subscription(route, handler, (r, s) => this.#removeSubscription(r, s));
    route.subscriptions.add(subscription);
    if (resend || !route.synced) {
      // Settled by the ack of the subscribe in flight, or of the one sent here.
      route.waiting.push(subscription);
      if (resend && this.#state === 'open') this.#sendSubscribe(route);
    } else {
      subscription.settle.resolve({ complete: true });
    }
    return subscription;
  }

  /**
   * Publishes a JSON value, a string, or binary data (ArrayBuffer or a typed array). Resolves
   * with the sequence number the broker gave it; rejects with the server's error (HeraldError).
   * While offline, up to maxOfflinePublishes wait for the connection; beyond that, or once
   * closed for good, it rejects at once ('queue_full', 'closed').
   */
  publish(topic, data, { echo = true } = {}) {
    if (!isValidTopic(topic))
      return Promise.reject(new HeraldError('bad_topic', `invalid topic ${topic}`));
    const bytes = codec.bytesOf(data);
    let encode;
    if (bytes !== null) {
      encode = (id) => codec.encodeBinaryPublish(topic, bytes, id, echo);
    } else {
      const json = JSON.stringify(data);
      if (json === undefined)
        return Promise.reject(new HeraldError('bad_request', 'data is not JSON'));
      encode = (id) => codec.encodePublish(topic, json, id, echo);
    }
    return new Promise((resolve, reject) => {
      const entry = { encode, resolve, reject };
      if (this.#state === 'open') {
        this.#sendPublish(entry);
      } else if (this.#state === 'closed') {
        reject(new HeraldError('closed', 'the client is closed'));
      } else if (this.#offline.length >= this.#options.maxOfflinePublishes) {
        reject(new HeraldError('queue_full', 'too many publishes waiting for a connection'));
      } else {
        this.#offline.push(entry);
      }
    });
  }

  /** Sends a new token (section 10) and keeps it for reconnects. Needs an open connection. */
  authenticate(token) {
    this.#token = token;
    if (this.#state !== 'open') return Promise.reject(new HeraldError('not_connected', 'not open'));
    return new Promise((resolve, reject) => {
      const id = this.#takeId();
      this.#pending.set(id, { kind: 'auth', resolve, reject });
      this.#socket.send(codec.encodeAuth(token, id));
    });
  }

  // ---- connection -----------------------------------------------------------------------

  #setState(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous });
  }

  async #open() {
    this.#setState('connecting');
    let url = this.#url;
    try {
      const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
      if (this.#userClosed) return this.#finish(new HeraldError('closed', 'closed by the caller'));
      if (this.#refusedToken !== undefined && token === this.#refusedToken) {
        return this.#finish(new HeraldError('unauthorized', 'the server refused the token'));
      }
      this.#lastToken = token;
      if (token) url = withToken(url, token);
      this.#socket = new this.#WebSocket(url, 'herald.v1');
    } catch (error) {
      this.emit('error', error);
      return this.#afterClose({
        code: 1006,
        reason: String(error.message ?? error),
        wasClean: false,
      });
    }
    const socket = this.#socket;
    socket.binaryType = 'arraybuffer';
    const timeout = setTimeout(() => socket.close(), this.#options.connectTimeoutMs);
    socket.onopen = () => {
      clearTimeout(timeout);
      this.#onOpen();
    };
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onerror = (event) =>
      this.emit('error', event.error ?? new HeraldError('socket_error', event.message));
    socket.onclose = (event) => {
      clearTimeout(timeout);
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#afterClose({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    };
  }

  #onOpen() {
    this.#generation += 1;
    this.#attempt = 0;
    this.#refusedToken = undefined;
    this.#setState('open');
    for (const route of this.#routes.values()) this.#sendSubscribe(route);
    const offline = this.#offline.splice(0);
    for (const entry of offline) this.#sendPublish(entry);
    this.emit('open');
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
  }

  #afterClose(close) {
    // Unacknowledged publishes may or may not have been published: they are not resent (that
    // could duplicate them) but rejected, and the caller decides.
    for (const [id, request] of this.#pending) {
      if (request.kind !== 'sub' && request.kind !== 'unsub') {
        request.reject(new HeraldError('connection_lost', 'connection closed before the ack'));
      }
      this.#pending.delete(id);
    }
    this.emit('close', close);
    if (this.#userClosed) return this.#finish(new HeraldError('closed', 'closed by the caller'));
    const final = kFinalCloseCodes.has(close.code);
    if (kAuthCloseCodes.has(close.code)) this.#refusedToken = this.#lastToken;
    if (final && !(kAuthCloseCodes.has(close.code) && typeof this.#token === 'function')) {
      return this.#finish(
        new HeraldError('closed', `closed by the server: ${close.code} ${close.reason}`),
      );
    }
    if (!this.#options.reconnect || this.#attempt >= this.#options.maxReconnectAttempts) {
      return this.#finish(new HeraldError('closed', `connection closed: ${close.code}`));
    }
    this.#attempt += 1;
    const delay = backoffDelay(
      this.#attempt,
      this.#options.backoffBaseMs,
      this.#options.backoffCapMs,
    );
    this.#setState('reconnecting');
    this.emit('reconnecting', { attempt: this.#attempt, delay });
    this.#timer = setTimeout(() => this.#open(), delay);
  }

  #finish(error) {
    for (const entry of this.#offline.splice(0)) entry.reject(error);
    // Subscriptions stay registered (a later connect() resubscribes them), but no ack is
    // coming for the ones still waiting.
    for (const route of this.#routes.values()) {
      for (const subscription of route.waiting.splice(0)) subscription.settle.reject(error);
    }
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    this.#setState('closed');
  }

  #takeId() {
    const id = this.#nextId;
    this.#nextId = id + 1 >= kIdLimit ? 1 : id + 1;
    return id;
  }

  // ---- outgoing -------------------------------------------------------------------------

  #sendPublish(entry) {
    const id = this.#takeId();
    this.#pending.set(id, { kind: 'pub', resolve: entry.resolve, reject: entry.reject });
    this.#socket.send(entry.encode(id));
  }

  #sendSubscribe(route, { resume = true } = {}) {
    let options = { policy: route.policy };
    if (!route.synced && route.replay !== null) {
      options = { ...options, ...route.replay };
    } else if (resume) {
      options = { ...options, ...this.#positions.resumeFor(route.pattern, route.isPattern) };
    }
    const id = this.#takeId();
    this.#pending.set(id, {
      kind: 'sub',
      route,
      resumed: options.from !== undefined && route.synced,
    });
    this.#socket.send(codec.encodeSubscribe(route.pattern, id, options));
  }

  #removeSubscription(route, subscription) {
    route.subscriptions.delete(subscription);
    if (route.subscriptions.size > 0 || this.#routes.get(route.pattern) !== route) {
      return Promise.resolve();
    }
    this.#routes.delete(route.pattern);
    this.#positions.prune([...this.#routes.keys()]);
    if (this.#state !== 'open') return Promise.resolve();
    return new Promise((resolve) => {
      const id = this.#takeId();
      // A failure here leaves nothing to undo: the handlers are gone either way.
      this.#pending.set(id, { kind: 'unsub', resolve, reject: resolve });
      this.#socket.send(codec.encodeUnsubscribe(route.pattern, id));
    });
  }

  // ---- incoming -------------------------------------------------------------------------

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
    }
  }

  #deliver(message, binary) {
    const { deliver, gap } = this.#positions.onMessage(
      message.topic,
      message.seq,
      this.#generation,
    );
    if (gap !== null) this.emit('gap', gap);
    if (!deliver) return;
    const delivered = { topic: message.topic, seq: message.seq, data: message.data, binary };
    for (const route of this.#routes.values()) {
      if (
        route.isPattern ? !matches(route.pattern, message.topic) : route.pattern !== message.topic
      ) {
        continue;
      }
      for (const subscription of route.subscriptions) subscription.handler(delivered);
    }
  }

  #onAck(message) {
    const request = this.#pending.get(message.id);
    if (request === undefined) return;
    this.#pending.delete(message.id);
    if (request.kind === 'pub') return request.resolve(message.seq);
    if (request.kind !== 'sub') return request.resolve();
    request.route.synced = true;
    const answer = { complete: message.complete ?? true };
    for (const subscription of request.route.waiting.splice(0)) subscription.settle.resolve(answer);
  }

  #onError(message) {
    const error = new HeraldError(message.code, message.text);
    const request = message.id === undefined ? undefined : this.#pending.get(message.id);
    if (request === undefined) return this.emit('error', error);
    this.#pending.delete(message.id);
    if (request.kind !== 'sub') return request.reject(error);
    const { route } = request;
    if (message.code === 'no_history' && request.resumed) {
      // The topics no longer keep history: subscribe live and report what may be lost.
      for (const [topic, position] of this.#positions.historyTopics(route.pattern)) {
        this.emit('gap', {
          topic,
          from: position.seq + 1,
          to: null,
          missed: null,
          reason: 'history',
        });
      }
      if (this.#state === 'open') this.#sendSubscribe(route, { resume: false });
      return;
    }
    this.emit('error', error);
    if (route.synced) return; // a resubscribe failed; the caller learns it from 'error'
    for (const subscription of route.waiting.splice(0)) {
      subscription.active = false;
      route.subscriptions.delete(subscription);
      subscription.settle.reject(error);
    }
    if (route.subscriptions.size === 0 && this.#routes.get(route.pattern) === route) {
      this.#routes.delete(route.pattern);
    }
  }
}

function withToken(url, token) {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}
