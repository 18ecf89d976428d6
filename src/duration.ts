// Durations for the age inputs: `90m`, `12h`, `7d`, `2w`, `1d12h`, `1d 12h`, or ISO 8601 `P1DT12H`.
//
// Whole numbers only: a composite (1d12h, PT90M) says every fraction a user needs, keeps the
// milliseconds exact, and avoids `1,5d` meaning one thing in Berlin and another in Boston.
// Years and months are refused because their length depends on the calendar.
// Reasons never echo the input except for ASCII letters and digits, so callers may print them as is.
import { truncate } from './text.js';

export class DurationError extends Error {
  override name = 'DurationError';
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const AMBIGUOUS = 'years and months have no fixed length; use days instead, such as 365d or P30D';
const TOO_LARGE = 'it is too large to count in milliseconds';

/** A unit's rank (largest first, which is also the order it must be written in) or why it is refused. */
type Lookup = (unit: string) => number | string;

const SHORT_MS = [WEEK, DAY, HOUR, MINUTE, SECOND];
const shortUnit: Lookup = (unit) => {
  if (unit === '') return 'every number needs a unit right after it: w, d, h, m or s';
  // Capital M is months in ISO 8601 and most date formats; reading it as minutes would surprise.
  if (unit === 'M' || /^(?:y|yrs?|years?|mo|mons?|months?)$/i.test(unit)) return AMBIGUOUS;
  const rank = unit.length === 1 ? 'wdhms'.indexOf(unit.toLowerCase()) : -1;
  return rank >= 0 ? rank : `unknown unit ${show(unit)}; use w, d, h, m or s`;
};

const ISO_DATE_MS = [WEEK, DAY];
const isoDateUnit: Lookup = (unit) => {
  const u = unit.toUpperCase();
  if (u === 'Y' || u === 'M') return AMBIGUOUS;
  if (u === 'W' || u === 'D') return u === 'W' ? 0 : 1;
  if (u === 'H' || u === 'S')
    return 'hours, minutes and seconds go after T, such as PT36H or P1DT12H';
  return unknownDesignator(unit);
};

const ISO_TIME_MS = [HOUR, MINUTE, SECOND];
const isoTimeUnit: Lookup = (unit) => {
  const rank = unit.length === 1 ? 'HMS'.indexOf(unit.toUpperCase()) : -1;
  if (rank >= 0) return rank;
  if (/^[ywd]$/i.test(unit)) return 'years, weeks and days go before T, such as P1DT12H';
  return unknownDesignator(unit);
};

function unknownDesignator(unit: string): string {
  return unit === ''
    ? 'every number needs a designator after it, such as P7D or PT36H'
    : `unknown designator ${show(unit)}; use W or D before T, and H, M or S after it`;
}

/** A fragment of the input that matched [A-Za-z]+: safe to print once shortened. */
function show(letters: string): string {
  return `"${truncate(letters, 12)}"`;
}

/** Names a character without printing it unless it is visible ASCII. */
function describe(code: number): string {
  if (code === 0x20) return 'a space';
  if (code > 0x20 && code < 0x7f) return JSON.stringify(String.fromCharCode(code));
  return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Sums `<digits><unit>` components written largest unit first, each unit at most once. */
function sumOfComponents(
  body: string,
  ms: readonly number[],
  lookup: Lookup,
  spaced: boolean
): number {
  const component = spaced ? /\s*([0-9]+)([A-Za-z]*)/y : /([0-9]+)([A-Za-z]*)/y;
  let total = 0;
  let lastRank = -1;
  let pos = 0;
  while (pos < body.length) {
    component.lastIndex = pos;
    const match = component.exec(body);
    if (!match) {
      const at = spaced ? pos + (/^\s*/.exec(body.slice(pos))?.[0].length ?? 0) : pos;
      throw new DurationError(`unexpected ${describe(body.codePointAt(at) ?? 0)}`);
    }
    const [, digits = '', unit = ''] = match;
    const rank = lookup(unit);
    if (typeof rank === 'string') throw new DurationError(rank);
    if (rank === lastRank) throw new DurationError(`unit ${show(unit)} appears twice`);
    if (rank < lastRank) {
      throw new DurationError('units must go from largest to smallest, such as 1d12h');
    }
    const value = Number(digits) * (ms[rank] ?? NaN);
    total += value;
    if (!Number.isSafeInteger(value) || !Number.isSafeInteger(total)) {
      throw new DurationError(TOO_LARGE);
    }
    lastRank = rank;
    pos = component.lastIndex;
  }
  return total;
}

function parseIso(body: string): number {
  const t = body.search(/t/i);
  const date = t < 0 ? body : body.slice(0, t);
  const time = t < 0 ? undefined : body.slice(t + 1);
  if (time === '') {
    throw new DurationError('T must be followed by hours, minutes or seconds, such as PT36H');
  }
  if (date === '' && time === undefined) {
    throw new DurationError('P must be followed by a length, such as P7D or PT36H');
  }
  const total =
    sumOfComponents(date, ISO_DATE_MS, isoDateUnit, false) +
    sumOfComponents(time ?? '', ISO_TIME_MS, isoTimeUnit, false);
  if (!Number.isSafeInteger(total)) throw new DurationError(TOO_LARGE);
  return total;
}

/** Milliseconds in `text`; throws DurationError with a short reason when it is not a duration. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '') throw new DurationError('it is empty');
  if (/-\s*[0-9]/.test(s)) throw new DurationError('a duration cannot be negative');
  if (/[0-9][.,][0-9]/.test(s)) {
    throw new DurationError(
      'fractions are not supported; combine units instead, such as 1d12h for 1.5d'
    );
  }
  if (/^0+$/.test(s)) return 0;
  if (/^p/i.test(s)) return parseIso(s.slice(1));
  if (/[0-9]\s+[A-Za-z]/.test(s)) {
    throw new DurationError('write each unit right after its number, such as 7d');
  }
  return sumOfComponents(s, SHORT_MS, shortUnit, true);
}

const FORMAT_UNITS = [
  ['d', DAY],
  ['h', HOUR],
  ['m', MINUTE],
  ['s', SECOND]
] as const;

/**
 * `3d 4h`, `45m`, `12s`: the largest unit and the next one if it is not zero. Rounds down, so an
 * age is never overstated next to the threshold it was compared with; parseDuration reads it back.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  // Negative ages come from clocks that disagree; show them rather than hide the skew.
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const i = FORMAT_UNITS.findIndex(([, size]) => ms >= size);
  const first = FORMAT_UNITS[i];
  if (!first) return '0s';
  const head = `${Math.floor(ms / first[1])}${first[0]}`;
  const next = FORMAT_UNITS[i + 1];
  const rest = next ? Math.floor((ms % first[1]) / next[1]) : 0;
  return next && rest > 0 ? `${head} ${rest}${next[0]}` : head;
}
