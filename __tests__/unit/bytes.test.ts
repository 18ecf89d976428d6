import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { formatBytes } from '../../src/report/bytes.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1049, '1.0 kB'],
    [1050, '1.1 kB'],
    [999_949, '999.9 kB'],
    [999_950, '1.0 MB'],
    [999_999, '1.0 MB'],
    [1_500_000, '1.5 MB'],
    [72_800_000, '72.8 MB'],
    [1_234_567_890, '1.2 GB'],
    [5e12, '5.0 TB'],
    [2e21, '2000.0 EB']
  ])('writes %d bytes as %j, in decimal units like docker images', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('shows a negative size with its sign rather than hiding it', () => {
    expect(formatBytes(-1500)).toBe('-1.5 kB');
  });

  it('never writes a figure of 1000 or more before a unit that has a larger one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const [figure = '', unit] = formatBytes(n).split(' ');
        expect(unit).toMatch(/^(kB|MB|GB|TB|PB)$/);
        expect(figure).toMatch(/^\d{1,3}\.\d$/);
        expect(Number(figure)).toBeGreaterThanOrEqual(1);
      })
    );
  });

  it('is within rounding of the exact size', () => {
    const scale: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const [figure = '', unit = ''] = formatBytes(n).split(' ');
        const factor = scale[unit]!;
        expect(Math.abs(Number(figure) * factor - n)).toBeLessThanOrEqual(0.05 * factor + 1e-6 * n);
      })
    );
  });
});
