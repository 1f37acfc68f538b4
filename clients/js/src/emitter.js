// A minimal typed event emitter, the same in browsers and Node (no EventTarget subclassing,
// whose event objects differ between them). A throwing listener does not stop the others.

/**
 * @template {Record<string, unknown[]>} Events  each event's name and its listener's arguments
 */
export class Emitter {
  /** @type {{ [E in keyof Events]?: Set<(...args: Events[E]) => void> }} */
  #listeners = Object.create(null);

  /**
   * @template {keyof Events} E
   * @param {E} event
   * @param {(...args: Events[E]) => void} listener
   * @returns {this}
   */
  on(event, listener) {
    (this.#listeners[event] ??= new Set()).add(listener);
    return this;
  }

  /**
   * @template {keyof Events} E
   * @param {E} event
   * @param {(...args: Events[E]) => void} listener
   * @returns {this}
   */
  off(event, listener) {
    this.#listeners[event]?.delete(listener);
    return this;
  }

  /**
   * @template {keyof Events} E
   * @param {E} event
   * @param {(...args: Events[E]) => void} listener
   * @returns {this}
   */
  once(event, listener) {
    /** @param {Events[E]} args */
    const wrapper = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  /**
   * @protected
   * @template {keyof Events} E
   * @param {E} event
   * @returns {boolean}
   */
  listened(event) {
    return (this.#listeners[event]?.size ?? 0) > 0;
  }

  /**
   * @protected
   * @template {keyof Events} E
   * @param {E} event
   * @param {Events[E]} args
   */
  emit(event, ...args) {
    for (const listener of [...(this.#listeners[event] ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        // Reported asynchronously, so one bad listener cannot break the client's state.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
