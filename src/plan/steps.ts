// Phase 6, steps: the selection as a dependency graph the executor can run without a refusal.
import { displayName } from './containers.js';
import type { Selection } from './selection.js';
import type { InventoryIndex } from './index-inventory.js';
import { repositoryOf } from './patterns.js';
import { untagOrder } from './references.js';
import type {
  ContainerId,
  ImageId,
  InventoryImage,
  Plan,
  Reference,
  Step,
  StepId
} from './types.js';

/** The one way to make a StepId: one constructor per step kind. */
export const stepId = {
  container: (id: ContainerId) => `container:${id}` as StepId,
  untag: (ref: Reference) => `untag:${ref}` as StepId,
  image: (id: ImageId) => `image:${id}` as StepId,
  volume: (name: string) => `volume:${name}` as StepId,
  /** The n-th batch of build cache records. */
  buildCache: (n: number) => `build-cache:${n}` as StepId
} as const;

/** Records per POST /build/prune: one anchored regexp of their IDs, well inside a URL's bounds. */
export const BUILD_CACHE_BATCH = 200;

export function buildSteps(
  index: InventoryIndex,
  selection: Selection
): { steps: Step[]; removeContainers: Plan['removeContainers']; untagOnly: Reference[] } {
  const { images, containersOf, childrenOf } = index;
  const deleted = selection.images;
  const steps: Step[] = [];
  const removeContainers: Plan['removeContainers'] = [];
  for (const c of index.inventory.containers) {
    if (!selection.containers.has(c.id)) continue;
    const name = displayName(c);
    steps.push({
      id: stepId.container(c.id),
      kind: 'remove-container',
      container: c.id,
      name,
      image: c.image,
      requires: { kind: 'stopped' },
      dependsOn: []
    });
    removeContainers.push({ id: c.id, name, image: c.image, sizeRw: c.sizeRw ?? 0 });
  }
  const containerSteps = (id: ImageId) =>
    (containersOf.get(id) ?? []).map((c) => stepId.container(c.id));
  const prunedAncestors = (id: ImageId): ImageId[] => {
    const parent = images.get(id)?.parent;
    return parent && deleted.get(parent)?.prunedParent ? [parent, ...prunedAncestors(parent)] : [];
  };
  const untagOnly: Reference[] = [];
  for (const id of index.childrenFirst) {
    const untags = selection.untags.get(id) ?? [];
    if (untags.length === 0 && !deleted.has(id)) continue;
    const carriers = digestCarriers(images.get(id)!, untags);
    const untagStep = (ref: Reference, dependsOn: StepId[]): Step => {
      const carried = carriers.get(ref);
      return {
        id: stepId.untag(ref),
        kind: 'untag',
        reference: ref,
        image: id,
        digests: carried?.digests ?? [],
        requires: { kind: 'names-image', image: id },
        dependsOn: [...new Set([...(carried?.after ?? []).map(stepId.untag), ...dependsOn])]
      };
    };
    if (!deleted.has(id)) {
      // Untagging one of several references, or the last one of a parent kept by its children,
      // leaves the image in place and is refused by nothing.
      for (const ref of untags) {
        steps.push(untagStep(ref, []));
        untagOnly.push(ref, ...(carriers.get(ref)?.digests ?? []));
      }
      continue;
    }
    const holders = [
      ...containerSteps(id),
      ...(childrenOf.get(id) ?? []).filter((c) => deleted.has(c)).map(stepId.image),
      // The engine prunes untagged parents with their child, so their containers must be gone first.
      ...prunedAncestors(id).flatMap(containerSteps)
    ];
    const refs = untagOrder(untags);
    const earlier = refs.slice(0, -1).map(stepId.untag);
    refs.forEach((ref, n) => {
      const last = n === refs.length - 1;
      steps.push(untagStep(ref, last ? [...earlier, ...holders] : []));
    });
    const lastUntag = refs.length > 0 ? [stepId.untag(refs[refs.length - 1]!)] : holders;
    steps.push({
      id: stepId.image(id),
      kind: 'delete-image',
      image: id,
      requires: { kind: 'unreferenced' },
      dependsOn: lastUntag
    });
  }
  for (const v of selection.volumes.values()) {
    steps.push({
      id: stepId.volume(v.name),
      kind: 'remove-volume',
      volume: v.name,
      requires: { kind: 'unused' },
      // The engine refuses to remove a volume while any container, even a stopped one, uses it.
      dependsOn: v.containers.filter((c) => selection.containers.has(c)).map(stepId.container)
    });
  }
  // BuildKit removes a child before its parent within one call; a later batch holds the parents
  // of an earlier one's records, so it waits for that one.
  const records = [...selection.buildCache.keys()];
  for (let n = 0; n * BUILD_CACHE_BATCH < records.length; n++) {
    steps.push({
      id: stepId.buildCache(n),
      kind: 'prune-build-cache',
      records: records.slice(n * BUILD_CACHE_BATCH, (n + 1) * BUILD_CACHE_BATCH),
      requires: { kind: 'none' },
      dependsOn: n === 0 ? [] : [stepId.buildCache(n - 1)]
    });
  }
  return { steps, removeContainers, untagOnly };
}

/**
 * The engine removes a repository's digests with the last tag of that repository on the image.
 * The tag that sorts last of those untagged carries them, after the others, so that the digests
 * that go are known from the plan alone: a dry run lists them, and a failed untag keeps them.
 */
function digestCarriers(
  image: InventoryImage,
  untags: readonly Reference[]
): Map<Reference, { digests: Reference[]; after: Reference[] }> {
  const carriers = new Map<Reference, { digests: Reference[]; after: Reference[] }>();
  if (image.digests.length === 0) return carriers;
  const going = new Set(untags);
  const byRepo = new Map<string, Reference[]>();
  for (const tag of image.tags) {
    const repo = repositoryOf(tag);
    byRepo.set(repo, [...(byRepo.get(repo) ?? []), tag]);
  }
  for (const [repo, tags] of byRepo) {
    if (!tags.every((t) => going.has(t))) continue;
    const digests = image.digests.filter((d) => repositoryOf(d) === repo);
    if (digests.length === 0) continue;
    const ordered = untagOrder(tags);
    carriers.set(ordered[ordered.length - 1]!, { digests, after: ordered.slice(0, -1) });
  }
  return carriers;
}
