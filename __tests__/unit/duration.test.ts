import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { DurationError, formatDuration, parseDuration } from '../../src/duration.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

function refusal(text: string): DurationError {
  try {
    parseDuration(text);
  } catch (error) {
    expect(error).toBeInstanceOf(DurationError);
    return error as DurationError;
  }
  throw new Error(`${JSON.stringify(text)} was accepted`);
}

describe('parseDuration accepts', () => {
  it.each([
    ['0', 0],
    ['45s', 45 * SECOND],
    ['90m', 90 * MINUTE],
    ['12h', 12 * HOUR],
    ['7d', 7 * DAY],
    ['2w', 2 * WEEK],
    ['1d12h', DAY + 12 * HOUR],
    ['2w3d', 2 * WEEK + 3 * DAY],
    ['1w2d3h4m5s', WEEK + 2 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND],
    ['7D', 7 * DAY],
    ['0d', 0],
    ['007d', 7 * DAY]
  ])('%j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('surrounding whitespace, including tabs and newlines', () => {
    expect(parseDuration('  7d\n')).toBe(7 * DAY);
    expect(parseDuration('\tP7D ')).toBe(7 * DAY);
  });

  it('spaces between components, so that formatDuration output reads back', () => {
    expect(parseDuration('3d 4h')).toBe(3 * DAY + 4 * HOUR);
  });
});

describe('ISO 8601 durations', () => {
  it('an ISO 8601 week equals seven days', () => {
    expect(parseDuration('P1W')).toBe(parseDuration('7d'));
    expect(parseDuration('P1W')).toBe(7 * DAY);
  });

  it.each([
    ['P7D', '7d'],
    ['PT36H', '36h'],
    ['P1DT12H', '1d12h'],
    ['PT90M', '90m'],
    ['PT30S', '30s'],
    ['P2W3D', '2w3d'],
    ['P1DT2H3M4S', '1d2h3m4s'],
    ['p7d', '7d'],
    ['pt36h', '36h'],
    ['P1dT12h', '1d12h'],
    ['P0D', '0'],
    ['PT0S', '0']
  ])('%s means the same as %s', (iso, short) => {
    expect(parseDuration(iso)).toBe(parseDuration(short));
  });

  it('M is months before T and minutes after it', () => {
    expect(parseDuration('PT5M')).toBe(5 * MINUTE);
    expect(refusal('P5M').message).toMatch(/no fixed length/);
  });
});

describe('parseDuration refuses', () => {
  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['-7d', /negative/],
    ['P-1D', /negative/],
    ['1.5d', /fractions.*1d12h/],
    ['PT1,5H', /fractions/],
    ['7', /needs a unit/],
    ['1d12', /needs a unit/],
    ['7 days', /right after its number/],
    ['7x', /unknown unit "x"/],
    ['7days', /unknown unit "days"/],
    ['90ms', /unknown unit "ms"/],
    ['1d1d', /"d" appears twice/],
    ['PT1H1H', /appears twice/],
    ['1h1d', /largest to smallest/],
    ['P1D1W', /largest to smallest/],
    ['P1Y', /years and months have no fixed length; use days/],
    ['P2M', /no fixed length/],
    ['1y', /no fixed length/],
    ['3mo', /no fixed length/],
    ['2months', /no fixed length/],
    ['2M', /no fixed length/],
    ['PT1D', /before T/],
    ['P12H', /after T/],
    ['P', /P must be followed/],
    ['PT', /T must be followed/],
    ['P1DT', /T must be followed/],
    ['P7Q', /unknown designator "Q"/],
    ['P 7D', /unexpected a space/],
    ['d', /unexpected "d"/],
    ['garbage', /unexpected "g"/],
    ['$(rm -rf /)', /unexpected "\$"/],
    ['7d;rm', /unexpected ";"/],
    ['+7d', /unexpected "\+"/],
    ['\u0667d', /unexpected character U\+0667/],
    ['7d\u0000', /unexpected character U\+0000/],
    ['9999999999999999999999d', /too large/],
    ['1'.padEnd(40, '0') + 's', /too large/]
  ])('%j because %s', (text, reason) => {
    expect(refusal(text).message).toMatch(reason);
  });

  it('the largest safe number of milliseconds and not one second more', () => {
    const seconds = Math.floor(Number.MAX_SAFE_INTEGER / SECOND);
    expect(parseDuration(`${seconds}s`)).toBe(seconds * SECOND);
    expect(refusal(`${seconds + 1}s`).message).toMatch(/too large/);
  });

  it('a sum whose components are each safe but whose total is not', () => {
    const weeks = Math.floor(Number.MAX_SAFE_INTEGER / WEEK);
    expect(parseDuration(`${weeks}w`)).toBe(weeks * WEEK);
    expect(refusal(`${weeks}w7d`).message).toMatch(/too large/);
  });
});

