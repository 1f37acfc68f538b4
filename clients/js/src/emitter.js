// A minimal event emitter, the same in browsers and Node (no EventTarget subclassing, whose
// event objects differ between them). A throwing listener does not stop the others.

export class Emitter {
  #listeners = new Map();

  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return this;
  }

  off(event, listener) {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  once(event, listener) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  emit(event, ...args) {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
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
