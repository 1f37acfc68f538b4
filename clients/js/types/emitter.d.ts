/**
 * @template {Record<string, unknown[]>} Events  each event's name and its listener's arguments
 */
export class Emitter<Events extends Record<string, unknown[]>> {
    /**
     * @template {keyof Events} E
     * @param {E} event
     * @param {(...args: Events[E]) => void} listener
     * @returns {this}
     */
    on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
    /**
     * @template {keyof Events} E
     * @param {E} event
     * @param {(...args: Events[E]) => void} listener
     * @returns {this}
     */
    off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
    /**
     * @template {keyof Events} E
     * @param {E} event
     * @param {(...args: Events[E]) => void} listener
     * @returns {this}
     */
    once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
    /**
     * @protected
     * @template {keyof Events} E
     * @param {E} event
     * @returns {boolean}
     */
    protected listened<E extends keyof Events>(event: E): boolean;
    /**
     * @protected
     * @template {keyof Events} E
     * @param {E} event
     * @param {Events[E]} args
     */
    protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void;
    #private;
}
