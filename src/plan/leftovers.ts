// Phase 8, leftovers: what the run leaves that docker-reclaim could reclaim, measured even when
// the inputs leave build cache and volumes alone, so that the summary can name the input that would.
import { decideBuildCache } from './build-cache.js';
import type { InventoryIndex } from './index-inventory.js';
import type { Selection } from './selection.js';
import type { Leftovers, Policy } from './types.js';
import { isAnonymous, usersOf } from './volumes.js';

/** What the summary proposes for build-cache when it is empty. */
export const SUGGESTED_BUILD_CACHE_AGE_MS = 7 * 86_400_000;

export function measureLeftovers(
  index: InventoryIndex,
  policy: Policy,
  selection: Selection,
  now: number
): Leftovers {
  const users = usersOf(index.inventory.containers);
  const anonymousVolumes = { count: 0, bytes: 0 };
  const namedVolumes = { count: 0, bytes: 0 };
  for (const v of index.inventory.volumes ?? []) {
    if (selection.volumes.has(v.name)) continue;
    // Left unused: no container uses it once this run's containers are gone.
    const used = (users.get(v.name) ?? []).some((c) => !selection.containers.has(c.id));
    if (used) continue;
    const tally = isAnonymous(v) ? anonymousVolumes : namedVolumes;
    tally.count++;
    tally.bytes += v.size ?? 0;
  }
  const leftovers: Leftovers = { anonymousVolumes, namedVolumes };
  const records = index.inventory.buildCache;
  if (records) {
    const left = records.filter((r) => !selection.buildCache.has(r.id));
    leftovers.buildCache = {
      records: left.length,
      bytes: left.reduce((sum, r) => sum + (r.shared ? 0 : r.size), 0)
    };
    if (policy.buildCacheOlderThanMs === undefined && left.length > 0) {
      const would = decideBuildCache(records, SUGGESTED_BUILD_CACHE_AGE_MS, now).remove;
      leftovers.buildCache.suggestion = {
        olderThanMs: SUGGESTED_BUILD_CACHE_AGE_MS,
        records: would.size,
        bytes: [...would.values()].reduce((sum, r) => sum + r.size, 0)
      };
    }
  }
  return leftovers;
}
