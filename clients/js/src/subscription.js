// Subscriptions as the caller sees them, and the routes they share: one wire subscription per
// distinct pattern, however many handlers it feeds (the server keeps one per topic string).

import { HeraldError } from './errors.js';

const kPolicies = new Set(['disconnect', 'drop', 'conflate', 'catchup']);
const kReplayOptions = ['from', 'epoch', 'last', 'since', 'snapshot'];

/** Checks subscribe options; returns { policy, replay } or throws a HeraldError. */
export function parseSubscribeOptions(options = {}) {
  for (const name of Object.keys(options)) {
    if (name !== 'policy' && !kReplayOptions.includes(name)) {
      throw new HeraldError('bad_request', `unknown subscribe option ${name}`);
    }
  }
  if (options.policy !== undefined && !kPolicies.has(options.policy)) {
    throw new HeraldError('bad_request', `unknown policy ${options.policy}`);
  }
  const positions = ['from', 'last', 'since', 'snapshot'].filter((n) => options[n] !== undefined);
  if (positions.length > 1) {
    throw new HeraldError('bad_request', `at most one of ${positions.join(', ')}`);
  }
  if (options.epoch !== undefined && options.from === undefined) {
    throw new HeraldError('bad_request', 'epoch needs from');
  }
  let replay = null;
  if (positions.length === 1) {
    replay = {};
    for (const name of kReplayOptions) {
      if (options[name] !== undefined) replay[name] = options[name];
    }
  }
  return { policy: options.policy, replay };
}

/** One handler on one pattern. `ready` settles with the server's answer to its subscribe. */
export class Subscription {
  #route;
  #remove;

  constructor(route, handler, remove) {
    this.pattern = route.pattern;
    this.handler = handler;
    this.#route = route;
    this.#remove = remove;
    this.active = true;
    this.ready = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A caller who never awaits `ready` must not get an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** Stops this handler; the wire subscription goes when its last handler does. */
  unsubscribe() {
    if (!this.active) return Promise.resolve();
    this.active = false;
    return this.#remove(this.#route, this);
  }
}

/** The wire subscription of one pattern. */
export class Route {
  constructor(pattern, isPattern, policy, replay) {
    this.pattern = pattern;
    this.isPattern = isPattern;
    this.policy = policy;
    this.replay = replay;
    this.subscriptions = new Set();
    this.waiting = [];
    // Whether a subscribe with these options was acknowledged: from then on a reconnect
    // resumes from the positions seen rather than repeating the caller's replay request.
    this.synced = false;
  }
}
