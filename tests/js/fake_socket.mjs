// Test helper: a scripted WebSocket for the client's state-machine tests. The test plays the
// server: it opens, feeds and closes each socket the client makes and reads what the client
// sent. No network, no broker; every wait is bounded.

import { HeraldClient } from '../../clients/js/src/index.js';

/** A seeded uniform generator in [0, 1) (mulberry32), so jittered delays replay exactly. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FakeServer {
  /** Every socket the client made, in order. */
  sockets = [];
  #arrivals = [];

  constructor() {
    const server = this;
    this.WebSocket = class FakeWebSocket {
      constructor(url, protocol) {
        this.url = url;
        this.protocol = protocol;
        this.readyState = 0;
        this.binaryType = 'blob';
        this.sent = []; // text frames parsed as JSON, binary ones as Uint8Array
        this.closedWith = null; // the client's close(code, reason), if it called it
        server.sockets.push(this);
        for (const arrival of server.#arrivals.splice(0)) arrival();
      }

      send(data) {
        if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`);
        this.sent.push(typeof data === 'string' ? JSON.parse(data) : new Uint8Array(data));
      }

      // As a browser does: a close before the handshake is abnormal (1006); after it, the
      // server echoes the client's code once the closing handshake completes (a task later).
      close(code, reason = '') {
        if (this.readyState >= 2) return;
        this.closedWith = { code, reason };
        const early = this.readyState === 0;
        this.readyState = 2;
        setTimeout(() => (early ? this.drop(1006) : this.drop(code ?? 1005, reason)), 0);
      }

      // ---- the server's side ----

      open() {
        this.readyState = 1;
        this.onopen?.();
      }

      /** Delivers a server frame: an object (sent as JSON text), a string, or bytes. */
      receive(frame) {
        const data =
          frame instanceof Uint8Array
            ? frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)
            : typeof frame === 'string'
              ? frame
              : JSON.stringify(frame);
        this.onmessage?.({ data });
      }

      /** The connection ends with `code` (1006: abnormally, without a closing handshake). */
      drop(code = 1006, reason = '') {
        if (this.readyState === 3) return;
        this.readyState = 3;
        this.onclose?.({ code, reason, wasClean: code !== 1006 });
      }

      /** Commands of one op the client sent on this socket. */
      ops(op) {
        return this.sent.filter((c) => c.op === op);
      }

      /** Acknowledges every subscribe sent so far that was not acknowledged yet. */
      ackSubscribes() {
        this.acked ??= new Set();
        for (const command of this.ops('sub')) {
          if (this.acked.has(command.id)) continue;
          this.acked.add(command.id);
          this.receive({ type: 'ack', id: command.id });
        }
      }
    };
  }

  /** Resolves with socket number `index` (0-based) once the client made it. */
  async socket(index, timeoutMs = 2000) {
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.length <= index) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no socket ${index} within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#arrivals.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return this.sockets[index];
  }

  /** Socket number `index`, once the client made it, opened by the server. */
  async opened(index) {
    const socket = await this.socket(index);
    socket.open();
    return socket;
  }

  /** A client on this server (reconnects immediately unless told otherwise), and its log. */
  client(options = {}, urls = 'ws://fake/') {
    const client = new HeraldClient(urls, {
      WebSocket: this.WebSocket,
      random: () => 0,
      ...options,
    });
    const log = { states: [], reconnecting: [], errors: [], closes: [], gaps: [] };
    client.on('state', ({ state }) => log.states.push(state));
    client.on('reconnecting', (r) => log.reconnecting.push(r));
    client.on('error', (e) => log.errors.push(e));
    client.on('close', (c) => log.closes.push(c.code));
    client.on('gap', (g) => log.gaps.push(g));
    return { client, log };
  }

  /** A client connected on its first socket; returns { client, log, socket }. */
  async connected(options = {}, urls = 'ws://fake/') {
    const made = this.client(options, urls);
    const index = this.sockets.length;
    const opened = made.client.connect();
    const socket = await this.socket(index);
    socket.open();
    await opened;
    return { ...made, socket };
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A text message frame. */
export const msg = (topic, seq, data) => ({ type: 'msg', topic, seq, data });
