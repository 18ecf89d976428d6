// The removal concurrency: it climbs while removals come faster, and backs off when they do not.
import { describe, expect, it } from '@jest/globals';
import { Concurrency } from '../../src/concurrency.js';

/** Runs `windows` windows of completions, each taking the time `msPerCall(limit)` gives per call. */
function drive(c: Concurrency, windows: number, msPerCall: (limit: number) => number): number[] {
  let now = 0;
  const limits: number[] = [];
  for (let w = 0; w < windows; w++) {
    const n = Math.max(16, c.limit);
    c.started(now);
    now += n * msPerCall(c.limit);
    for (let i = 0; i < n; i++) c.finished(now, false);
    limits.push(c.limit);
  }
  return limits;
}

describe('the removal concurrency', () => {
  it('starts where it is told, within its bounds', () => {
    expect(new Concurrency({ initial: 8, min: 2, max: 64 }).limit).toBe(8);
    expect(new Concurrency({ initial: 100, min: 2, max: 64 }).limit).toBe(64);
  });

  it('grows while more in flight brings removals faster, up to its maximum', () => {
    const c = new Concurrency({ initial: 8, min: 2, max: 64 });
    // An engine whose throughput keeps rising with concurrency (a network in between).
    const limits = drive(c, 6, (limit) => 10 / limit);
    expect(limits.at(-1)).toBe(64);
  });

  it('stops growing, and steps back, where more in flight brings nothing', () => {
    const c = new Concurrency({ initial: 8, min: 2, max: 64 });
    // Throughput rises up to 16 in flight, then falls: contention on one lock.
    const limits = drive(c, 8, (limit) =>
      limit <= 16 ? 10 / limit : 10 / 16 + (limit - 16) * 0.05
    );
    expect(Math.max(...limits)).toBeLessThanOrEqual(64);
    expect(limits.at(-1)).toBeLessThanOrEqual(32);
    expect(limits.at(-1)).toBeGreaterThanOrEqual(16);
  });

  it('halves at once when the engine answers 5xx or not at all, never below its minimum', () => {
    const c = new Concurrency({ initial: 16, min: 2, max: 64 });
    c.finished(0, true);
    expect(c.limit).toBe(8);
    for (let i = 0; i < 10; i++) c.finished(0, true);
    expect(c.limit).toBe(2);
  });

  it('a fixed concurrency is one whose bounds are equal', () => {
    const c = new Concurrency({ initial: 3, min: 3, max: 3 });
    drive(c, 5, (limit) => 10 / limit);
    c.finished(0, true);
    expect(c.limit).toBe(3);
  });
});
