// Age bases: what an image's age is measured from, and which record decided it.
import { displayName } from './containers.js';
import type { AgeBasis, AgeRecord, InventoryContainer, InventoryImage } from './types.js';

export interface AgeTime {
  /** ms since epoch */
  time: number;
  /** The basis this age answers to: `created`, `tagged`, or `last-used` when a container decided. */
  basis: AgeBasis;
  /** What the time was read from. */
  record: AgeRecord;
}

/**
 * When the image arrived here, or was last named here: the latest of the engine's tag time and
 * the arrival events. With neither, the ledger's first sight of it, and without that, `now`: an
 * image is never dated by its build, which may be years before it was pulled (or 1970, for
 * reproducible builds).
 */
function arrivalTime(image: InventoryImage, now: number): AgeTime {
  const event = image.arrival?.event;
  if (image.lastTagTime !== undefined && (!event || image.lastTagTime >= event.time)) {
    return { time: image.lastTagTime, basis: 'tagged', record: { kind: 'tag-time' } };
  }
  if (event) {
    const { time, action, earlierRun } = event;
    return { time, basis: 'tagged', record: { kind: 'event', action, earlierRun } };
  }
  const firstSeen = image.arrival?.firstSeen;
  if (firstSeen !== undefined && firstSeen <= now) {
    return { time: firstSeen, basis: 'tagged', record: { kind: 'first-seen', earlierRun: true } };
  }
  return { time: now, basis: 'tagged', record: { kind: 'first-seen', earlierRun: false } };
}

export function ageTime(
  image: InventoryImage,
  containers: readonly InventoryContainer[],
  basis: AgeBasis,
  now: number
): AgeTime {
  if (basis === 'created') return { time: image.created, basis, record: { kind: 'created' } };
  const arrived = arrivalTime(image, now);
  if (basis === 'tagged') return arrived;
  let latest = arrived;
  for (const c of containers) {
    const used = Math.max(c.created, c.startedAt ?? 0, c.finishedAt ?? 0);
    if (used > latest.time) {
      latest = {
        time: used,
        basis: 'last-used',
        record: { kind: 'container', container: displayName(c) }
      };
    }
  }
  // A container that is gone now (`docker run --rm`) still used it: a post step saw it.
  const recorded = image.arrival?.lastUsed;
  if (recorded !== undefined && recorded > latest.time) {
    latest = { time: recorded, basis: 'last-used', record: { kind: 'recorded-use' } };
  }
  return latest;
}
