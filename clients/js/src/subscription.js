// Subscriptions as the caller sees them (a handler, or an async iterable with a bounded
// buffer), and the routes they share: one wire subscription per distinct pattern, however many
// subscriptions it feeds (the server keeps one per topic string). No I/O: the client drives.

import { abortError } from './abort.js';
import { Emitter } from './emitter.js';
import { HeraldError } from './errors.js';

const kPolicies = new Set(['disconnect', 'drop', 'conflate', 'catchup']);
const kReplayOptions = ['from', 'epoch', 'last', 'since', 'snapshot'];
const kLocalOptions = ['policy', 'signal', 'bufferSize'];
const kBufferSizeDefault = 1024;

/** @typedef {'disconnect' | 'drop' | 'conflate' | 'catchup'} SlowConsumerPolicy */

/**
 * 'subscribing' until the server's first ack; 'live' while acknowledged on an open connection;
 * 'recovering' from a lost connection until the resubscribe's ack; 'unsubscribed' at the end.
 * @typedef {'subscribing' | 'live' | 'recovering' | 'unsubscribed'} SubscriptionState
 */

/** @typedef {{ state: SubscriptionState, previous: SubscriptionState }} SubscriptionStateChange */

/**
 * @template [T=unknown]
 * @typedef {object} Message
 * @property {string} topic
 * @property {number} seq
 * @property {T} data  the parsed JSON value of a text message, the bytes (Uint8Array) of a
 *   binary one; T is the caller's word for it, not checked
 * @property {boolean} binary
 */

/**
 * @typedef {object} SubscribeOptions
 * @property {SlowConsumerPolicy} [policy]  PROTOCOL.md section 6
 * @property {number | Record<string, number>} [from]  replay from this sequence (a topic),
 *   or per topic (a pattern)
 * @property {string | Record<string, string>} [epoch]  with `from`: the epoch last seen
 * @property {number} [last]  the last K retained messages of each matching topic
 * @property {number} [since]  retained messages published at or after this Unix time in ms
 * @property {boolean} [snapshot]  the latest retained message of each matching topic
 * @property {AbortSignal} [signal]  aborting it unsubscribes
 * @property {number} [bufferSize]  messages an iterated subscription holds for its loop
 *   (default 1024); one more ends the subscription with a HeraldError 'overflow'
 */

/** @typedef {Pick<SubscribeOptions, 'from' | 'epoch' | 'last' | 'since' | 'snapshot'>} Replay */

/**
 * Checks subscribe options; returns the wire part ({ policy, replay }) or throws.
 * @param {SubscribeOptions} options
 */
export function parseSubscribeOptions(options) {
  for (const name of Object.keys(options)) {
    if (!kLocalOptions.includes(name) && !kReplayOptions.includes(name)) {
      throw new HeraldError('bad_request', `unknown subscribe option ${name}`);
    }
  }
  if (options.policy !== undefined && !kPolicies.has(options.policy)) {
    throw new HeraldError('bad_request', `unknown policy ${options.policy}`);
  }
  const size = options.bufferSize;
  if (size !== undefined && !(Number.isSafeInteger(size) && size > 0)) {
    throw new HeraldError('bad_request', 'bufferSize must be a positive integer');
  }
  const positions = ['from', 'last', 'since', 'snapshot'].filter(
    (n) => options[/** @type {keyof Replay} */ (n)] !== undefined,
  );
  if (positions.length > 1) {
    throw new HeraldError('bad_request', `at most one of ${positions.join(', ')}`);
  }
  if (options.epoch !== undefined && options.from === undefined) {
    throw new HeraldError('bad_request', 'epoch needs from');
  }
  /** @type {Replay | null} */
  let replay = null;
  if (positions.length === 1) {
    const { from, epoch, last, since, snapshot } = options;
    replay = Object.fromEntries(
      Object.entries({ from, epoch, last, since, snapshot }).filter(([, v]) => v !== undefined),
    );
  }
  return { policy: options.policy, replay };
}

/**
 * What the client drives a subscription with, kept out of its public face.
 * @typedef {object} Control
 * @property {boolean} iterated  no handler: a loop reads its messages
 * @property {() => SubscriptionState} state
 * @property {(message: Message<unknown>) => HeraldError | null} handOver  calls the handler or
 *   buffers the message; returns the error to report (a throwing handler, a full buffer)
 * @property {(error: HeraldError | null) => void} end  unsubscribed; a loop ends once its
 *   buffer is drained, throwing `error` when given
 * @property {(answer: { complete: boolean } | HeraldError) => void} settle  settles `ready`
 * @property {(state: SubscriptionState) => void} setState
 * @property {(signal: AbortSignal | undefined) => void} follow  unsubscribes when it aborts
 */

/**
 * One handler, or one loop's buffer, on one pattern; made by HeraldClient.subscribe(). `ready`
 * settles with the server's answer to its subscribe. Iterate it (`for await`) when it was made
 * without a handler: one loop at a time; leaving the loop unsubscribes.
 * @template [T=unknown]
 * @extends {Emitter<{ state: [SubscriptionStateChange] }>}
 */
export class Subscription extends Emitter {
  #route;
  #handler;
  #remove;
  #bufferSize;
  /** @type {Message<T>[]} */
  #buffer = [];
  /**
   * The loop's next() calls waiting for a message (only while the buffer is empty).
   * @type {{ resolve: (r: IteratorResult<Message<T>, undefined>) => void,
   *   reject: (e: HeraldError) => void }[]}
   */
  #waiters = [];
  /** @type {{ error: HeraldError | null } | null} */
  #ended = null;
  /** @type {SubscriptionState} */
  #state = 'subscribing';
  /** @type {(answer: { complete: boolean }) => void} */
  #resolve = () => {};
  /** @type {(error: HeraldError) => void} */
  #reject = () => {};

