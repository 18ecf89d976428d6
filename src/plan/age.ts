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

// Records that name nothing of their own: every image shares them, where each of 50,000 images
// had its own copy.
const CREATED: AgeRecord = { kind: 'created' };
const TAG_TIME: AgeRecord = { kind: 'tag-time' };
const FIRST_SEEN_EARLIER: AgeRecord = { kind: 'first-seen', earlierRun: true };
const FIRST_SEEN_NOW: AgeRecord = { kind: 'first-seen', earlierRun: false };
const RECORDED_USE: AgeRecord = { kind: 'recorded-use' };

/**
 * When the image arrived here, or was last named here: the latest of the engine's tag time and
 * the arrival events. With neither, the ledger's first sight of it, and without that, `now`: an
 * image is never dated by its build, which may be years before it was pulled (or 1970, for
 * reproducible builds).
 */
function arrivalTime(image: InventoryImage, now: number): AgeTime {
  const event = image.arrival?.event;
  if (image.lastTagTime !== undefined && (!event || image.lastTagTime >= event.time)) {
    return { time: image.lastTagTime, basis: 'tagged', record: TAG_TIME };
  }
  if (event) {
    const { time, action, earlierRun } = event;
    return { time, basis: 'tagged', record: { kind: 'event', action, earlierRun } };
  }
  const firstSeen = image.arrival?.firstSeen;
  if (firstSeen !== undefined && firstSeen <= now) {
    return { time: firstSeen, basis: 'tagged', record: FIRST_SEEN_EARLIER };
  }
  return { time: now, basis: 'tagged', record: FIRST_SEEN_NOW };
}

export function ageTime(
  image: InventoryImage,
  containers: readonly InventoryContainer[],
  basis: AgeBasis,
  now: number
): AgeTime {
  if (basis === 'created') return { time: image.created, basis, record: CREATED };
  const arrived = arrivalTime(image, now);
  if (basis === 'tagged') return arrived;
  let latest = arrived;
  for (let i = 0; i < containers.length; i++) {
    const c = containers[i]!;
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
    latest = { time: recorded, basis: 'last-used', record: RECORDED_USE };
  }
  return latest;
}
