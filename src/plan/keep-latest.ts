// Phase 2, keep-latest: per repository, the images that carry selected, non-excluded tags there,
// newest first. Every such tag of a kept image stays: an image's tags share one age.
import type { ImageEntry, InventoryIndex } from './index-inventory.js';
import type { Matchers } from './matchers.js';
import type { ParsedRef } from './patterns.js';
import type { ImageId, Policy } from './types.js';

interface Candidate {
  id: ImageId;
  time: number;
  /** The image's listing: its tags in the group are the candidate's. */
  entry: ImageEntry;
  /** Later listings of its ID, should the engine list one twice: their tags are the candidate's too. */
  relisted?: ImageEntry[];
}

const newerFirst = (a: Candidate, b: Candidate) => b.time - a.time || (a.id < b.id ? -1 : 1);

/**
 * The rank (1 = newest) of each reference that keep-latest keeps. By the parsed reference, whose
 * lookup is by identity: by its text, the first lookup of each of 100,000 references hashed it.
 */
export function rankKeepLatest(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers
): ReadonlyMap<ParsedRef, number> {
  const kept = new Map<ParsedRef, number>();
  if (policy.keepLatest <= 0) return kept;
  const counts = (tag: ParsedRef) =>
    match.selectedBy(tag) !== undefined && match.excludedBy(tag) === undefined;
  // Each group's candidates, one per image ID: a group is the repositories of one familiar name.
  // By familiar name, and by Repository.n.
  const groups = new Map<string, Candidate[]>();
  const groupOf: (Candidate[] | undefined)[] = [];
  for (let i = 0; i < index.entries.length; i++) {
    const entry = index.entries[i]!;
    const { id } = entry.node;
    for (let k = 0; k < entry.tags.length; k++) {
      const tag = entry.tags[k]!;
      if (!counts(tag)) continue;
      let group = groupOf[tag.repository.n];
      if (!group) {
        const name = tag.repository.familiar;
        group = groups.get(name);
        if (!group) groups.set(name, (group = []));
        groupOf[tag.repository.n] = group;
      }
      // Images come in ID order, so the image's candidate, if it has one yet, is the last one.
      const last = group[group.length - 1];
      if (last?.id !== id) group.push({ id, time: index.ageOf(entry).time, entry });
      else if (last.entry !== entry && !last.relisted?.includes(entry)) {
        (last.relisted ??= []).push(entry);
      }
    }
  }
  // The tags are collected only for the few candidates kept.
  for (const group of groups.values()) {
    newest(group, policy.keepLatest).forEach((c, n) => {
      for (const entry of [c.entry, ...(c.relisted ?? [])]) {
        for (const tag of entry.tags) {
          if (groupOf[tag.repository.n] === group && counts(tag)) kept.set(tag, n + 1);
        }
      }
    });
  }
  return kept;
}

/**
 * The `keep` newest candidates, newest first. A runner that tags `app:pr-N` for every PR has
 * thousands of images in one repository and keeps a few: picking those costs a pass over the
 * list, where sorting it all costs n log n comparisons.
 */
function newest(candidates: Candidate[], keep: number): Candidate[] {
  // A NaN time would make the order inconsistent, and the result depend on the sort's algorithm.
  if (keep * 8 >= candidates.length || candidates.some((c) => Number.isNaN(c.time))) {
    return candidates.sort(newerFirst).slice(0, keep);
  }
  const top: Candidate[] = [];
  // By index: `for … of` makes an iterator result per candidate in code not yet optimised.
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (top.length === keep && newerFirst(c, top[keep - 1]!) > 0) continue;
    let at = top.length;
    while (at > 0 && newerFirst(c, top[at - 1]!) < 0) at--;
    top.splice(at, 0, c);
    if (top.length > keep) top.pop();
  }
  return top;
}
