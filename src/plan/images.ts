// Phase 4, images: which images go, children before parents. A kept child holds its parent (a hard
// conflict), and the engine prunes an untagged parent by itself once its last child is deleted.
import type { ContainerDecisions } from './containers.js';
import type { InventoryIndex } from './index-inventory.js';
import type { ReferenceDecisions } from './references.js';
import type { Selection } from './selection.js';
import type { ContainerId, ImageId, PlannedImage, Reference, Skip } from './types.js';

export function decideImages(
  index: InventoryIndex,
  references: ReferenceDecisions,
  containers: ContainerDecisions
): { selection: Omit<Selection, 'volumes' | 'buildCache'>; skipped: readonly Skip[] } {
  const deleted = new Map<ImageId, PlannedImage>();
  const removeContainers = new Set<ContainerId>(containers.removable);
  const untags = new Map<ImageId, readonly Reference[]>();
  const skipped: Skip[] = [];
  for (const id of index.childrenFirst) {
    const d = references.of.get(id)!;
    const image = index.images.get(id)!;
    const children = index.childrenOf.get(id) ?? [];
    const keptChild = children.find((c) => !deleted.has(c));
    const used = index.containersOf.get(id) ?? [];
    // An untagged parent is pruned by the engine with its last child, if nothing else holds it.
    const prunable =
      !d.candidate &&
      d.remaining.length === 0 &&
      children.length > 0 &&
      keptChild === undefined &&
      used.every((c) => containers.removable.has(c.id));
    if (!d.candidate && !prunable) {
      if (d.untag.length > 0) untags.set(id, d.untag);
      continue;
    }
    if (keptChild !== undefined) {
      skipped.push({ target: id, reason: { kind: 'parent-of-kept-image', child: keptChild } });
      // Its references can still go, leaving an untagged parent; but a container refuses the
      // removal of the last one, and removing containers is only for images that go.
      if (used.length === 0 && d.untag.length > 0) untags.set(id, d.untag);
      continue;
    }
    const age = index.ageOf(image);
    deleted.set(id, {
      id,
      references: [...image.tags, ...image.digests],
      size: image.size,
      basisTime: age.time,
      basis: age.basis,
      ageRecord: age.record,
      prunedParent: prunable,
      freedBytes: 0
    });
    if (d.untag.length > 0) untags.set(id, d.untag);
    used.forEach((c) => removeContainers.add(c.id));
  }
  return { selection: { images: deleted, containers: removeContainers, untags }, skipped };
}
