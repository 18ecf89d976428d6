// The removal concurrency: it climbs while removals come faster, and backs off when they do not.
import { describe, expect, it } from '@jest/globals';
import { Concurrency } from '../../src/concurrency.js';

/**
 * Runs `windows` windows of completions, each taking the time `msPerCall(limit, window)` gives per
 * call.
 */
function drive(
  c: Concurrency,
  windows: number,
  msPerCall: (limit: number, window: number) => number
): number[] {
  let now = 0;
  const limits: number[] = [];
  for (let w = 0; w < windows; w++) {
    const n = Math.max(32, 2 * c.limit);
    c.started(now);
    now += n * msPerCall(c.limit, w);
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

  it('is not pinned low when the work turns slower at every limit', () => {
    const c = new Concurrency({ initial: 8, min: 2, max: 64 });
    // Best at 16 throughout; after 6 windows each call costs four times as much (containers
    // done, layer deletes begun), which a rate remembered from before would read as overload.
    const shape = (limit: number) => (limit <= 16 ? 10 / limit : 10 / 16 + (limit - 16) * 0.05);
    const limits = drive(c, 30, (limit, w) => shape(limit) * (w < 6 ? 1 : 4));
    expect(limits.slice(6, 8)).toContain(16);
    // Once settled, it holds 16 but for the occasional probe upward.
    const settled = limits.slice(10);
    expect(settled.filter((l) => l === 16).length).toBeGreaterThan(settled.length * 0.6);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(8);
  });

  it('steps down when the rate falls and fewer in flight are no slower: an engine that queues', () => {
    const c = new Concurrency({ initial: 8, min: 2, max: 64 });
    // Rising with the limit up to 32 at first; then the engine saturates and queues what is sent.
    const limits = drive(c, 14, (limit, w) => (w < 5 ? 10 / Math.min(limit, 32) : 5));
    expect(limits.slice(0, 5)).toContain(32);
    expect(limits.slice(5)).toContain(16);
    expect(limits.at(-1)).toBeLessThanOrEqual(16);
    // A fall alone never goes below where it started.
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(8);
  });

  it('probes upward less and less often where more in flight brings nothing', () => {
    const c = new Concurrency({ initial: 16, min: 2, max: 64 });
    // A local engine whose disk is the limit: 16 is best, 32 clearly worse.
    const limits = drive(c, 60, (limit) =>
      limit <= 16 ? 10 / limit : 10 / 16 + (limit - 16) * 0.05
    );
    const probes = limits.filter((l) => l > 16).length;
    expect(probes).toBeGreaterThan(0);
    // With a fixed hold of 4 windows, 60 windows would hold 12 probes.
    expect(probes).toBeLessThanOrEqual(5);
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
