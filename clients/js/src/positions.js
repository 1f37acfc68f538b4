// Per-topic stream positions: the last sequence delivered and the topic's history epoch. They
// drop duplicates, detect gaps, and give the `from`/`epoch` to resume from after a reconnect
// (PROTOCOL.md sections 4 "gap", 6 and 9). No I/O: every method returns what to report.

import { matches } from './topic.js';

/**
 * Sequences missed on a topic: `from`..`to` inclusive where known (null where not). reason:
 * 'dropped' (a server gap under the drop policy), 'skipped' (numbers jumped, e.g. while
 * disconnected from a topic without history, or under conflate), 'history' (the history no
 * longer held them), 'epoch' (the topic's history was reset), 'reset' (a topic without history
 * restarted its numbering with the broker).
 * @typedef {object} GapInfo
 * @property {string} topic
 * @property {number | null} from
 * @property {number | null} to
 * @property {number | null} missed
 * @property {'dropped' | 'skipped' | 'history' | 'epoch' | 'reset'} reason
 */

/**
 * A `recovery` message (PROTOCOL.md section 9).
 * @typedef {object} RecoveryInfo
 * @property {string} topic
 * @property {string} epoch
 * @property {number} first
 * @property {number} from
 * @property {number} next
 * @property {boolean} complete
 */

/**
 * @typedef {object} Position
 * @property {number} seq  the last sequence handed to every subscription
 * @property {string | null} epoch  null for a topic without history
 * @property {boolean} provisional  an epoch not to trust yet (see onRecovery)
 * @property {number} generation  the connection it was last moved on
 */

/**
 * Where a subscription resumes: one topic's numbers, or per topic for a pattern.
 * @typedef {{ from: number | Record<string, number>, epoch?: string | Record<string, string> }}
 *   Resume
 */

export class Positions {
  /** @type {Map<string, Position>} */
  #topics = new Map();

  /**
   * check() then, for a message to deliver, advance().
   * @param {string} topic
   * @param {number} seq
   * @param {number} generation
   */
  onMessage(topic, seq, generation) {
    const result = this.check(topic, seq, generation);
    if (result.deliver) this.advance(topic, seq, generation);
    return result;
  }

  /**
   * Looks at one message arriving on connection number `generation`, without moving the
   * position (advance() does, once every subscription has it). Returns { deliver, gap } where
   * gap, when set, is the gap event to report before delivery.
   * @param {string} topic
   * @param {number} seq
   * @param {number} generation
   * @returns {{ deliver: boolean, gap: GapInfo | null }}
   */
  check(topic, seq, generation) {
    const position = this.#topics.get(topic);
    if (position === undefined) return { deliver: true, gap: null };
    if (seq <= position.seq) {
      // With history, the broker replays from our position, so an older number is a repeat.
      // Without history, only a new connection can go backwards: the broker restarted and its
      // sequences began again, so what was published meanwhile is lost and uncounted.
      if (position.epoch !== null || position.generation === generation) {
        return { deliver: false, gap: null };
      }
      return { deliver: true, gap: { topic, from: null, to: null, missed: null, reason: 'reset' } };
    }
    if (seq > position.seq + 1) {
      return { deliver: true, gap: gapOf(topic, position.seq + 1, seq - 1, 'skipped') };
    }
    return { deliver: true, gap: null };
  }

  /**
   * Moves the position of `topic` to `seq`: the message was handed to every subscription.
   * @param {string} topic
   * @param {number} seq
   * @param {number} generation
   */
  advance(topic, seq, generation) {
    const position = this.#topics.get(topic);
    if (position === undefined) {
      this.#topics.set(topic, { seq, epoch: null, provisional: false, generation });
    } else {
      position.seq = seq;
      position.generation = generation;
    }
  }

