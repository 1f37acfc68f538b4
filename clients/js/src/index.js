// Herald's JavaScript client: an ES module for browsers and Node 18+, with no dependencies.
// Its declarations (../types) are generated from the JSDoc types here, checked by tsc --strict.
export { HeraldClient } from './client.js';
export { HeraldError } from './errors.js';
export { Subscription } from './subscription.js';
export { isValidPattern, isValidTopic, matches } from './topic.js';
export * as codec from './codec.js';

/**
 * @typedef {import('./types.js').HeraldClientOptions} HeraldClientOptions
 * @typedef {import('./types.js').HeraldEvents} HeraldEvents
 * @typedef {import('./types.js').ConnectionState} ConnectionState
 * @typedef {import('./types.js').CloseInfo} CloseInfo
 * @typedef {import('./types.js').ReconnectingInfo} ReconnectingInfo
 * @typedef {import('./types.js').PublishOptions} PublishOptions
 * @typedef {import('./types.js').WebSocketLike} WebSocketLike
 * @typedef {import('./types.js').WebSocketConstructor} WebSocketConstructor
 * @typedef {import('./abort.js').CancelOptions} CancelOptions
 * @typedef {import('./errors.js').ErrorCode} ErrorCode
 * @typedef {import('./errors.js').ServerErrorCode} ServerErrorCode
 * @typedef {import('./errors.js').ClientErrorCode} ClientErrorCode
 * @typedef {import('./positions.js').GapInfo} GapInfo
 * @typedef {import('./positions.js').RecoveryInfo} RecoveryInfo
 * @typedef {import('./subscription.js').SubscribeOptions} SubscribeOptions
 * @typedef {import('./subscription.js').SubscriptionState} SubscriptionState
 * @typedef {import('./subscription.js').SubscriptionStateChange} SubscriptionStateChange
 * @typedef {import('./subscription.js').SlowConsumerPolicy} SlowConsumerPolicy
 */

/**
 * @template [T=unknown]
 * @typedef {import('./subscription.js').Message<T>} Message
 */