  /**
   * Registers itself in `route.subscriptions` with its Control.
   * @param {Route} route
   * @param {((message: Message<T>) => void) | null} handler
   * @param {number | undefined} bufferSize
   * @param {(route: Route, subscription: Subscription<T>) => Promise<void>} remove
   */
  constructor(route, handler, bufferSize, remove) {
    super();
    this.#route = route;
    this.#handler = handler;
    this.#bufferSize = bufferSize ?? kBufferSizeDefault;
    this.#remove = remove;
    /**
     * Resolves on the server's ack (`complete`: every replay was whole); rejects with its
     * error, or when the client closes for good or the signal aborts before the ack.
     * @readonly
     * @type {Promise<{ complete: boolean }>}
     */
    this.ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller who never awaits `ready` must not get an unhandled rejection.
    this.ready.catch(() => {});
    // T is the caller's word for the data, unchecked: the route holds every subscription alike.
    const self = /** @type {Subscription<unknown>} */ (/** @type {unknown} */ (this));
    route.subscriptions.set(self, {
      iterated: handler === null,
      state: () => this.#state,
      handOver: (message) => this.#handOver(/** @type {Message<T>} */ (message)),
      end: (error) => this.#end(error),
      settle: (answer) => this.#settle(answer),
      setState: (state) => this.#setState(state),
      follow: (signal) => this.#follow(signal),
    });
  }

  get pattern() {
    return this.#route.pattern;
  }

  /** @returns {SubscriptionState} */
  get state() {
    return this.#state;
  }

  get active() {
    return this.#state !== 'unsubscribed';
  }

  /** Stops this subscription; the wire subscription goes when its last subscription does. */
  unsubscribe() {
    if (!this.active) return Promise.resolve();
    this.#buffer.length = 0;
    this.#end(null);
    return this.#remove(this.#route, this);
  }

  /** @returns {AsyncIterableIterator<Message<T>>} */
  [Symbol.asyncIterator]() {
    if (this.#handler !== null)
      throw new TypeError('a subscription with a handler is not iterable');
    return {
      next: () => this.#next(),
      // Leaving the loop does not wait for the server's answer to the unsubscribe.
      return: () => {
        this.unsubscribe();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** @returns {Promise<IteratorResult<Message<T>, undefined>>} */
  #next() {
    const message = this.#buffer.shift();
    if (message !== undefined) return Promise.resolve({ done: false, value: message });
    if (this.#ended !== null) {
      const { error } = this.#ended;
      this.#ended.error = null; // thrown once; the loop is over after that
      return error === null
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * @param {Message<T>} message
   * @returns {HeraldError | null}
   */
  #handOver(message) {
    if (!this.active) return null;
    if (this.#handler !== null) {
      try {
        this.#handler(message);
        return null;
      } catch (error) {
        const text = `a handler of ${this.pattern} threw on seq ${message.seq}`;
        return new HeraldError('handler_failed', text, { ...where(message), cause: error });
      }
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: message });
      return null;
    }
    if (this.#buffer.length < this.#bufferSize) {
      this.#buffer.push(message);
      return null;
    }
    // The loop fell behind by a whole buffer: end it loudly rather than drop silently; what is
    // buffered is still yielded first, then the loop throws this error.
    const text = `the loop on ${this.pattern} fell ${this.#bufferSize} messages behind`;
    const error = new HeraldError('overflow', text, where(message));
    this.#end(error);
    this.#remove(this.#route, this);
    return error;
  }

  /** @param {HeraldError | null} error */
  #end(error) {
    if (!this.active) return;
    this.#reject(error ?? new HeraldError('closed', 'unsubscribed'));
    this.#ended = { error };
    this.#setState('unsubscribed');
    // Waiters exist only while the buffer is empty: the first gets the error, if any.
    for (const waiter of this.#waiters.splice(0)) this.#next().then(waiter.resolve, waiter.reject);
  }

  /** @param {{ complete: boolean } | HeraldError} answer */
  #settle(answer) {
    if (answer instanceof HeraldError) this.#reject(answer);
    else this.#resolve(answer);
  }

  /** @param {SubscriptionState} state */
  #setState(state) {
    if (state === this.#state || this.#state === 'unsubscribed') return;
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous });
  }

  /** @param {AbortSignal | undefined} signal */
  #follow(signal) {
    if (signal === undefined) return;
    const abort = () => {
      this.#reject(abortError(signal));
      this.unsubscribe();
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    this.on('state', ({ state }) => {
      if (state === 'unsubscribed') signal.removeEventListener('abort', abort);
    });
  }
}

/** @param {Message<unknown>} message */
function where({ topic, seq }) {
  return { topic, seq };
}

/** The wire subscription of one pattern. */
export class Route {
  /**
   * @param {string} pattern
   * @param {boolean} isPattern
   * @param {SlowConsumerPolicy | undefined} policy
   * @param {Replay | null} replay
   */
  constructor(pattern, isPattern, policy, replay) {
    this.pattern = pattern;
    this.isPattern = isPattern;
    this.policy = policy;
    this.replay = replay;
    /** @type {Map<Subscription<unknown>, Control>} */
    this.subscriptions = new Map();
    /** @type {Control[]} the subscriptions whose `ready` the subscribe in flight settles */
    this.waiting = [];
    // Whether a subscribe with these options was acknowledged: from then on a reconnect
    // resumes from the positions seen rather than repeating the caller's replay request.
    this.synced = false;
    /** Acknowledged on the open connection: a subscription joining it is live at once. */
    this.live = false;
  }
}
