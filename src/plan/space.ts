// Space accounting on the classic store: a layer is freed when no remaining image (intermediates
// included) holds it, and its size is its DiffSize — what `docker image prune` counts too.
import type {
  ContainerId,
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  PlannedCacheRecord,
  PlannedVolume,
  SpaceEstimate
} from './types.js';

export function estimateSpace(
  inventory: Inventory,
  deleted: ReadonlySet<ImageId>,
  removedContainers: ReadonlySet<ContainerId>,
  volumes: Iterable<PlannedVolume> = [],
  buildCache: Iterable<PlannedCacheRecord> = []
): SpaceEstimate & { perImage: Map<ImageId, number> } {
  const estimate = estimateFreed(
    inventory,
    inventory.images.map((i) => deleted.has(i.id)),
    removedContainers,
    volumes,
    buildCache
  );
  const perImage = new Map<ImageId, number>([...deleted].map((id) => [id, 0]));
  for (const [id, bytes] of estimate.perImage) perImage.set(id, bytes);
  return { ...estimate, perImage };
}

/**
 * estimateSpace with the deleted images given by their position in `inventory.images`, and
 * `perImage` only for the deleted images that free a layer of their own (the others free 0).
 */
export function estimateFreed(
  inventory: Inventory,
  deletedAt: readonly boolean[],
  removedContainers: ReadonlySet<ContainerId>,
  volumes: Iterable<PlannedVolume> = [],
  buildCache: Iterable<PlannedCacheRecord> = []
): SpaceEstimate & { perImage: Map<ImageId, number> } {
  const { images } = inventory;
  const held = new Set<string>();
  const freeing: InventoryImage[] = [];
  // An image with no known layers (containerd store, or no RootFS) frees an unknown amount.
  let exact = true;
  images.forEach((image, k) => {
    if (!deletedAt[k]) image.layers?.forEach((l) => held.add(l));
    else if (image.layers === undefined) exact = false;
    else freeing.push(image);
  });
  const freedBy = new Map<string, ImageId[]>();
  for (const image of freeing) {
    for (const l of image.layers!) {
      if (held.has(l)) continue;
      const by = freedBy.get(l);
      if (by) by.push(image.id);
      else freedBy.set(l, [image.id]);
    }
  }
  const sizes = inventory.layerSizes ?? {};
  const perImage = new Map<ImageId, number>();
  let layerBytes = 0;
  let sharedBytes = 0;
  const layers: SpaceEstimate['layers'] = [];
  for (const [id, images] of freedBy) {
    const size = sizes[id];
    layers.push({ id, size: size ?? null, images });
    if (size === undefined) {
      exact = false;
      continue;
    }
    layerBytes += size;
    if (images.length === 1) perImage.set(images[0]!, (perImage.get(images[0]!) ?? 0) + size);
    else sharedBytes += size;
  }
  let containerBytes = 0;
  for (const c of inventory.containers) {
    if (removedContainers.has(c.id)) containerBytes += c.sizeRw ?? 0;
  }
  let volumeBytes = 0;
  for (const v of volumes) {
    if (v.size === undefined) exact = false;
    volumeBytes += v.size ?? 0;
  }
  let buildCacheBytes = 0;
  for (const r of buildCache) buildCacheBytes += r.size;
  return {
    bytes: layerBytes + containerBytes + volumeBytes + buildCacheBytes,
    exact,
    containerBytes,
    volumeBytes,
    buildCacheBytes,
    sharedBytes,
    layers,
    perImage
  };
}

/**
 * Bytes the engine reported freeing: the sizes of the layers in `Deleted` entries (the classic
 * store lists them; the containerd store lists none), the removed containers' writable layers, the
 * removed volumes, and what BuildKit reported pruning.
 */
export function measuredFromResponses(
  inventory: Inventory,
  deletedEntries: Iterable<string>,
  removedContainers: ReadonlySet<string>,
  also: { volumes?: ReadonlySet<string>; buildCacheBytes?: number } = {}
): { bytes: number; layers: number } {
  const sizes = inventory.layerSizes ?? {};
  let bytes = also.buildCacheBytes ?? 0;
  let layers = 0;
  for (const id of new Set(deletedEntries)) {
    const size = sizes[id];
    if (size === undefined) continue;
    bytes += size;
    layers++;
  }
  for (const c of inventory.containers) {
    if (removedContainers.has(c.id)) bytes += c.sizeRw ?? 0;
  }
  for (const v of inventory.volumes ?? []) {
    if (also.volumes?.has(v.name)) bytes += v.size ?? 0;
  }
  return { bytes, layers };
}

/**
 * Removals that go together: an image with its containers and the deleted images below it; a
 * volume with the containers that use it; a build cache record with the records built on it.
 */
