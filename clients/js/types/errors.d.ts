/** The error codes PROTOCOL.md section 4 documents, in its order. */
export const kServerErrorCodes: readonly ["bad_json", "bad_request", "unknown_op", "bad_topic", "not_subscribed", "too_many_subscriptions", "too_many_topics", "storage_failed", "no_history", "unauthorized", "forbidden", "rate_limited", "unavailable"];
/** @typedef {typeof kServerErrorCodes[number]} ServerErrorCode */
/**
 * The client's own codes: 'closed' (closed for good), 'queue_full' (offline queue full),
 * 'connection_lost' (closed before the ack: the message may or may not have been published),
 * 'not_connected', 'bad_message' (an invalid server frame), 'socket_error', 'aborted' (the
 * caller's AbortSignal), 'timeout' (the caller's timeoutMs), 'handler_failed' (a subscription
 * handler threw; `cause` holds what it threw), 'overflow' (an iterated subscription's buffer
 * was full).
 * @typedef {'closed' | 'queue_full' | 'connection_lost' | 'not_connected' | 'bad_message'
 *   | 'socket_error' | 'aborted' | 'timeout' | 'handler_failed' | 'overflow'} ClientErrorCode
 */
/** @typedef {ServerErrorCode | ClientErrorCode} ErrorCode */
/**
 * @typedef {object} ErrorDetails
 * @property {string} [topic] the topic of the message concerned
 * @property {number} [seq] the sequence of the message concerned
 * @property {unknown} [cause] the underlying error or abort reason
 */
export class HeraldError extends Error {
    /**
     * @param {ErrorCode} code
     * @param {string} [text]
     * @param {ErrorDetails} [details]
     */
    constructor(code: ErrorCode, text?: string | undefined, details?: ErrorDetails | undefined);
    /** @readonly */
    readonly code: ErrorCode;
    /** @readonly */
    readonly text: string;
    /**
     * The topic and sequence of the message a 'handler_failed' or 'overflow' error concerns.
     * @readonly
     */
    readonly topic: string | undefined;
    /** @readonly */
    readonly seq: number | undefined;
}
export type ServerErrorCode = (typeof kServerErrorCodes)[number];
/**
 * The client's own codes: 'closed' (closed for good), 'queue_full' (offline queue full),
 * 'connection_lost' (closed before the ack: the message may or may not have been published),
 * 'not_connected', 'bad_message' (an invalid server frame), 'socket_error', 'aborted' (the
 * caller's AbortSignal), 'timeout' (the caller's timeoutMs), 'handler_failed' (a subscription
 * handler threw; `cause` holds what it threw), 'overflow' (an iterated subscription's buffer
 * was full).
 */
export type ClientErrorCode = "closed" | "queue_full" | "connection_lost" | "not_connected" | "bad_message" | "socket_error" | "aborted" | "timeout" | "handler_failed" | "overflow";
export type ErrorCode = ServerErrorCode | ClientErrorCode;
export type ErrorDetails = {
    /**
     * the topic of the message concerned
     */
    topic?: string | undefined;
    /**
     * the sequence of the message concerned
     */
    seq?: number | undefined;
    /**
     * the underlying error or abort reason
     */
    cause?: unknown;
};
