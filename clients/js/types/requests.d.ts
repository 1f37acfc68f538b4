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
    /**
     * Registers `request` under a new id, and returns the id.
     * @param {Request} request
     */
    add(request: Request): number;
    /**
     * The request that `id` answers, taken out; undefined for an id not ours, or answered.
     * @param {string | number | undefined} id
     */
    take(id: string | number | undefined): Request | undefined;
    /**
     * Forgets a publish whose caller stopped waiting: its ack, if one comes, is ignored.
     * @param {Outgoing} entry
     */
    forget(entry: Outgoing): void;
    /**
     * The connection is gone and no answer is coming. Publishes and auths reject with `error`:
     * they may or may not have taken effect, so they are not resent and the caller decides.
     * Unsubscribes resolve (the subscription went with the connection); subscribes are sent
     * again on the next connection.
     * @param {import('./errors.js').HeraldError} error
     */
    lost(error: import("./errors.js").HeraldError): void;
    #private;
}
/**
 * A publish: sent, or waiting in the offline queue for a connection.
 */
export type Outgoing = {
    encode: (id: number) => string | Uint8Array;
    id?: number;
    resolve: (seq: number) => void;
    reject: (error: import("./errors.js").HeraldError) => void;
};
export type Request = {
    kind: "pub";
    entry: Outgoing;
} | {
    kind: "sub";
    route: import("./subscription.js").Route;
    resumed: boolean;
} | {
    kind: "unsub";
    resolve: () => void;
} | {
    kind: "auth";
    resolve: () => void;
    reject: (error: import("./errors.js").HeraldError) => void;
};
