// Cancellation of one wait by the caller's AbortSignal or timeout, as a HeraldError 'aborted'
// (whose cause is the signal's reason) or 'timeout'. Only the wait ends: what it waited for
// (a publish already sent, a connection being made) goes on unless the caller stops it.

import { HeraldError } from './errors.js';

/**
 * @typedef {object} CancelOptions
 * @property {AbortSignal} [signal]  aborting it ends the wait with a HeraldError 'aborted'
 * @property {number} [timeoutMs]  ends the wait with a HeraldError 'timeout' after this long
 */

/** @param {AbortSignal} signal */
export function abortError(signal) {
  return new HeraldError('aborted', 'aborted by the signal', { cause: signal.reason });
}

/**
 * Calls `cancel(error)` once, when `signal` aborts or `timeoutMs` passes; the signal must not
 * be aborted yet. Returns the function that detaches both, to call when the wait ends.
 * @param {CancelOptions} options
 * @param {(error: HeraldError) => void} cancel
 * @returns {() => void}
 */
export function onCancel({ signal, timeoutMs }, cancel) {
  if (signal === undefined && timeoutMs === undefined) return () => {};
  const onAbort = () => {
    detach();
    cancel(abortError(/** @type {AbortSignal} */ (signal)));
  };
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          detach();
          cancel(new HeraldError('timeout', `no answer within ${timeoutMs} ms`));
        }, timeoutMs);
  const detach = () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return detach;
}

/**
 * `promise`, or a rejection with 'aborted' or 'timeout' if that comes first.
 * @template T
 * @param {Promise<T>} promise
 * @param {CancelOptions} options
 * @returns {Promise<T>}
 */
export function cancellable(promise, options) {
  if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
  return new Promise((resolve, reject) => {
    const detach = onCancel(options, reject);
    promise.then(resolve, reject).finally(detach);
  });
}
