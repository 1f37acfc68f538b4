/**
 * True when `topic` is a valid topic (no wildcards).
 * @param {unknown} topic
 * @returns {boolean}
 */
export function isValidTopic(topic: unknown): boolean;
/**
 * True when `pattern` is a valid topic or pattern (`*` tokens, `>` as the last token).
 * @param {unknown} pattern
 * @returns {boolean}
 */
export function isValidPattern(pattern: unknown): boolean;
/**
 * True when `pattern` contains a wildcard token.
 * @param {string} pattern
 */
export function isPattern(pattern: string): boolean;
/**
 * Whether `topic` matches `pattern`: `*` is one token, a final `>` one or more.
 * @param {string} pattern
 * @param {string} topic
 */
export function matches(pattern: string, topic: string): boolean;
