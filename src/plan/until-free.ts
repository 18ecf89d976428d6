// Phase 7, until-free: of everything the earlier phases chose, only the least recently used
// removals that the free-space target needs.
import { displayName, stoppedAt } from './containers.js';
import type { Selection } from './selection.js';
import type { ImageNode, InventoryIndex } from './index-inventory.js';
import { chooseUntilFree, type Unit } from './space.js';
import type { ContainerId, FreeSpaceTarget, ImageId, Policy, Reason, Skip } from './types.js';

/** The disk already had the target free, so nothing was planned for it. */
export function isTargetAlreadyMet(target: FreeSpaceTarget): boolean {
  return target.freeBytes >= target.targetBytes;
}

/** Free bytes once the plan has run, as predicted from the bytes it frees. */
export function predictedFreeBytes(target: FreeSpaceTarget, predictedBytes: number): number {
  return target.freeBytes + predictedBytes;
}

export function narrowUntilFree(
  index: InventoryIndex,
  policy: Policy,
  selection: Selection
): { selection: Selection; target?: FreeSpaceTarget; skipped: readonly Skip[] } {
  if (policy.untilFreeBytes === undefined) return { selection, skipped: [] };
  const { inventory, childrenFirst } = index;
  const deleted = selection.images;
  const isDeleted = (id: ImageId) => {
    const node = index.byId.get(id);
    return node !== undefined && deleted[node.n] !== undefined;
  };
  const freeBytes = inventory.disk?.freeBytes ?? 0;
  const need = policy.untilFreeBytes - freeBytes;

  // An image goes with its containers and the deleted images below it; pruned parents go with
  // their last child.
  const units: Unit[] = [];
  const prunedParents = new Map<ImageId, readonly ImageId[]>();
  const below = (node: ImageNode, into: ImageNode[]): ImageNode[] => {
    for (const c of node.children) {
      if (deleted[c.n] === undefined) continue;
      into.push(c);
      below(c, into);
    }
    return into;
  };
  for (const node of childrenFirst) {
    const img = deleted[node.n];
    if (!img) continue;
    if (img.prunedParent) {
      prunedParents.set(
        node.id,
        node.children.map((c) => c.id)
      );
      continue;
    }
    const group = below(node, [node]);
    const containers = group.flatMap((g) => g.containers.map((c) => c.id));
    units.push({ images: group.map((g) => g.id), containers, time: img.basisTime });
  }
  for (const c of inventory.containers) {
    if (selection.containers.has(c.id) && !isDeleted(c.image)) {
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
    for (const p of r.parents) {
      const children = cacheChildren.get(p);
      if (children) children.push(r.id);
      else cacheChildren.set(p, [r.id]);
    }
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
  const images = deleted.map((img) => (img && chosen.images.has(img.id) ? img : undefined));
  for (const node of childrenFirst) {
    const img = deleted[node.n];
    if (img && !images[node.n] && !img.prunedParent) skipped.push({ target: node.id, reason });
  }
  const kept = (id: ImageId) => {
    const node = index.byId.get(id);
    return node === undefined || images[node.n] === undefined;
  };
  const containers = new Set<ContainerId>();
  for (const c of inventory.containers) {
    if (!selection.containers.has(c.id)) continue;
    if (chosen.containers.has(c.id)) containers.add(c.id);
    else if (kept(c.image)) skipped.push({ target: displayName(c), reason });
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
  const untags = selection.untags.map((refs, n) => (images[n] ? refs : undefined));
  for (const { node } of index.entries) {
    if (deleted[node.n]) continue;
    for (const r of selection.untags[node.n] ?? []) skipped.push({ target: r.ref, reason });
  }
  return {
    selection: { images, containers, untags, volumes, buildCache },
    target: {
      targetBytes: policy.untilFreeBytes,
      freeBytes,
      ...(chosen.upperBound ? { upperBound: true } : {})
    },
    skipped
  };
}
