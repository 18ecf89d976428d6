// Phase 6, build cache: which BuildKit records go. A record goes when no build uses it, no image
// shares its content, it was last used long enough ago, and every record built on it goes too
// (BuildKit keeps a record that another one holds).
import type { BuildCacheRecord, PlannedCacheRecord, Reason, Skip } from './types.js';

const lastUse = (r: BuildCacheRecord) => r.lastUsed ?? r.created;

/**
 * The records that go at `olderThanMs`, children first, and why each other record stays; none
 * when the engine has no build cache or the policy leaves it alone (`olderThanMs` undefined).
 */
export function decideBuildCache(
  records: readonly BuildCacheRecord[] | undefined,
  olderThanMs: number | undefined,
  now: number,
  /**
   * Job cleanup: only the job's records may go, shared ones too, since the job's images go with
   * them and an unshared record would then hold their layers.
   */
  job?: { only: (id: string) => boolean }
): { remove: ReadonlyMap<string, PlannedCacheRecord>; skipped: readonly Skip[] } {
  const remove = new Map<string, PlannedCacheRecord>();
  const skipped: Skip[] = [];
  if (records === undefined || olderThanMs === undefined) return { remove, skipped };
  const byId = new Map(records.map((r) => [r.id, r]));
  const childrenOf = new Map<string, string[]>();
  for (const r of records) {
    for (const p of r.parents) {
      const children = childrenOf.get(p);
      if (children) children.push(r.id);
      else childrenOf.set(p, [r.id]);
    }
  }
  // Not the job's: it stays without a word, as everything that was there before the job does.
  const outOfScope: Reason = { kind: 'existed-before-job' };
  const own = (r: BuildCacheRecord): Reason | undefined => {
    if (job && !job.only(r.id)) return outOfScope;
    if (r.inUse) return { kind: 'cache-in-use' };
    if (r.shared && !job) return { kind: 'cache-shared' };
    const age = now - lastUse(r);
    if (age < olderThanMs)
      return { kind: 'too-young', ageMs: age, minMs: olderThanMs, basis: 'cache' };
    return undefined;
  };
  const decided = new Map<string, Reason | undefined>();
  const decide = (id: string, path: Set<string>): Reason | undefined => {
    if (decided.has(id)) return decided.get(id);
    const r = byId.get(id)!;
    let why = own(r);
    // Records form a tree; a loop would be the engine's bug, and then nothing in it goes.
    for (const child of childrenOf.get(id) ?? []) {
      if (why) break;
      if (path.has(child)) why = { kind: 'cache-parent-of-kept', child };
      else if (decide(child, new Set([...path, id])) !== undefined) {
        why = { kind: 'cache-parent-of-kept', child };
      }
    }
    decided.set(id, why);
    return why;
  };
  // Children before parents: deepest first, then by ID, so that the same state gives the same plan.
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    const parents = (byId.get(id)?.parents ?? []).filter((p) => byId.has(p) && !seen.has(p));
    const d =
      parents.length === 0
        ? 0
        : 1 + Math.max(...parents.map((p) => depthOf(p, new Set([...seen, id]))));
    depth.set(id, d);
    return d;
  };
  const ordered = [...records].sort(
    (a, b) => depthOf(b.id) - depthOf(a.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  for (const r of ordered) {
    const why = decide(r.id, new Set());
    if (why === outOfScope) continue;
    if (why) skipped.push({ target: r.id, reason: why });
    else {
      remove.set(r.id, {
        id: r.id,
        type: r.type,
        description: r.description,
        size: r.size,
        lastUsed: lastUse(r)
      });
    }
  }
  return { remove, skipped };
}