export interface Unit {
  images: ImageId[];
  containers: ContainerId[];
  volumes?: PlannedVolume[];
  buildCache?: PlannedCacheRecord[];
  /** When it was last used (the age basis, a container's stop time, a volume's creation, a
   * record's last use): oldest go first. */
  time: number;
}

/**
 * until-free: takes units least recently used first until the predicted bytes reach `need`.
 * Layers are counted as freed only when the last image holding them is taken. A layer of unknown
 * size counts at what its image leaves unexplained (its size less its known layers): an upper
 * bound, so that unknown sizes never make until-free take every candidate. `upperBound` says
 * when that happened.
 */
export function chooseUntilFree(
  inventory: Inventory,
  units: Unit[],
  need: number,
  /** Images the engine prunes once all of their children are gone, with those children. */
  prunedParents: ReadonlyMap<ImageId, readonly ImageId[]>
): {
  images: Set<ImageId>;
  containers: Set<ContainerId>;
  volumes: Set<string>;
  buildCache: Set<string>;
  bytes: number;
  upperBound: boolean;
} {
  const holders = new Map<string, number>();
  for (const image of inventory.images) {
    image.layers?.forEach((l) => holders.set(l, (holders.get(l) ?? 0) + 1));
  }
  const byId = new Map(inventory.images.map((i) => [i.id, i]));
  const sizeRw = new Map(inventory.containers.map((c) => [c.id, c.sizeRw ?? 0]));
  const sizes = inventory.layerSizes ?? {};
  const images = new Set<ImageId>();
  const containers = new Set<ContainerId>();
  const volumes = new Set<string>();
  const buildCache = new Set<string>();
  let bytes = 0;
  let upperBound = false;
  // A pruned parent goes right after the unit that takes the last of its children: each waits on
  // those not taken yet, rather than every unit looking at every pruned parent.
  const position = new Map<ImageId, number>();
  const waitingOn = new Map<ImageId, Set<ImageId>>();
  const waitedOnBy = new Map<ImageId, ImageId[]>();
  const ready: ImageId[] = [];
  for (const [parent, children] of prunedParents) {
    position.set(parent, position.size);
    const pending = new Set(children);
    waitingOn.set(parent, pending);
    if (pending.size === 0) ready.push(parent);
    for (const c of pending) {
      const parents = waitedOnBy.get(c);
      if (parents) parents.push(parent);
      else waitedOnBy.set(c, [parent]);
    }
  }
  const containersOf = new Map<ImageId, InventoryContainer[]>();
  for (const c of inventory.containers) {
    const of = containersOf.get(c.image);
    if (of) of.push(c);
    else containersOf.set(c.image, [c]);
  }
  const takeImage = (id: ImageId) => {
    if (images.has(id)) return;
    images.add(id);
    for (const parent of waitedOnBy.get(id) ?? []) {
      const pending = waitingOn.get(parent)!;
      pending.delete(id);
      if (pending.size === 0) ready.push(parent);
    }
    const image = byId.get(id);
    if (!image) return;
    const known = (image.layers ?? []).reduce((sum, l) => sum + (sizes[l] ?? 0), 0);
    let unknownFreed = image.layers === undefined;
    for (const l of image.layers ?? []) {
      const left = holders.get(l)! - 1;
      holders.set(l, left);
      if (left > 0) continue;
      if (sizes[l] === undefined) unknownFreed = true;
      else bytes += sizes[l]!;
    }
    if (unknownFreed) {
      bytes += Math.max(0, image.size - known);
      upperBound = true;
    }
  };
  const key = (u: Unit) =>
    u.images[0] ?? u.containers[0] ?? u.volumes?.[0]?.name ?? u.buildCache?.[0]?.id ?? '';
  const ordered = [...units].sort((a, b) => a.time - b.time || key(a).localeCompare(key(b)));
  for (const unit of ordered) {
    if (bytes >= need) break;
    for (const c of unit.containers) {
      if (!containers.has(c)) bytes += sizeRw.get(c) ?? 0;
      containers.add(c);
    }
    unit.images.forEach(takeImage);
    for (const v of unit.volumes ?? []) {
      if (!volumes.has(v.name)) bytes += v.size ?? 0;
      volumes.add(v.name);
    }
    for (const r of unit.buildCache ?? []) {
      if (!buildCache.has(r.id)) bytes += r.size;
      buildCache.add(r.id);
    }
    // In the order of prunedParents, children first: taking one parent readies only its own
    // pruned parents, which come later.
    while (ready.length > 0) {
      ready.sort((a, b) => position.get(a)! - position.get(b)!);
      const parent = ready.shift()!;
      if (images.has(parent)) continue;
      // The engine prunes it only once its containers are gone too.
      for (const c of containersOf.get(parent) ?? []) {
        if (!containers.has(c.id)) {
          containers.add(c.id);
          bytes += c.sizeRw ?? 0;
        }
      }
      takeImage(parent);
    }
  }
  return { images, containers, volumes, buildCache, bytes, upperBound };
}
