// Age bases: what an image's age is measured from.
import type { AgeBasis, InventoryContainer, InventoryImage } from './types.js';

export interface AgeTime {
  /** ms since epoch */
  time: number;
  /** The basis actually used: `tagged` falls back to `created` for images that were never tagged here. */
  basis: AgeBasis;
}

export function ageTime(
  image: InventoryImage,
  containers: InventoryContainer[],
  basis: AgeBasis
): AgeTime {
  if (basis === 'created') return { time: image.created, basis };
  const tagged: AgeTime =
    image.lastTagTime !== undefined
      ? { time: image.lastTagTime, basis: 'tagged' }
      : { time: image.created, basis: 'created' };
  if (basis === 'tagged') return tagged;
  let last = tagged.time;
  for (const c of containers) last = Math.max(last, c.created, c.startedAt ?? 0, c.finishedAt ?? 0);
  return last > tagged.time ? { time: last, basis: 'last-used' } : tagged;
}
