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
    /**
     * check() then, for a message to deliver, advance().
     * @param {string} topic
     * @param {number} seq
     * @param {number} generation
     */
    onMessage(topic: string, seq: number, generation: number): {
        deliver: boolean;
        gap: GapInfo | null;
    };
    /**
     * Looks at one message arriving on connection number `generation`, without moving the
     * position (advance() does, once every subscription has it). Returns { deliver, gap } where
     * gap, when set, is the gap event to report before delivery.
     * @param {string} topic
     * @param {number} seq
     * @param {number} generation
     * @returns {{ deliver: boolean, gap: GapInfo | null }}
     */
    check(topic: string, seq: number, generation: number): {
        deliver: boolean;
        gap: GapInfo | null;
    };
    /**
     * Moves the position of `topic` to `seq`: the message was handed to every subscription.
     * @param {string} topic
     * @param {number} seq
     * @param {number} generation
     */
    advance(topic: string, seq: number, generation: number): void;
    /**
     * A server `gap` message: `missed` messages after our position were dropped.
     * @param {string} topic
     * @param {number} missed
     * @returns {GapInfo}
     */
    onGap(topic: string, missed: number): GapInfo;
    /**
     * A `recovery` message (section 9); returns the gap to report, or null.
     * @param {RecoveryInfo} recovery
     * @param {number} generation
     * @returns {GapInfo | null}
     */
    onRecovery(recovery: RecoveryInfo, generation: number): GapInfo | null;
    /**
     * Resume options for a subscription to `pattern`: the next sequence and epoch of every
     * known topic with history that it matches, or null when there is none.
     * @param {string} pattern
     * @param {boolean} isPattern
     * @returns {Resume | null}
     */
    resumeFor(pattern: string, isPattern: boolean): Resume | null;
    /**
     * Topics with history that `pattern` matches (used when a resume is refused).
     * @param {string} pattern
     */
    historyTopics(pattern: string): [string, Position][];
    /**
     * Forgets topics that no remaining pattern matches, so the map stays bounded.
     * @param {string[]} patterns
     */
    prune(patterns: string[]): void;
    /**
     * @param {string} topic
     * @returns {{ seq: number, epoch: string | null } | undefined}
     */
    get(topic: string): {
        seq: number;
        epoch: string | null;
    } | undefined;
    #private;
}
/**
 * Sequences missed on a topic: `from`..`to` inclusive where known (null where not). reason:
 * 'dropped' (a server gap under the drop policy), 'skipped' (numbers jumped, e.g. while
 * disconnected from a topic without history, or under conflate), 'history' (the history no
 * longer held them), 'epoch' (the topic's history was reset), 'reset' (a topic without history
 * restarted its numbering with the broker).
 */
export type GapInfo = {
    topic: string;
    from: number | null;
    to: number | null;
    missed: number | null;
    reason: "dropped" | "skipped" | "history" | "epoch" | "reset";
};
/**
 * A `recovery` message (PROTOCOL.md section 9).
 */
export type RecoveryInfo = {
    topic: string;
    epoch: string;
    first: number;
    from: number;
    next: number;
    complete: boolean;
};
export type Position = {
    /**
     * the last sequence handed to every subscription
     */
    seq: number;
    /**
     * null for a topic without history
     */
    epoch: string | null;
    /**
     * an epoch not to trust yet (see onRecovery)
     */
    provisional: boolean;
    /**
     * the connection it was last moved on
     */
    generation: number;
};
/**
 * Where a subscription resumes: one topic's numbers, or per topic for a pattern.
 */
export type Resume = {
    from: number | Record<string, number>;
    epoch?: string | Record<string, string>;
};
