// Phase 6, steps: the selection as a dependency graph the executor can run without a refusal.
import { displayName } from './containers.js';
import type { Selection } from './selection.js';
import type { ImageEntry, ImageNode, InventoryIndex } from './index-inventory.js';
import type { ParsedRef } from './patterns.js';
import { refsOf, untagOrder } from './references.js';
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

// A plan is read-only data: steps share their precondition where it names nothing of its own, and
// one empty list, rather than making each anew for every one of 150,000 steps at 50,000 images.
const STOPPED = { kind: 'stopped' } as const;
const UNREFERENCED = { kind: 'unreferenced' } as const;
const UNUSED = { kind: 'unused' } as const;
const NO_CHECK = { kind: 'none' } as const;
const NO_STEPS: readonly StepId[] = [];
const NO_REFERENCES: readonly Reference[] = [];

/** The step IDs, each once, where it first comes; the same list when it repeats none. */
function unique(ids: readonly StepId[]): readonly StepId[] {
  if (ids.length > 16) return [...new Set(ids)];
  // Most lists have one to three IDs: a scan tells without making a set.
  for (let n = 1; n < ids.length; n++) {
    if (ids.lastIndexOf(ids[n]!, n - 1) >= 0) return [...new Set(ids)];
  }
  return ids;
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
  const listed = index.inventory.containers;
  for (let i = 0; i < listed.length; i++) {
    const c = listed[i]!;
    if (!selection.containers.has(c.id)) continue;
    const name = displayName(c);
    steps.push({
      id: stepId.container(c.id),
      kind: 'remove-container',
      container: c.id,
      name,
      image: c.image,
      requires: STOPPED,
      dependsOn: NO_STEPS
    });
    removeContainers.push({ id: c.id, name, image: c.image, sizeRw: c.sizeRw ?? 0 });
  }
  const { childrenFirst } = index;
  const locksOf = pruneLocks(childrenFirst, selection);
  for (let i = 0; i < childrenFirst.length; i++) {
    const node = childrenFirst[i]!;
    const { id } = node;
    const untags = selection.untags[node.n] ?? NOTHING;
    const goes = deleted[node.n] !== undefined;
    if (untags.length === 0 && !goes) continue;
    const carriers = node.entry.digests.length > 0 ? digestCarriers(node.entry, untags) : undefined;
    const namesImage = { kind: 'names-image', image: id } as const;
    if (!goes) {
      // Untagging one of several references, or the last one of a parent kept by its children,
      // leaves the image in place and is refused by nothing.
      for (let n = 0; n < untags.length; n++) {
        const { ref } = untags[n]!;
        steps.push(untagStep(namesImage, ref, stepId.untag(ref), carriers, NO_STEPS));
      }
      continue;
    }
    const holders = holdersOf(node, deleted);
    const locks = locksOf?.(node);
    const refs = untagOrder(untags);
    // Each untag but the last leaves the image in place; the last waits for them and the holders.
    // Sized once: a list grown by push from [] gets room for 17 IDs, for the one or two it holds.
    let earlier: StepId[] | undefined;
    let lastUntag: StepId | undefined;
    for (let n = 0; n < refs.length; n++) {
      const { ref } = refs[n]!;
      const sid = stepId.untag(ref);
      if (n < refs.length - 1) {
        (earlier ??= new Array<StepId>(refs.length - 1))[n] = sid;
        steps.push(untagStep(namesImage, ref, sid, carriers, NO_STEPS));
        continue;
      }
      const dependsOn = !earlier
        ? holders
        : holders.length > 0
          ? [...earlier, ...holders]
          : earlier;
      steps.push(untagStep(namesImage, ref, sid, carriers, dependsOn, locks));
      lastUntag = sid;
    }
    const deleteStep: Step = {
      id: stepId.image(id),
      kind: 'delete-image',
      image: id,
      requires: UNREFERENCED,
      dependsOn: lastUntag ? [lastUntag] : holders
    };
    if (locks) deleteStep.locks = locks;
    steps.push(deleteStep);
  }
  for (const v of selection.volumes.values()) {
    steps.push({
      id: stepId.volume(v.name),
      kind: 'remove-volume',
      volume: v.name,
      requires: UNUSED,
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
      requires: NO_CHECK,
      dependsOn: n === 0 ? NO_STEPS : [stepId.buildCache(n - 1)]
    });
  }
  return { steps, removeContainers };
}

/** `list` with `sid` added; [sid] for the first, where push on [] would make room for 17. */
function withStep(list: StepId[] | undefined, sid: StepId): StepId[] {
  if (!list) return [sid];
  list.push(sid);
  return list;
}

/**
 * What must be gone before an image is deleted: its containers, its deleted children, and the
 * containers of the untagged parents the engine prunes with it.
 */
function holdersOf(node: ImageNode, deleted: Selection['images']): readonly StepId[] {
  let holders: StepId[] | undefined;
  const { containers, children } = node;
  for (let i = 0; i < containers.length; i++) {
    holders = withStep(holders, stepId.container(containers[i]!.id));
  }
  for (let i = 0; i < children.length; i++) {
    if (deleted[children[i]!.n]) holders = withStep(holders, stepId.image(children[i]!.id));
  }
  // The engine prunes untagged parents with their child, so their containers must be gone first.
  for (let p = node.parent; p && deleted[p.n]?.prunedParent; p = p.parent) {
    for (let i = 0; i < p.containers.length; i++) {
      holders = withStep(holders, stepId.container(p.containers[i]!.id));
    }
  }
  return holders ?? NO_STEPS;
}

