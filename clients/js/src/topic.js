// Topic and pattern rules of PROTOCOL.md section 2, and the client-side wildcard match that
// routes each delivered message to the handlers whose pattern it matches.

const kTopicBytesMax = 255;
const kTokensMax = 16;
const kTokenByte = /^[A-Za-z0-9_\-:@~+=#]+$/;
// The broker's own topics ($sys.stats, read with the admin token): "$sys" only as first token.
const kReservedToken = '$sys';

/**
 * @param {string} token
 * @param {number} i  its place in the topic
 */
function validToken(token, i) {
  return kTokenByte.test(token) || (i === 0 && token === kReservedToken);
}

/** @param {unknown} value */
function tokensOf(value) {
  if (typeof value !== 'string' || value.length === 0 || value.length > kTopicBytesMax) {
    return null;
  }
  const tokens = value.split('.');
  return tokens.length > kTokensMax ? null : tokens;
}

/**
 * True when `topic` is a valid topic (no wildcards).
 * @param {unknown} topic
 * @returns {boolean}
 */
export function isValidTopic(topic) {
  const tokens = tokensOf(topic);
  return tokens !== null && tokens.every(validToken);
}

/**
 * True when `pattern` is a valid topic or pattern (`*` tokens, `>` as the last token).
 * @param {unknown} pattern
 * @returns {boolean}
 */
export function isValidPattern(pattern) {
  const tokens = tokensOf(pattern);
  if (tokens === null) return false;
  return tokens.every(
    (token, i) =>
      token === '*' || (token === '>' && i === tokens.length - 1) || validToken(token, i),
  );
}

/**
 * True when `pattern` contains a wildcard token.
 * @param {string} pattern
 */
export function isPattern(pattern) {
  return pattern.split('.').some((token) => token === '*' || token === '>');
}

/**
 * Whether `topic` matches `pattern`: `*` is one token, a final `>` one or more.
 * @param {string} pattern
 * @param {string} topic
 */
export function matches(pattern, topic) {
  // As the broker: a wildcard in the first place does not reach a "$sys" topic.
  if (topic.startsWith('$') && (pattern.startsWith('*') || pattern.startsWith('>'))) return false;
  const want = pattern.split('.');
  const have = topic.split('.');
  for (let i = 0; i < want.length; ++i) {
    if (want[i] === '>') return have.length > i;
    if (i >= have.length) return false;
    if (want[i] !== '*' && want[i] !== have[i]) return false;
  }
  return want.length === have.length;
}
