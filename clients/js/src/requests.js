// The commands waiting for the server's answer, by id (PROTOCOL.md section 3). Ids are taken
// in turn below 2^32, since binary publish ids are unsigned 32-bit (section 5); each answer
// finds its request once. No I/O.

const kIdLimit = 2 ** 32;

/**
 * A publish: sent, or waiting in the offline queue for a connection.
 * @typedef {{ encode: (id: number) => string | Uint8Array, id?: number,
 *   resolve: (seq: number) => void,
 *   reject: (error: import('./errors.js').HeraldError) => void }} Outgoing
 */

/**
 * @typedef {{ kind: 'pub', entry: Outgoing }
 *   | { kind: 'sub', route: import('./subscription.js').Route, resumed: boolean }
 *   | { kind: 'unsub', resolve: () => void }
 *   | { kind: 'auth', resolve: () => void,
 *       reject: (error: import('./errors.js').HeraldError) => void }} Request
 */

export class Requests {
  #next = 1;
  /** @type {Map<number, Request>} */
  #pending = new Map();

  /**
   * Registers `request` under a new id, and returns the id.
   * @param {Request} request
   */
  add(request) {
    const id = this.#next;
    this.#next = id + 1 >= kIdLimit ? 1 : id + 1;
    this.#pending.set(id, request);
    return id;
  }

  /**
   * The request that `id` answers, taken out; undefined for an id not ours, or answered.
   * @param {string | number | undefined} id
   */
  take(id) {
    if (typeof id !== 'number') return undefined;
    const request = this.#pending.get(id);
    this.#pending.delete(id);
    return request;
  }

  /**
   * Forgets a publish whose caller stopped waiting: its ack, if one comes, is ignored.
   * @param {Outgoing} entry
   */
  forget(entry) {
    if (entry.id !== undefined && this.#pending.get(entry.id)?.kind === 'pub') {
      this.#pending.delete(entry.id);
    }
  }

  /**
   * The connection is gone and no answer is coming. Publishes and auths reject with `error`:
   * they may or may not have taken effect, so they are not resent and the caller decides.
   * Unsubscribes resolve (the subscription went with the connection); subscribes are sent
   * again on the next connection.
   * @param {import('./errors.js').HeraldError} error
   */
  lost(error) {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) {
      if (request.kind === 'pub') request.entry.reject(error);
      if (request.kind === 'auth') request.reject(error);
      if (request.kind === 'unsub') request.resolve();
    }
  }
}