/**
 * dockerd prunes a deleted image's untagged parent with no lock held: it reads the parent's
 * children, then asks again whether the parent is dangling, then deletes it, and goes on to the
 * parent's parent (moby daemon/images/image_delete.go). Two calls that reach one parent at the
 * same moment see each other's image go in between, and one answers 409 ("image has dependent
 * child images") or 500 ("unrecognized image ID") for the parent, though its own image went.
 * Where calls may reach such an ancestor through two of its children, that ancestor is a lock of
 * each: the executor never runs two steps that share one at once. Calls that come up through one
 * child are already one at a time: by their dependencies, or by that child's own lock.
 * Undefined when no image that goes has a parent, as on BuildKit's and containerd's images.
 */
function pruneLocks(
  childrenFirst: readonly ImageNode[],
  selection: Selection
): ((node: ImageNode) => readonly ImageId[] | undefined) | undefined {
  const deleted = selection.images;
  if (!childrenFirst.some((node) => node.parent && deleted[node.n] !== undefined)) return undefined;
  // 1 when a child of the image stays, 2 when none does; 0 until asked.
  const keepsChild = new Uint8Array(deleted.length);
  const hasKeptChild = (a: ImageNode) => {
    if (keepsChild[a.n] === 0) {
      keepsChild[a.n] = a.children.some((c) => deleted[c.n] === undefined) ? 1 : 2;
    }
    return keepsChild[a.n] === 1;
  };
  /**
   * The ancestors that a call deleting `node` may look at, each with the child it comes up
   * through. An ancestor with a reference, or with a child that stays, is never dangling while
   * that call runs (a reference that goes is removed after the children), so the engine stops
   * there quietly. It goes on up only from one it deletes.
   */
  const reach = (node: ImageNode, visit: (a: ImageNode, via: ImageNode) => void) => {
    let via = node;
    for (let a = node.parent; a; a = a.parent) {
      if (a.entry.tags.length > 0 || a.entry.digests.length > 0 || hasKeptChild(a)) return;
      visit(a, via);
      if (deleted[a.n] === undefined) return;
      via = a;
    }
  };
  // For each ancestor reached: the first child it is reached through, and whether through another.
  const firstVia = new Int32Array(deleted.length).fill(-1);
  const shared = new Uint8Array(deleted.length);
  for (let i = 0; i < childrenFirst.length; i++) {
    const node = childrenFirst[i]!;
    // Most images have no parent: they skip the walk, and the callback it would be made for.
    if (!node.parent || deleted[node.n] === undefined) continue;
    reach(node, (a, via) => {
      if (firstVia[a.n] === -1) firstVia[a.n] = via.n;
      else if (firstVia[a.n] !== via.n) shared[a.n] = 1;
    });
  }
  return (node) => {
    if (!node.parent) return undefined;
    let locks: ImageId[] | undefined;
    reach(node, (a) => {
      if (shared[a.n]) (locks ??= []).push(a.id);
    });
    return locks;
  };
}

/** Digests that go with their repository's last tag: the tag that carries them, and when. */
interface Carried {
  tag: Reference;
  digests: Reference[];
  /** The repository's other tags, untagged first. */
  after: Reference[];
}

function carriedBy(carriers: readonly Carried[] | undefined, ref: Reference) {
  for (let i = 0; carriers && i < carriers.length; i++) {
    if (carriers[i]!.tag === ref) return carriers[i];
  }
  return undefined;
}

function untagStep(
  requires: { kind: 'names-image'; image: ImageId },
  ref: Reference,
  id: StepId,
  carriers: readonly Carried[] | undefined,
  dependsOn: readonly StepId[],
  locks?: readonly ImageId[]
): Step {
  const carried = carriedBy(carriers, ref);
  const step: Step = {
    id,
    kind: 'untag',
    reference: ref,
    image: requires.image,
    digests: carried?.digests ?? NO_REFERENCES,
    requires,
    dependsOn: unique(carried ? [...carried.after.map(stepId.untag), ...dependsOn] : dependsOn)
  };
  if (locks) step.locks = locks;
  return step;
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
  // An image has a handful of references: scans are cheaper than sets and maps here, and loops
  // rather than callbacks, each of which would make a scope for `repository` on 16,000 images.
  let carriers: Carried[] | undefined;
  for (let n = 0; n < digests.length; n++) {
    const { repository } = digests[n]!;
    if (!firstOfRepository(digests, n)) continue;
    const same = ofRepository(tags, repository);
    if (same.length === 0 || !includesAll(untags, same)) continue;
    const ordered = refsOf(untagOrder(same));
    const carried = refsOf(ofRepository(digests, repository));
    (carriers ??= []).push({
      tag: ordered[ordered.length - 1]!,
      digests: carried,
      after: ordered.slice(0, -1)
    });
  }
  return carriers;
}

/** Whether `refs[n]` is the first of its repository in `refs`. */
function firstOfRepository(refs: readonly ParsedRef[], n: number): boolean {
  for (let i = 0; i < n; i++) if (refs[i]!.repository === refs[n]!.repository) return false;
  return true;
}

/** Those of `refs` in `repository`, in a list of their number. */
function ofRepository(refs: readonly ParsedRef[], repository: ParsedRef['repository']) {
  let count = 0;
  for (let i = 0; i < refs.length; i++) if (refs[i]!.repository === repository) count++;
  const out = new Array<ParsedRef>(count);
  for (let i = 0, k = 0; k < count; i++)
    if (refs[i]!.repository === repository) out[k++] = refs[i]!;
  return out;
}

function includesAll(refs: readonly ParsedRef[], some: readonly ParsedRef[]): boolean {
  for (let i = 0; i < some.length; i++) if (!refs.includes(some[i]!)) return false;
  return true;
}
