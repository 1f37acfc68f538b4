/**
 * @typedef {object} CancelOptions
 * @property {AbortSignal} [signal]  aborting it ends the wait with a HeraldError 'aborted'
 * @property {number} [timeoutMs]  ends the wait with a HeraldError 'timeout' after this long
 */
/** @param {AbortSignal} signal */
export function abortError(signal: AbortSignal): HeraldError;
/**
 * Calls `cancel(error)` once, when `signal` aborts or `timeoutMs` passes; the signal must not
 * be aborted yet. Returns the function that detaches both, to call when the wait ends.
 * @param {CancelOptions} options
 * @param {(error: HeraldError) => void} cancel
 * @returns {() => void}
 */
export function onCancel({ signal, timeoutMs }: CancelOptions, cancel: (error: HeraldError) => void): () => void;
/**
 * `promise`, or a rejection with 'aborted' or 'timeout' if that comes first.
 * @template T
 * @param {Promise<T>} promise
 * @param {CancelOptions} options
 * @returns {Promise<T>}
 */
export function cancellable<T>(promise: Promise<T>, options: CancelOptions): Promise<T>;
export type CancelOptions = {
    /**
     * aborting it ends the wait with a HeraldError 'aborted'
     */
    signal?: AbortSignal | undefined;
    /**
     * ends the wait with a HeraldError 'timeout' after this long
     */
    timeoutMs?: number | undefined;
};
import { HeraldError } from './errors.js';
