// Phase 2, keep-latest: per repository, the images that carry selected, non-excluded tags there,
// newest first. Every such tag of a kept image stays: an image's tags share one age.
import type { InventoryIndex } from './index-inventory.js';
import type { Matchers } from './matchers.js';
import { familiarName, repositoryOf } from './patterns.js';
import type { ImageId, Policy, Reference } from './types.js';

/** The rank (1 = newest) of each reference that keep-latest keeps. */
export function rankKeepLatest(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers
): ReadonlyMap<Reference, number> {
  const kept = new Map<Reference, number>();
  if (policy.keepLatest <= 0) return kept;
  const byRepo = new Map<string, Map<ImageId, { id: ImageId; refs: Reference[]; time: number }>>();
  for (const i of index.inventory.images) {
    for (const ref of i.tags) {
      if (match.selectedBy(ref) === undefined || match.excludedBy(ref) !== undefined) continue;
      const repo = familiarName(repositoryOf(ref));
      let entries = byRepo.get(repo);
      if (!entries) byRepo.set(repo, (entries = new Map()));
      const entry = entries.get(i.id);
      if (entry) entry.refs.push(ref);
      else entries.set(i.id, { id: i.id, refs: [ref], time: index.ageOf(i).time });
    }
  }
  for (const entries of byRepo.values()) {
    const list = [...entries.values()];
    list.sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
    list.slice(0, policy.keepLatest).forEach((e, n) => {
      for (const ref of e.refs) kept.set(ref, n + 1);
    });
  }
  return kept;
}
