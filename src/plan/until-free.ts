// Phase 7, until-free: of everything the earlier phases chose, only the least recently used
// removals that the free-space target needs.
import { displayName, stoppedAt } from './containers.js';
import type { Selection } from './selection.js';
import type { InventoryIndex } from './index-inventory.js';
import { chooseUntilFree, type Unit } from './space.js';
import type { ContainerId, FreeSpaceTarget, ImageId, Policy, Reason, Skip } from './types.js';

export function narrowUntilFree(
  index: InventoryIndex,
  policy: Policy,
  selection: Selection
): { selection: Selection; target?: FreeSpaceTarget; skipped: readonly Skip[] } {
  if (policy.untilFreeBytes === undefined) return { selection, skipped: [] };
  const { inventory, childrenOf, containersOf } = index;
  const deleted = selection.images;
  const freeBytes = inventory.disk?.freeBytes ?? 0;
  const need = policy.untilFreeBytes - freeBytes;

  // An image goes with its containers and the deleted images below it; pruned parents go with
  // their last child.
  const units: Unit[] = [];
  const prunedParents = new Map<ImageId, readonly ImageId[]>();
  const below = (id: ImageId): ImageId[] =>
    (childrenOf.get(id) ?? []).filter((c) => deleted.has(c)).flatMap((c) => [c, ...below(c)]);
  for (const [id, img] of deleted) {
    if (img.prunedParent) {
      prunedParents.set(id, childrenOf.get(id) ?? []);
      continue;
    }
    const group = [id, ...below(id)];
    const containers = group.flatMap((g) => (containersOf.get(g) ?? []).map((c) => c.id));
    units.push({ images: group, containers, time: img.basisTime });
  }
  for (const c of inventory.containers) {
    if (selection.containers.has(c.id) && !deleted.has(c.image)) {
      units.push({ images: [], containers: [c.id], time: stoppedAt(c) });
    }
  }
  // A volume goes after the containers that use it, so they come with it.
  for (const v of selection.volumes.values()) {
    units.push({ images: [], containers: v.containers, volumes: [v], time: v.created });
  }
  // A record goes with the records built on it, which BuildKit removes first.
  const cacheChildren = new Map<string, string[]>();
  for (const r of inventory.buildCache ?? []) {
    for (const p of r.parents) cacheChildren.set(p, [...(cacheChildren.get(p) ?? []), r.id]);
  }
  const withDescendants = (id: string): string[] => [
    id,
    ...(cacheChildren.get(id) ?? [])
      .filter((c) => selection.buildCache.has(c))
      .flatMap(withDescendants)
  ];
  for (const r of selection.buildCache.values()) {
    const group = withDescendants(r.id).map((id) => selection.buildCache.get(id)!);
    units.push({ images: [], containers: [], buildCache: group, time: r.lastUsed });
  }
  const chosen =
    need > 0
      ? chooseUntilFree(inventory, units, need, prunedParents)
      : {
          images: new Set<ImageId>(),
          containers: new Set<ContainerId>(),
          volumes: new Set<string>(),
          buildCache: new Set<string>(),
          upperBound: false
        };

  const reason: Reason = { kind: 'free-space-target-met', targetBytes: policy.untilFreeBytes };
  const skipped: Skip[] = [];
  const images = new Map([...deleted].filter(([id]) => chosen.images.has(id)));
  for (const [id, img] of deleted) {
    if (!images.has(id) && !img.prunedParent) skipped.push({ target: id, reason });
  }
  const containers = new Set<ContainerId>();
  for (const c of inventory.containers) {
    if (!selection.containers.has(c.id)) continue;
    if (chosen.containers.has(c.id)) containers.add(c.id);
    else if (!images.has(c.image)) skipped.push({ target: displayName(c), reason });
  }
  const volumes = new Map([...selection.volumes].filter(([name]) => chosen.volumes.has(name)));
  for (const name of selection.volumes.keys()) {
    if (!volumes.has(name)) skipped.push({ target: name, reason });
  }
  const buildCache = new Map([...selection.buildCache].filter(([id]) => chosen.buildCache.has(id)));
  for (const id of selection.buildCache.keys()) {
    if (!buildCache.has(id)) skipped.push({ target: id, reason });
  }
  // Removing a reference from an image that stays frees nothing.
  const untags = new Map([...selection.untags].filter(([id]) => images.has(id)));
  for (const i of inventory.images) {
    if (!deleted.has(i.id)) {
      for (const ref of selection.untags.get(i.id) ?? []) skipped.push({ target: ref, reason });
    }
  }
  return {
    selection: { images, containers, untags, volumes, buildCache },
    target: {
      targetBytes: policy.untilFreeBytes,
      freeBytes,
      predictedFreeBytes: freeBytes,
      alreadyMet: need <= 0,
      ...(chosen.upperBound ? { upperBound: true } : {})
    },
    skipped
  };
}
