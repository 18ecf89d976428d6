// Oracles for planner tests: plain restatements of rules the planner implements in faster ways.
import { parseReference, repositoryForms, type ImagePattern } from '../src/plan/patterns.js';
import type { Plan, Reference } from '../src/plan/types.js';

/** Whether one compiled image pattern matches one reference, by the README's rules. */
export function matchesReference(pattern: ImagePattern, ref: string): boolean {
  const { repository, tag, digest } = parseReference(ref);
  if (!repositoryForms(repository).some((name) => pattern.repository.match(name))) return false;
  if (digest !== undefined) {
    // A digest reference matches a pattern without a tag, or one whose digest glob matches.
    if (pattern.tag) return false;
    return pattern.digest ? pattern.digest.match(digest) : true;
  }
  if (pattern.digest) return false;
  return pattern.tag ? tag !== undefined && pattern.tag.match(tag) : true;
}

/** References the plan removes from images that stay, digests that go with their last tag included. */
export function untagOnly(plan: Plan): Reference[] {
  const deleted = new Set<string>(plan.deleteImages.map((i) => i.id));
  return plan.steps.flatMap((s) =>
    s.kind === 'untag' && !deleted.has(s.image) ? [s.reference, ...s.digests] : []
  );
}
