// Phase 3, references: what each image loses and whether it may go itself, decided per image.
// Children do not matter yet; the images phase decides that.
import type { ContainerDecisions } from './containers.js';
import { displayName, isStopped } from './containers.js';
import type { ImageEntry, ImageNode, InventoryIndex } from './index-inventory.js';
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

// Out of decide's body: a closure there that names one of its variables makes V8 allocate that
// variable's scope on every call (50,000 of them), even when the closure is never reached.
const without = (refs: readonly ParsedRef[], r: ParsedRef) => refs.filter((u) => u !== r);
const outside = (refs: readonly ParsedRef[], repository: ParsedRef['repository']) =>
  refs.filter((r) => r.repository !== repository);
// An image has a handful of references: a scan is cheaper than a set.
const notIn = (refs: readonly ParsedRef[], gone: readonly ParsedRef[]) =>
  refs.filter((r) => !gone.includes(r));

/** An image that loses nothing, made only when it does. */
const unchanged = (refs: readonly ParsedRef[]): ReferenceDecision => ({
  untag: NOTHING,
  remaining: refs,
  candidate: false
});

export const refsOf = (refs: readonly ParsedRef[]): Reference[] => refs.map((r) => r.ref);

/**
 * Dangling as Docker means it (`docker images -f dangling=true`, `docker image prune`): no tag. An
 * image a pull left with only its digest is dangling; an untagged parent of another image is not,
 * it goes with its last child.
 */
export function isDangling({ tags, digests, node }: ImageEntry): boolean {
  return tags.length === 0 && (digests.length > 0 || node.children.length === 0);
}

/** Whether one of `refs` is in `repository`: a scan, since an image has a handful of references. */
function inRepository(refs: readonly ParsedRef[], repository: ParsedRef['repository']): boolean {
  for (let i = 0; i < refs.length; i++) if (refs[i]!.repository === repository) return true;
  return false;
}

/** References that take a tag-less repository's digests with them are not separate choices. */
export function independentRefs({ tags, digests }: ImageEntry): readonly ParsedRef[] {
  let loose: ParsedRef[] | undefined;
  for (let i = 0; i < digests.length; i++) {
    const d = digests[i]!;
    if (!inRepository(tags, d.repository)) (loose ??= []).push(d);
  }
  return loose ? [...tags, ...loose] : tags;
}

export function decideReferences(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers,
  containers: ContainerDecisions,
  keptByRank: ReadonlyMap<ParsedRef, number>,
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

  /** Why a selected reference stays although its image could go: excluded, or kept by rank. */
  const keptAnyway = (r: ParsedRef): Reason | undefined => {
    const pattern = match.excludedBy(r);
    if (pattern !== undefined) return { kind: 'excluded', pattern };
    const rank = keptByRank.get(r);
    return rank === undefined
      ? undefined
      : { kind: 'kept-by-keep-latest', rank, keep: policy.keepLatest };
  };
  /** Every selected reference stays for one reason, or the image does when none is selected. */
  const skipAll = (node: ImageNode, byPattern: readonly ParsedRef[], reason: Reason) => {
    if (byPattern.length === 0) skip(node.id, reason);
    else for (const r of byPattern) skip(r.ref, reason);
  };
  const unselected = (c: InventoryContainer) => !containers.removable.has(c.id);

  const decide = (entry: ImageEntry): ReferenceDecision => {
    const { node } = entry;
    // Decisions live until the plan is done: where a list would equal one already at hand, they
    // keep that one rather than a copy.
    const refs = independentRefs(entry);
    const byPattern = keepWhere(refs, selects);
    const dangling = job
      ? job.image(node.id) && isDangling(entry)
      : policy.dangling && isDangling(entry);
    if (byPattern.length === 0 && !dangling) return unchanged(refs);
    // A dangling image loses every reference it has: the digests a pull left behind.
    const selected = dangling ? refs : byPattern;

    const used = node.containers;
    const running = used.length > 0 ? used.find(isRunning) : undefined;
    if (running) {
      skipAll(node, byPattern, {
        kind: 'in-use-by-running-container',
        container: displayName(running),
        state: running.state
      });
      return unchanged(refs);
    }
    const age = index.ageOf(entry);
    if (now - age.time < policy.olderThanMs) {
      skipAll(node, byPattern, {
        kind: 'too-young',
        ageMs: now - age.time,
        minMs: policy.olderThanMs,
        basis: age.basis,
        record: age.record
      });
      return unchanged(refs);
    }

    let untag = selected;
    for (let i = 0; i < selected.length; i++) {
      const r = selected[i]!;
      const reason = keptAnyway(r);
      if (reason === undefined) continue;
      skip(r.ref, reason);
      untag = without(untag, r);
    }
    // An excluded digest is removed by the engine with the last tag of its repository.
    for (let i = 0; i < entry.digests.length; i++) {
      const digest = entry.digests[i]!;
      const pattern = match.excludedBy(digest);
      if (pattern === undefined) continue;
      for (let k = 0; k < untag.length; k++) {
        const r = untag[k]!;
        if (r.repository === digest.repository) skip(r.ref, { kind: 'excluded', pattern });
      }
      untag = outside(untag, digest.repository);
    }
    const remaining = untag.length === refs.length ? NOTHING : notIn(refs, untag);
    if (remaining.length > 0) {
      if (untag.length > 0) skip(node.id, { kind: 'still-tagged', references: refsOf(remaining) });
      return { untag, remaining, candidate: false };
    }
    // Every reference goes: the image itself may go, if its containers can.
    for (let i = 0; i < used.length; i++) {
      const c = used[i]!;
      const why = containers.protection(c);
      if (why === undefined) continue;
      skipAll(node, byPattern, {
        kind: 'held-by-kept-container',
        container: displayName(c),
        because: why
      });
      return unchanged(refs);
    }
    const holder = used.length > 0 ? used.find(unselected) : undefined;
    if (byPattern.length === 0 && holder) {
      // Dangling images are only taken when no container uses them, unless `containers` takes those.
      skip(node.id, { kind: 'used-by-unselected-container', container: displayName(holder) });
      return unchanged(refs);
    }
    return { untag, remaining, candidate: true };
  };

  const of = new Array<ReferenceDecision>(index.nodes.length);
  // Should the engine list an ID twice, the image listed last decides.
  for (let i = 0; i < index.entries.length; i++) {
    const entry = index.entries[i]!;
    of[entry.node.n] = decide(entry);
  }
  return { of, skipped };
}

const untagsBefore = (a: ParsedRef, b: ParsedRef) =>
  Number(b.isDigest) - Number(a.isDigest) || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);

/** Digests before tags, then by name: the last reference removed is the one that deletes the image. */
export function untagOrder(refs: readonly ParsedRef[]): readonly ParsedRef[] {
  // Most images list theirs in this order already: then the list is its own answer.
  let ordered = true;
  for (let i = 1; ordered && i < refs.length; i++) {
    ordered = untagsBefore(refs[i - 1]!, refs[i]!) <= 0;
  }
  if (ordered) return refs;
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
