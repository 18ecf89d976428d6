// What a run removes, as the phases from images on narrow it. Read-only: each phase returns a new one.
import type { InventoryIndex } from './index-inventory.js';
import type { ParsedRef } from './patterns.js';
import type { ContainerId, PlannedCacheRecord, PlannedImage, PlannedVolume } from './types.js';

export interface Selection {
  /** The images that go, by ImageNode.n; `freedBytes` is filled in at the end. */
  images: readonly (PlannedImage | undefined)[];
  containers: ReadonlySet<ContainerId>;
  /** References removed by name, by ImageNode.n of the image they are on (deleted images and images that stay). */
  untags: readonly (readonly ParsedRef[] | undefined)[];
  volumes: ReadonlyMap<string, PlannedVolume>;
  /** Build cache records, children before their parents. */
  buildCache: ReadonlyMap<string, PlannedCacheRecord>;
}

/** The images that go, children before parents: the order the plan lists and deletes them in. */
export function deletedImages(index: InventoryIndex, selection: Selection): PlannedImage[] {
  const out: PlannedImage[] = [];
  const { childrenFirst } = index;
  for (let i = 0; i < childrenFirst.length; i++) {
    const image = selection.images[childrenFirst[i]!.n];
    if (image) out.push(image);
  }
  return out;
}