  /**
   * A server `gap` message: `missed` messages after our position were dropped.
   * @param {string} topic
   * @param {number} missed
   * @returns {GapInfo}
   */
  onGap(topic, missed) {
    const position = this.#topics.get(topic);
    if (position === undefined) return { topic, from: null, to: null, missed, reason: 'dropped' };
    const gap = gapOf(topic, position.seq + 1, position.seq + missed, 'dropped');
    position.seq += missed;
    return gap;
  }

  /**
   * A `recovery` message (section 9); returns the gap to report, or null.
   * @param {RecoveryInfo} recovery
   * @param {number} generation
   * @returns {GapInfo | null}
   */
  onRecovery(recovery, generation) {
    const { topic, epoch, from } = recovery;
    // A topic whose history holds nothing yet (first 0, next 1) may only get its epoch with
    // its first message (the broker then reports 0000000000000000): such an epoch is not
    // trusted, neither to detect a reset nor to resume with.
    const provisional = recovery.first === 0 && recovery.next === 1;
    const position = this.#topics.get(topic);
    if (position === undefined) {
      this.#topics.set(topic, { seq: from - 1, epoch, provisional, generation });
      return recovery.complete
        ? null
        : { topic, from: null, to: from - 1, missed: null, reason: 'history' };
    }
    /** @type {GapInfo | null} */
    let gap = null;
    if (position.epoch !== null && position.epoch !== epoch && !position.provisional) {
      // A new epoch: the history was reset and numbering restarted; our position means nothing.
      gap = { topic, from: position.seq + 1, to: null, missed: null, reason: 'epoch' };
      position.seq = from - 1;
    } else if (from > position.seq + 1) {
      gap = gapOf(topic, position.seq + 1, from - 1, 'history');
      position.seq = from - 1;
    }
    position.epoch = epoch;
    position.provisional = provisional;
    position.generation = generation;
    return gap;
  }

  /**
   * Resume options for a subscription to `pattern`: the next sequence and epoch of every
   * known topic with history that it matches, or null when there is none.
   * @param {string} pattern
   * @param {boolean} isPattern
   * @returns {Resume | null}
   */
  resumeFor(pattern, isPattern) {
    if (!isPattern) {
      const position = this.#topics.get(pattern);
      if (position === undefined || position.epoch === null) return null;
      return position.provisional
        ? { from: position.seq + 1 }
        : { from: position.seq + 1, epoch: position.epoch };
    }
    /** @type {Record<string, number>} */
    const from = {};
    /** @type {Record<string, string>} */
    const epoch = {};
    let any = false;
    for (const [topic, position] of this.#topics) {
      if (position.epoch === null || !matches(pattern, topic)) continue;
      from[topic] = position.seq + 1;
      if (!position.provisional) epoch[topic] = position.epoch;
      any = true;
    }
    if (!any) return null;
    return Object.keys(epoch).length > 0 ? { from, epoch } : { from };
  }

  /**
   * Topics with history that `pattern` matches (used when a resume is refused).
   * @param {string} pattern
   */
  historyTopics(pattern) {
    return [...this.#topics].filter(([t, p]) => p.epoch !== null && matches(pattern, t));
  }

  /**
   * Forgets topics that no remaining pattern matches, so the map stays bounded.
   * @param {string[]} patterns
   */
  prune(patterns) {
    for (const topic of this.#topics.keys()) {
      if (!patterns.some((pattern) => matches(pattern, topic))) this.#topics.delete(topic);
    }
  }

  /**
   * @param {string} topic
   * @returns {{ seq: number, epoch: string | null } | undefined}
   */
  get(topic) {
    const position = this.#topics.get(topic);
    return position === undefined ? undefined : { seq: position.seq, epoch: position.epoch };
  }
}

/**
 * @param {string} topic
 * @param {number} from
 * @param {number} to
 * @param {GapInfo['reason']} reason
 * @returns {GapInfo}
 */
function gapOf(topic, from, to, reason) {
  return { topic, from, to, missed: to - from + 1, reason };
}
