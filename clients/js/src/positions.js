// Per-topic stream positions: the last sequence delivered and the topic's history epoch. They
// drop duplicates, detect gaps, and give the `from`/`epoch` to resume from after a reconnect
// (PROTOCOL.md sections 4 "gap", 6 and 9). No I/O: every method returns what to report.

import { matches } from './topic.js';

export class Positions {
  // topic -> { seq, epoch (null for a topic without history), provisional, generation }
  #topics = new Map();

  /**
   * Accounts for one delivered message on connection number `generation`. Returns
   * { deliver, gap } where gap, when set, is the gap event to report before delivery.
   */
  onMessage(topic, seq, generation) {
    const position = this.#topics.get(topic);
    if (position === undefined) {
      this.#topics.set(topic, { seq, epoch: null, provisional: false, generation });
      return { deliver: true, gap: null };
    }
    let gap = null;
    if (seq <= position.seq) {
      // With history, the broker replays from our position, so an older number is a repeat.
      // Without history, only a new connection can go backwards: the broker restarted and its
      // sequences began again, so what was published meanwhile is lost and uncounted.
      if (position.epoch !== null || position.generation === generation) {
        return { deliver: false, gap: null };
      }
      gap = { topic, from: null, to: null, missed: null, reason: 'reset' };
    } else if (seq > position.seq + 1) {
      gap = gapOf(topic, position.seq + 1, seq - 1, 'skipped');
    }
    position.seq = seq;
    position.generation = generation;
    return { deliver: true, gap };
  }

  /** A server `gap` message: `missed` messages after our position were dropped. */
  onGap(topic, missed) {
    const position = this.#topics.get(topic);
    if (position === undefined) return { topic, from: null, to: null, missed, reason: 'dropped' };
    const gap = gapOf(topic, position.seq + 1, position.seq + missed, 'dropped');
    position.seq += missed;
    return gap;
  }

  /** A `recovery` message (section 9); returns the gap to report, or null. */
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
   */
  resumeFor(pattern, isPattern) {
    if (!isPattern) {
      const position = this.#topics.get(pattern);
      if (position === undefined || position.epoch === null) return null;
      return position.provisional
        ? { from: position.seq + 1 }
        : { from: position.seq + 1, epoch: position.epoch };
    }
    const from = {};
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

  /** Topics with history that `pattern` matches (used when a resume is refused). */
  historyTopics(pattern) {
    return [...this.#topics].filter(([t, p]) => p.epoch !== null && matches(pattern, t));
  }

  /** Forgets topics that no remaining pattern matches, so the map stays bounded. */
  prune(patterns) {
    for (const topic of this.#topics.keys()) {
      if (!patterns.some((pattern) => matches(pattern, topic))) this.#topics.delete(topic);
    }
  }

  get(topic) {
    const position = this.#topics.get(topic);
    return position === undefined ? undefined : { seq: position.seq, epoch: position.epoch };
  }
}

function gapOf(topic, from, to, reason) {
  return { topic, from, to, missed: to - from + 1, reason };
}
