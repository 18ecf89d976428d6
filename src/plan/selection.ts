// What a run removes, as the phases from images on narrow it. Read-only: each phase returns a new one.
import type {
  ContainerId,
  ImageId,
  PlannedCacheRecord,
  PlannedImage,
  PlannedVolume,
  Reference
} from './types.js';

export interface Selection {
  /** Images that go, keyed in children-first order; `freedBytes` is filled in at the end. */
  images: ReadonlyMap<ImageId, PlannedImage>;
  containers: ReadonlySet<ContainerId>;
  /** References removed by name, by the image they are on (deleted images and images that stay). */
  untags: ReadonlyMap<ImageId, readonly Reference[]>;
  volumes: ReadonlyMap<string, PlannedVolume>;
  /** Build cache records, children before their parents. */
  buildCache: ReadonlyMap<string, PlannedCacheRecord>;
}
