// Phase 3, references: what each image loses and whether it may go itself, decided per image.
// Children do not matter yet; the images phase decides that.
import type { ContainerDecisions } from './containers.js';
import { displayName, isStopped } from './containers.js';
import type { InventoryIndex } from './index-inventory.js';
import type { Matchers } from './matchers.js';
import { repositoryOf } from './patterns.js';
import type { ImageId, InventoryImage, Policy, Reason, Reference, Skip } from './types.js';

export interface ReferenceDecision {
  /** References this run removes from the image. */
  untag: readonly Reference[];
  /** References that stay on the image. */
  remaining: readonly Reference[];
  /** The image itself may be deleted: every reference goes (or it is dangling) and nothing holds it. */
  candidate: boolean;
}

export interface ReferenceDecisions {
  /** Every image has a decision; an unselected one loses nothing. */
  of: ReadonlyMap<ImageId, ReferenceDecision>;
  skipped: readonly Skip[];
}

const isDigest = (ref: Reference) => ref.includes('@');

/**
 * Dangling as Docker means it (`docker images -f dangling=true`, `docker image prune`): no tag. An
 * image a pull left with only its digest is dangling; an untagged parent of another image is not,
 * it goes with its last child.
 */
export function isDangling(image: InventoryImage, index: InventoryIndex): boolean {
  return image.tags.length === 0 && (image.digests.length > 0 || !index.childrenOf.has(image.id));
}

/** References that take a tag-less repository's digests with them are not separate choices. */
export function independentRefs(i: InventoryImage): Reference[] {
  if (i.digests.length === 0) return i.tags;
  const taggedRepos = new Set(i.tags.map(repositoryOf));
  return [...i.tags, ...i.digests.filter((d) => !taggedRepos.has(repositoryOf(d)))];
}

export function decideReferences(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers,
  containers: ContainerDecisions,
  keptByRank: ReadonlyMap<Reference, number>,
  now: number
): ReferenceDecisions {
  const of = new Map<ImageId, ReferenceDecision>();
  const skipped: Skip[] = [];
  const skip = (target: string, reason: Reason) => skipped.push({ target, reason });

  for (const image of index.inventory.images) {
    const refs = independentRefs(image);
    const stays: ReferenceDecision = { untag: [], remaining: refs, candidate: false };
    of.set(image.id, stays);
    // Job cleanup: the job's references, narrowed by `images` when it is set.
    const job = match.job;
    const byPattern = refs.filter((r) =>
      job
        ? job.reference(r) && (policy.images.length === 0 || match.selectedBy(r) !== undefined)
        : match.selectedBy(r) !== undefined
    );
    const dangling = job
      ? job.image(image.id) && isDangling(image, index)
      : policy.dangling && isDangling(image, index);
    if (byPattern.length === 0 && !dangling) continue;
    // A dangling image loses every reference it has: the digests a pull left behind.
    const selected = dangling ? refs : byPattern;
    const targets: string[] = byPattern.length > 0 ? byPattern : [image.id];
    const skipAll = (reason: Reason) => targets.forEach((t) => skip(t, reason));

    const used = index.containersOf.get(image.id) ?? [];
    const running = used.find((c) => !isStopped(c.state));
    if (running) {
      skipAll({
        kind: 'in-use-by-running-container',
        container: displayName(running),
        state: running.state
      });
      continue;
    }
    const age = index.ageOf(image);
    if (now - age.time < policy.olderThanMs) {
      skipAll({
        kind: 'too-young',
        ageMs: now - age.time,
        minMs: policy.olderThanMs,
        basis: age.basis,
        record: age.record
      });
      continue;
    }

    let untag: Reference[] = [];
    for (const ref of selected) {
      const pattern = match.excludedBy(ref);
      const rank = keptByRank.get(ref);
      if (pattern !== undefined) skip(ref, { kind: 'excluded', pattern });
      else if (rank !== undefined)
        skip(ref, { kind: 'kept-by-keep-latest', rank, keep: policy.keepLatest });
      else untag.push(ref);
    }
    // An excluded digest is removed by the engine with the last tag of its repository.
    for (const digest of image.digests) {
      const pattern = match.excludedBy(digest);
      if (pattern === undefined) continue;
      const repo = repositoryOf(digest);
      for (const ref of untag.filter((r) => repositoryOf(r) === repo)) {
        skip(ref, { kind: 'excluded', pattern });
      }
      untag = untag.filter((r) => repositoryOf(r) !== repo);
    }
    const going = new Set(untag);
    const remaining = refs.filter((r) => !going.has(r));
    if (remaining.length > 0) {
      if (untag.length > 0) skip(image.id, { kind: 'still-tagged', references: remaining });
      of.set(image.id, { untag, remaining, candidate: false });
      continue;
    }
    // Every reference goes: the image itself may go, if its containers can.
    const held = used
      .map((c) => ({ c, why: containers.protection(c) }))
      .find((x) => x.why !== undefined);
    if (held) {
      skipAll({
        kind: 'held-by-kept-container',
        container: displayName(held.c),
        because: held.why!
      });
      continue;
    }
    const unselected = used.find((c) => !containers.removable.has(c.id));
    if (byPattern.length === 0 && unselected) {
      // Dangling images are only taken when no container uses them, unless `containers` takes those.
      skip(image.id, { kind: 'used-by-unselected-container', container: displayName(unselected) });
      continue;
    }
    of.set(image.id, { untag, remaining, candidate: true });
  }
  return { of, skipped };
}

/** Digests before tags, then by name: the last reference removed is the one that deletes the image. */
export function untagOrder(refs: readonly Reference[]): Reference[] {
  return [...refs].sort(
    (a, b) => Number(isDigest(b)) - Number(isDigest(a)) || (a < b ? -1 : a > b ? 1 : 0)
  );
}
