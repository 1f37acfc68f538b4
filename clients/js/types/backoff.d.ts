/**
 * @param {number} attempt  1 for the first
 * @param {number} baseMs
 * @param {number} capMs
 * @param {() => number} [random]  uniform in [0, 1)
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random?: (() => number) | undefined): number;
/**
 * The server URLs in turn. After a failure the next URL is tried; a round is one try of each,
 * and only a round's first try waits (the backoff of the round's number), so a dead server is
 * skipped at once and a fleet of dead ones is retried with growing delays. A planned move (the
 * server's `reconnect` message) takes the next URL without counting a failure.
 */
export class Rotation {
    /** @param {readonly string[]} urls */
    constructor(urls: readonly string[]);
    get url(): string;
    /** Failed attempts since the last open connection. */
    get failures(): number;
    /** A connection opened, or the caller connects anew: failures start again from 0. */
    reset(): void;
    /** The URL after the current one, where a planned move goes. */
    get next(): string;
    /** Moves to the next URL as a planned move, not counted as a failure. */
    planned(): void;
    /**
     * Counts a failure, moves to the next URL and returns the attempt number and the delay to
     * wait before trying it.
     * @param {number} baseMs
     * @param {number} capMs
     * @param {() => number} random
     */
    failed(baseMs: number, capMs: number, random: () => number): {
        attempt: number;
        url: string;
        delay: number;
    };
    #private;
}
