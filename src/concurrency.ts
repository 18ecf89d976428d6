// How many removals to keep in flight. The classic image store serialises untags behind one lock,
// yet the layer and container deletions around them run in parallel, so the best number depends
// on the engine, its disk and the network in between. It is found by probing: hold a limit and
// note its rate; now and then try twice as many for one window and keep them only if removals
// come clearly faster, trying less often each time they did not. When the rate falls at a limit
// above the initial one, try half as many and keep them if that is no slower. A fall alone never
// takes the limit below the initial one: it is as likely noise or slower work as an engine in
// trouble, which says so with 5xx or no answer, and that halves the limit at once. The held
// limit's rate is measured afresh each window, because the work changes under it (containers
// first, then untags, then layer deletes): a rate remembered from other work would pin it low.

export interface ConcurrencyOptions {
  initial: number;
  min: number;
  max: number;
}

/** Removals per second are compared over windows of at least this many completions. */
const WINDOW = 32;
/** A probe upward must beat the held rate by this much to be kept. */
const GAIN = 1.1;
/** A window this much slower than the one before at the same limit makes a probe downward. */
const LOSS = 0.75;
/**
 * Windows held before the next probe upward, doubled after each probe that brought nothing: on a
 * local engine whose disk is the limit, a window at twice the number in flight is expensive.
 */
const HOLD = 4;
const LONGEST_HOLD = 64;

export class Concurrency {
  #limit: number;
  /** The limit held, and its rate in the last window measured there. */
  #held: { limit: number; rate: number } | undefined;
  #probe: 'up' | 'down' | undefined;
  #heldWindows = 0;
  #holdFor = HOLD;
  #count = 0;
  #windowStart: number | undefined;
  readonly #min: number;
  readonly #max: number;
  /** Where probes downward stop. */
  readonly #initial: number;

  constructor({ initial, min, max }: ConcurrencyOptions) {
    this.#min = Math.max(1, min);
    this.#max = Math.max(this.#min, max);
    this.#limit = Math.min(this.#max, Math.max(this.#min, initial));
    this.#initial = this.#limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** When the first call of a window was sent, ms. */
  started(now: number): void {
    this.#windowStart ??= now;
  }

  /** A call came back at `now`; `overloaded` when the engine answered 5xx or not at all. */
  finished(now: number, overloaded: boolean): void {
    if (overloaded) {
      this.#limit = Math.max(this.#min, Math.floor(this.#limit / 2));
      this.#held = undefined;
      this.#probe = undefined;
      this.#reset();
      return;
    }
    this.#count++;
    const start = this.#windowStart ?? now;
    if (this.#count < Math.max(WINDOW, 2 * this.#limit) || now <= start) return;
    this.#window(this.#count / (now - start));
    this.#reset();
  }

  #window(rate: number): void {
    const held = this.#held;
    if (held === undefined || this.#probe === 'up') {
      const better = held === undefined || rate > held.rate * GAIN;
      if (better) {
        this.#hold(this.#limit, rate);
        this.#holdFor = HOLD;
      } else {
        this.#limit = held.limit;
        this.#holdFor = Math.min(LONGEST_HOLD, this.#holdFor * 2);
      }
      this.#probe = undefined;
      if (better) this.#tryUp();
      return;
    }
    if (this.#probe === 'down') {
      this.#probe = undefined;
      if (rate >= held.rate) this.#hold(this.#limit, rate);
      else this.#limit = held.limit;
      return;
    }
    const fell = rate < held.rate * LOSS;
    held.rate = rate;
    if (fell && this.#limit > this.#initial) {
      this.#probe = 'down';
      this.#limit = Math.max(this.#initial, Math.ceil(this.#limit / 2));
    } else if (++this.#heldWindows >= this.#holdFor) {
      this.#tryUp();
    }
  }

  #hold(limit: number, rate: number): void {
    this.#held = { limit, rate };
    this.#heldWindows = 0;
  }

  #tryUp(): void {
    if (this.#limit >= this.#max) return;
    this.#probe = 'up';
    this.#heldWindows = 0;
    this.#limit = Math.min(this.#max, this.#limit * 2);
  }

  #reset(): void {
    this.#count = 0;
    this.#windowStart = undefined;
  }
}