const units = [
  ['w', WEEK],
  ['d', DAY],
  ['h', HOUR],
  ['m', MINUTE],
  ['s', SECOND]
] as const;

/** Up to one count per unit, as `[unit, count]` in descending unit order. */
const components = fc
  .tuple(...units.map(() => fc.option(fc.nat({ max: 10_000 }), { nil: undefined })))
  .map((counts) =>
    units.flatMap(([unit, ms], i) => (counts[i] === undefined ? [] : [{ unit, ms, n: counts[i] }]))
  )
  .filter((cs) => cs.length > 0);

describe('properties', () => {
  it('every composed NwNdNhNmNs string parses to the sum of its parts', () => {
    fc.assert(
      fc.property(components, fc.boolean(), (cs, spaced) => {
        const text = cs.map(({ unit, n }) => `${n}${unit}`).join(spaced ? ' ' : '');
        expect(parseDuration(text)).toBe(cs.reduce((sum, { ms, n }) => sum + n * ms, 0));
      })
    );
  });

  it('the ISO 8601 spelling of a composed duration means the same', () => {
    fc.assert(
      fc.property(components, (cs) => {
        const part = (letters: string) =>
          cs
            .filter(({ unit }) => letters.includes(unit))
            .map(({ unit, n }) => `${n}${unit.toUpperCase()}`)
            .join('');
        const time = part('hms');
        const iso = `P${part('wd')}${time ? `T${time}` : ''}`;
        const short = cs.map(({ unit, n }) => `${n}${unit}`).join('');
        expect(parseDuration(iso)).toBe(parseDuration(short));
      })
    );
  });

  it('components out of descending order are refused', () => {
    fc.assert(
      fc.property(
        components.filter((cs) => cs.length > 1),
        fc.nat(),
        (cs, seed) => {
          const i = seed % (cs.length - 1);
          const swapped = [...cs];
          [swapped[i], swapped[i + 1]] = [cs[i + 1]!, cs[i]!];
          const text = swapped.map(({ unit, n }) => `${n}${unit}`).join('');
          expect(refusal(text).message).toMatch(/largest to smallest/);
        }
      )
    );
  });

  it('any string either parses to a safe non-negative integer or is refused with a DurationError whose reason is printable ASCII', () => {
    const hostile = fc.constantFrom(
      '$(rm -rf /)',
      '`id`',
      '../../etc/passwd',
      '7d\n::set-output name=x::y',
      '7d\r\n',
      '\u2028',
      '\u202e7d',
      'P\u0000',
      '１d',
      '😀',
      'P'.repeat(10_000),
      '9'.repeat(10_000) + 'd'
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string(), hostile), (text) => {
        try {
          const ms = parseDuration(text);
          expect(Number.isSafeInteger(ms) && ms >= 0).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(DurationError);
          expect((error as Error).message).toMatch(/^[\x20-\x7e…]+$/);
        }
      })
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [3 * DAY + 4 * HOUR, '3d 4h'],
    [3 * DAY + 4 * HOUR + 59 * MINUTE, '3d 4h'],
    [45 * MINUTE, '45m'],
    [12 * SECOND, '12s'],
    [DAY + 5 * MINUTE, '1d'],
    [400 * DAY, '400d'],
    [90 * MINUTE, '1h 30m'],
    [0, '0s'],
    [999, '0s'],
    [-5 * MINUTE, '-5m']
  ])('shows %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('never overstates an age and reads back within one unit of the smaller part', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (ms) => {
        const back = parseDuration(formatDuration(ms));
        const largest = units.findIndex(([, size]) => size <= ms && size !== WEEK);
        const precision = largest < 0 ? SECOND : (units[largest + 1]?.[1] ?? SECOND);
        expect(back).toBeLessThanOrEqual(ms);
        expect(ms - back).toBeLessThan(precision);
      })
    );
  });
});
