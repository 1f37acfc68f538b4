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
export function parseSubscribeOptions(options: SubscribeOptions): {
    policy: SlowConsumerPolicy | undefined;
    replay: Pick<SubscribeOptions, "from" | "epoch" | "last" | "since" | "snapshot"> | null;
};
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
export class Subscription<T = unknown> extends Emitter<{
    state: [SubscriptionStateChange];
}> {
    /**
     * Registers itself in `route.subscriptions` with its Control.
     * @param {Route} route
     * @param {((message: Message<T>) => void) | null} handler
     * @param {number | undefined} bufferSize
     * @param {(route: Route, subscription: Subscription<T>) => Promise<void>} remove
     */
    constructor(route: Route, handler: ((message: Message<T>) => void) | null, bufferSize: number | undefined, remove: (route: Route, subscription: Subscription<T>) => Promise<void>);
    /**
     * Resolves on the server's ack (`complete`: every replay was whole); rejects with its
     * error, or when the client closes for good or the signal aborts before the ack.
     * @readonly
     * @type {Promise<{ complete: boolean }>}
     */
    readonly ready: Promise<{
        complete: boolean;
    }>;
    get pattern(): string;
    /** @returns {SubscriptionState} */
    get state(): SubscriptionState;
    get active(): boolean;
    /** Stops this subscription; the wire subscription goes when its last subscription does. */
    unsubscribe(): Promise<void>;
    /** @returns {AsyncIterableIterator<Message<T>>} */
    [Symbol.asyncIterator](): AsyncIterableIterator<Message<T>>;
    #private;
}
/** The wire subscription of one pattern. */
export class Route {
    /**
     * @param {string} pattern
     * @param {boolean} isPattern
     * @param {SlowConsumerPolicy | undefined} policy
     * @param {Replay | null} replay
     */
    constructor(pattern: string, isPattern: boolean, policy: SlowConsumerPolicy | undefined, replay: Replay | null);
    pattern: string;
    isPattern: boolean;
    policy: SlowConsumerPolicy | undefined;
    replay: Pick<SubscribeOptions, "from" | "epoch" | "last" | "since" | "snapshot"> | null;
    /** @type {Map<Subscription<unknown>, Control>} */
    subscriptions: Map<Subscription<unknown>, Control>;
    /** @type {Control[]} the subscriptions whose `ready` the subscribe in flight settles */
    waiting: Control[];
    synced: boolean;
    /** Acknowledged on the open connection: a subscription joining it is live at once. */
    live: boolean;
}
export type SlowConsumerPolicy = "disconnect" | "drop" | "conflate" | "catchup";
/**
 * 'subscribing' until the server's first ack; 'live' while acknowledged on an open connection;
 * 'recovering' from a lost connection until the resubscribe's ack; 'unsubscribed' at the end.
 */
export type SubscriptionState = "subscribing" | "live" | "recovering" | "unsubscribed";
export type SubscriptionStateChange = {
    state: SubscriptionState;
    previous: SubscriptionState;
};
export type Message<T = unknown> = {
    topic: string;
    seq: number;
    /**
     * the parsed JSON value of a text message, the bytes (Uint8Array) of a
     * binary one; T is the caller's word for it, not checked
     */
    data: T;
    binary: boolean;
};
export type SubscribeOptions = {
    /**
     * PROTOCOL.md section 6
     */
    policy?: SlowConsumerPolicy | undefined;
    /**
     * replay from this sequence (a topic),
     * or per topic (a pattern)
     */
    from?: number | Record<string, number> | undefined;
    /**
     * with `from`: the epoch last seen
     */
    epoch?: string | Record<string, string> | undefined;
    /**
     * the last K retained messages of each matching topic
     */
    last?: number | undefined;
    /**
     * retained messages published at or after this Unix time in ms
     */
    since?: number | undefined;
    /**
     * the latest retained message of each matching topic
     */
    snapshot?: boolean | undefined;
    /**
     * aborting it unsubscribes
     */
    signal?: AbortSignal | undefined;
    /**
     * messages an iterated subscription holds for its loop
     * (default 1024); one more ends the subscription with a HeraldError 'overflow'
     */
    bufferSize?: number | undefined;
};
export type Replay = Pick<SubscribeOptions, "from" | "epoch" | "last" | "since" | "snapshot">;
/**
 * What the client drives a subscription with, kept out of its public face.
 */
export type Control = {
    /**
     * no handler: a loop reads its messages
     */
    iterated: boolean;
    state: () => SubscriptionState;
    /**
     * calls the handler or
     * buffers the message; returns the error to report (a throwing handler, a full buffer)
     */
    handOver: (message: Message<unknown>) => HeraldError | null;
    /**
     * unsubscribed; a loop ends once its
     * buffer is drained, throwing `error` when given
     */
    end: (error: HeraldError | null) => void;
    /**
     * settles `ready`
     */
    settle: (answer: {
        complete: boolean;
    } | HeraldError) => void;
    setState: (state: SubscriptionState) => void;
    /**
     * unsubscribes when it aborts
     */
    follow: (signal: AbortSignal | undefined) => void;
};
import { Emitter } from './emitter.js';
import { HeraldError } from './errors.js';
