// Phase 6, steps: the selection as a dependency graph the executor can run without a refusal.
import { displayName } from './containers.js';
import type { Selection } from './selection.js';
import type { ImageEntry, ImageNode, InventoryIndex } from './index-inventory.js';
import type { ParsedRef } from './patterns.js';
import { untagOrder } from './references.js';
import type { ContainerId, ImageId, Plan, Reference, Step, StepId } from './types.js';

/** The one way to make a StepId: one constructor per step kind. */
export const stepId = {
  container: (id: ContainerId) => `container:${id}` as StepId,
  untag: (ref: Reference) => `untag:${ref}` as StepId,
  image: (id: ImageId) => `image:${id}` as StepId,
  volume: (name: string) => `volume:${name}` as StepId,
  /** The n-th batch of build cache records. */
  buildCache: (n: number) => `build-cache:${n}` as StepId
} as const;

const NOTHING: readonly ParsedRef[] = [];

/** The step IDs, each once, where it first comes; the same list when it repeats none. */
function unique(ids: StepId[]): StepId[] {
  // Most lists have one to three IDs: a scan tells without making a set.
  if (ids.length <= 16 && ids.every((x, n) => ids.indexOf(x) === n)) return ids;
  return [...new Set(ids)];
}

/** Records per POST /build/prune: one anchored regexp of their IDs, well inside a URL's bounds. */
export const BUILD_CACHE_BATCH = 200;

export function buildSteps(
  index: InventoryIndex,
  selection: Selection
): { steps: Step[]; removeContainers: Plan['removeContainers'] } {
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
  const containerSteps = (node: ImageNode) => node.containers.map((c) => stepId.container(c.id));
  for (const node of index.childrenFirst) {
    const { id } = node;
    const untags = selection.untags[node.n] ?? NOTHING;
    const goes = deleted[node.n] !== undefined;
    if (untags.length === 0 && !goes) continue;
    const carriers = digestCarriers(node.entry, untags);
    if (!goes) {
      // Untagging one of several references, or the last one of a parent kept by its children,
      // leaves the image in place and is refused by nothing.
      for (const { ref } of untags) {
        steps.push(untagStep(id, ref, stepId.untag(ref), carriers, []));
      }
      continue;
    }
    const holders = containerSteps(node);
    for (const c of node.children) if (deleted[c.n]) holders.push(stepId.image(c.id));
    // The engine prunes untagged parents with their child, so their containers must be gone first.
    for (let p = node.parent; p && deleted[p.n]?.prunedParent; p = p.parent) {
      for (const c of p.containers) holders.push(stepId.container(c.id));
    }
    const refs = untagOrder(untags);
    const ids = refs.map((r) => stepId.untag(r.ref));
    for (let n = 0; n < refs.length; n++) {
      const last = n === refs.length - 1;
      const dependsOn = last ? ids.slice(0, -1).concat(holders) : [];
      steps.push(untagStep(id, refs[n]!.ref, ids[n]!, carriers, dependsOn));
    }
    steps.push({
      id: stepId.image(id),
      kind: 'delete-image',
      image: id,
      requires: { kind: 'unreferenced' },
      dependsOn: ids.length > 0 ? [ids[ids.length - 1]!] : holders
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
  return { steps, removeContainers };
}

/** Digests that go with their repository's last tag: the tag that carries them, and when. */
interface Carried {
  tag: Reference;
  digests: Reference[];
  /** The repository's other tags, untagged first. */
  after: Reference[];
}

const carriedBy = (carriers: readonly Carried[] | undefined, ref: Reference) =>
  carriers?.find((c) => c.tag === ref);

function untagStep(
  image: ImageId,
  ref: Reference,
  id: StepId,
  carriers: readonly Carried[] | undefined,
  dependsOn: StepId[]
): Step {
  const carried = carriedBy(carriers, ref);
  return {
    id,
    kind: 'untag',
    reference: ref,
    image,
    digests: carried?.digests ?? [],
    requires: { kind: 'names-image', image },
    dependsOn: unique(carried ? carried.after.map(stepId.untag).concat(dependsOn) : dependsOn)
  };
}

/**
 * The engine removes a repository's digests with the last tag of that repository on the image.
 * The tag that sorts last of those untagged carries them, after the others, so that the digests
 * that go are known from the plan alone: a dry run lists them, and a failed untag keeps them.
 */
function digestCarriers(
  { tags, digests }: ImageEntry,
  untags: readonly ParsedRef[]
): Carried[] | undefined {
  // An image has a handful of references: scans are cheaper than sets and maps here.
  let carriers: Carried[] | undefined;
  digests.forEach(({ repository }, n) => {
    // Each repository once, at its first digest.
    if (digests.findIndex((d) => d.repository === repository) !== n) return;
    const same = tags.filter((t) => t.repository === repository);
    if (same.length === 0 || !same.every((t) => untags.includes(t))) return;
    const ordered = untagOrder(same).map((t) => t.ref);
    (carriers ??= []).push({
      tag: ordered[ordered.length - 1]!,
      digests: digests.filter((d) => d.repository === repository).map((d) => d.ref),
      after: ordered.slice(0, -1)
    });
  });
  return carriers;
}
