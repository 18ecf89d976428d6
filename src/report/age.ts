// Ages as a person reads them in a table: `3h 12m`, `3d 4h`, `45d`, `4mo 12d`, `3y 2mo`.
import { formatDuration } from '../duration.js';

const DAY = 24 * 60 * 60_000;
/** Calendar-free units, good enough to read an age by: a year of 365 days, a twelfth of it. */
const YEAR = 365 * DAY;
const MONTH = YEAR / 12;

function firstTwoUnits(
  first: number,
  firstUnit: string,
  second: number,
  secondUnit: string
): string {
  return second > 0 ? `${first}${firstUnit} ${second}${secondUnit}` : `${first}${firstUnit}`;
}

/**
 * Under a week as formatDuration writes it, then whole days, then months and days, then years
 * and months. Rounds down, like formatDuration, so an age is never overstated.
 */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  // Negative ages come from clocks that disagree; show them rather than hide the skew.
  if (ms < 0) return `-${formatAge(-ms)}`;
  if (ms < 7 * DAY) return formatDuration(ms);
  if (ms < 2 * MONTH) return `${Math.floor(ms / DAY)}d`;
  if (ms < YEAR) {
    const months = Math.floor(ms / MONTH);
    return firstTwoUnits(months, 'mo', Math.floor((ms - months * MONTH) / DAY), 'd');
  }
  const years = Math.floor(ms / YEAR);
  return firstTwoUnits(years, 'y', Math.floor((ms - years * YEAR) / MONTH), 'mo');
}
