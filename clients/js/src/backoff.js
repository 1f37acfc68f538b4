// Reconnect delays and the order servers are tried in. Backoff is exponential with full jitter
// and a cap ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015): round n waits a
// uniform random time in [0, min(cap, base * 2^(n-1))], so a fleet does not reconnect in
// lockstep. No timers here: the client asks, then waits.

/**
 * @param {number} attempt  1 for the first
 * @param {number} baseMs
 * @param {number} capMs
 * @param {() => number} [random]  uniform in [0, 1)
 */
export function backoffDelay(attempt, baseMs, capMs, random = Math.random) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/**
 * The server URLs in turn. After a failure the next URL is tried; a round is one try of each,
 * and only a round's first try waits (the backoff of the round's number), so a dead server is
 * skipped at once and a fleet of dead ones is retried with growing delays. A planned move (the
 * server's `reconnect` message) takes the next URL without counting a failure.
 */
export class Rotation {
  #urls;
  #index = 0;
  #failures = 0;

  /** @param {readonly string[]} urls */
  constructor(urls) {
    this.#urls = urls;
  }

  get url() {
    return this.#urls[this.#index];
  }

  /** Failed attempts since the last open connection. */
  get failures() {
    return this.#failures;
  }

  /** A connection opened, or the caller connects anew: failures start again from 0. */
  reset() {
    this.#failures = 0;
  }

  /** The URL after the current one, where a planned move goes. */
  get next() {
    return this.#urls[(this.#index + 1) % this.#urls.length];
  }

  /** Moves to the next URL as a planned move, not counted as a failure. */
  planned() {
    this.#index = (this.#index + 1) % this.#urls.length;
  }

  /**
   * Counts a failure, moves to the next URL and returns the attempt number and the delay to
   * wait before trying it.
   * @param {number} baseMs
   * @param {number} capMs
   * @param {() => number} random
   */
  failed(baseMs, capMs, random) {
    this.#failures += 1;
    this.#index = (this.#index + 1) % this.#urls.length;
    const count = this.#urls.length;
    const round = Math.ceil(this.#failures / count);
    const first = (this.#failures - 1) % count === 0;
    return {
      attempt: this.#failures,
      url: this.url,
      delay: first ? backoffDelay(round, baseMs, capMs, random) : 0,
    };
  }
}
