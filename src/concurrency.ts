// How many removals to keep in flight. The classic image store serialises untags behind one lock,
// yet the layer and container deletions around them run in parallel, so the best number depends
// on the engine, its disk and the network in between. It is found by climbing: the limit grows
// while each window of completions comes faster than the best one so far, steps back when a window
// comes slower, and halves at once when the engine answers 5xx or stops answering.

export interface ConcurrencyOptions {
  initial: number;
  min: number;
  max: number;
}

/** Removals per second are compared over windows of at least this many completions. */
const WINDOW = 16;
/** A window must beat the best by this much for the limit to keep growing. */
const GAIN = 1.1;
/** A window this much slower than the best means the engine is past its best concurrency. */
const LOSS = 0.75;

export class Concurrency {
  #limit: number;
  #best = 0;
  #count = 0;
  #windowStart: number | undefined;
  readonly #min: number;
  readonly #max: number;

  constructor({ initial, min, max }: ConcurrencyOptions) {
    this.#min = Math.max(1, min);
    this.#max = Math.max(this.#min, max);
    this.#limit = Math.min(this.#max, Math.max(this.#min, initial));
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
      this.#reset();
      return;
    }
    this.#count++;
    const start = this.#windowStart ?? now;
    if (this.#count < Math.max(WINDOW, this.#limit) || now <= start) return;
    const rate = this.#count / (now - start);
    if (rate > this.#best * GAIN) {
      this.#best = rate;
      this.#limit = Math.min(this.#max, this.#limit * 2);
    } else if (rate < this.#best * LOSS) {
      this.#limit = Math.max(this.#min, Math.ceil(this.#limit / 2));
    }
    this.#reset();
  }

  #reset(): void {
    this.#count = 0;
    this.#windowStart = undefined;
  }
}
