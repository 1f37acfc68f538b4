// Herald's JavaScript client: an ES module for browsers and Node 20+, with no dependencies.
export { HeraldClient } from './client.js';
export { HeraldError } from './errors.js';
export { isValidPattern, isValidTopic, matches } from './topic.js';
export * as codec from './codec.js';
