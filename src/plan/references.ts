// Phase 3, references: what each image loses and whether it may go itself, decided per image.
// Children do not matter yet; the images phase decides that.
import type { ContainerDecisions } from './containers.js';
import { displayName, isStopped } from './containers.js';
import type { ImageEntry, InventoryIndex } from './index-inventory.js';
import type { Matchers } from './matchers.js';
import type { ParsedRef } from './patterns.js';
import type { InventoryContainer, Policy, Reason, Reference, Skip } from './types.js';

export interface ReferenceDecision {
  /** References this run removes from the image. */
  untag: readonly ParsedRef[];
  /** References that stay on the image. */
  remaining: readonly ParsedRef[];
  /** The image itself may be deleted: every reference goes (or it is dangling) and nothing holds it. */
  candidate: boolean;
}

export interface ReferenceDecisions {
  /** By ImageNode.n: every image has a decision; an unselected one loses nothing. */
  of: readonly ReferenceDecision[];
  skipped: readonly Skip[];
}

const NOTHING: readonly ParsedRef[] = [];

/**
 * `refs.filter(keep)`, or `refs` itself when it keeps them all. On 50,000 images the copies that
 * `filter` makes were a good part of what the planner allocated, and they are mostly whole.
 */
function keepWhere(refs: readonly ParsedRef[], keep: (r: ParsedRef) => boolean) {
  return refs.every(keep) ? refs : refs.filter(keep);
}

const isRunning = (c: InventoryContainer) => !isStopped(c.state);

export const refsOf = (refs: readonly ParsedRef[]): Reference[] => refs.map((r) => r.ref);

/**
 * Dangling as Docker means it (`docker images -f dangling=true`, `docker image prune`): no tag. An
 * image a pull left with only its digest is dangling; an untagged parent of another image is not,
 * it goes with its last child.
 */
export function isDangling({ tags, digests, node }: ImageEntry): boolean {
  return tags.length === 0 && (digests.length > 0 || node.children.length === 0);
}

/** References that take a tag-less repository's digests with them are not separate choices. */
export function independentRefs({ tags, digests }: ImageEntry): readonly ParsedRef[] {
  const loose = (d: ParsedRef) => !tags.some((t) => t.repository === d.repository);
  return digests.some(loose) ? [...tags, ...digests.filter(loose)] : tags;
}

export function decideReferences(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers,
  containers: ContainerDecisions,
  keptByRank: ReadonlyMap<Reference, number>,
  now: number
): ReferenceDecisions {
  const skipped: Skip[] = [];
  const skip = (target: string, reason: Reason) => skipped.push({ target, reason });
  // Job cleanup: the job's references, narrowed by `images` when it is set.
  const job = match.job;
  const selects = job
    ? (r: ParsedRef) =>
        job.reference(r.ref) && (policy.images.length === 0 || match.selectedBy(r) !== undefined)
    : (r: ParsedRef) => match.selectedBy(r) !== undefined;

  // Most runs keep no latest: then no reference is hashed to look it up.
  const ranked = (r: ParsedRef) => (keptByRank.size > 0 ? keptByRank.get(r.ref) : undefined);

  const decide = (entry: ImageEntry): ReferenceDecision => {
    const { node } = entry;
    // Decisions live until the plan is done: where a list would equal one already at hand, they
    // keep that one rather than a copy.
    const refs = independentRefs(entry);
    const stays: ReferenceDecision = { untag: NOTHING, remaining: refs, candidate: false };
    const byPattern = keepWhere(refs, selects);
    const dangling = job
      ? job.image(node.id) && isDangling(entry)
      : policy.dangling && isDangling(entry);
    if (byPattern.length === 0 && !dangling) return stays;
    // A dangling image loses every reference it has: the digests a pull left behind.
    const selected = dangling ? refs : byPattern;
    const skipAll = (reason: Reason) => {
      if (byPattern.length === 0) skip(node.id, reason);
      else for (const r of byPattern) skip(r.ref, reason);
    };

    const used = node.containers;
    const running = used.find(isRunning);
    if (running) {
      skipAll({
        kind: 'in-use-by-running-container',
        container: displayName(running),
        state: running.state
      });
      return stays;
    }
    const age = index.ageOf(entry);
    if (now - age.time < policy.olderThanMs) {
      skipAll({
        kind: 'too-young',
        ageMs: now - age.time,
        minMs: policy.olderThanMs,
        basis: age.basis,
        record: age.record
      });
      return stays;
    }

    for (const r of selected) {
      const pattern = match.excludedBy(r);
      const rank = ranked(r);
      if (pattern !== undefined) skip(r.ref, { kind: 'excluded', pattern });
      else if (rank !== undefined)
        skip(r.ref, { kind: 'kept-by-keep-latest', rank, keep: policy.keepLatest });
    }
    let untag = keepWhere(selected, (r) => match.excludedBy(r) === undefined && !ranked(r));
    // An excluded digest is removed by the engine with the last tag of its repository.
    for (const digest of entry.digests) {
      const pattern = match.excludedBy(digest);
      if (pattern === undefined) continue;
      for (const r of untag) {
        if (r.repository === digest.repository) skip(r.ref, { kind: 'excluded', pattern });
      }
      untag = untag.filter((r) => r.repository !== digest.repository);
    }
    // An image has a handful of references: a scan is cheaper than a set.
    const remaining =
      untag.length === refs.length ? NOTHING : refs.filter((r) => !untag.includes(r));
    if (remaining.length > 0) {
      if (untag.length > 0) skip(node.id, { kind: 'still-tagged', references: refsOf(remaining) });
      return { untag, remaining, candidate: false };
    }
    // Every reference goes: the image itself may go, if its containers can.
    for (const c of used) {
      const why = containers.protection(c);
      if (why === undefined) continue;
      skipAll({ kind: 'held-by-kept-container', container: displayName(c), because: why });
      return stays;
    }
    const unselected = used.find((c) => !containers.removable.has(c.id));
    if (byPattern.length === 0 && unselected) {
      // Dangling images are only taken when no container uses them, unless `containers` takes those.
      skip(node.id, { kind: 'used-by-unselected-container', container: displayName(unselected) });
      return stays;
    }
    return { untag, remaining, candidate: true };
  };

  const of = new Array<ReferenceDecision>(index.nodes.length);
  // Should the engine list an ID twice, the image listed last decides.
  for (const entry of index.entries) of[entry.node.n] = decide(entry);
  return { of, skipped };
}

const untagsBefore = (a: ParsedRef, b: ParsedRef) =>
  Number(b.isDigest) - Number(a.isDigest) || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);

/** Digests before tags, then by name: the last reference removed is the one that deletes the image. */
export function untagOrder(refs: readonly ParsedRef[]): ParsedRef[] {
  if (refs.length > 8) return [...refs].sort(untagsBefore);
  // An image has a handful of references: an insertion sort, where Array#sort would allocate its
  // work space on every one of 50,000 calls.
  const out = [...refs];
  for (let i = 1; i < out.length; i++) {
    const r = out[i]!;
    let at = i;
    for (; at > 0 && untagsBefore(r, out[at - 1]!) < 0; at--) out[at] = out[at - 1]!;
    out[at] = r;
  }
  return out;
}
