// Phase 5, volumes: which volumes go. A volume goes only after every container that uses it, so
// one that a container this run leaves uses (running or stopped) always stays.
import { displayName } from './containers.js';
import type { InventoryIndex } from './index-inventory.js';
import type { Matchers } from './matchers.js';
import type {
  ContainerId,
  InventoryContainer,
  InventoryVolume,
  PlannedVolume,
  Policy,
  Skip
} from './types.js';

/**
 * Docker 23 and later label anonymous volumes; 20.10 does not, and 23.0 to 27.3 left the label off
 * those made by `--mount type=volume` with no source. Those have a random 64-hex name, which
 * `docker volume create` and `-v name:/path` never make.
 */
export function isAnonymous(v: InventoryVolume): boolean {
  return 'com.docker.volume.anonymous' in v.labels || /^[0-9a-f]{64}$/.test(v.name);
}

/** The containers that mount each volume. */
export function usersOf(
  containers: readonly InventoryContainer[]
): Map<string, InventoryContainer[]> {
  const users = new Map<string, InventoryContainer[]>();
  for (const c of containers) {
    for (const v of c.volumes ?? []) {
      const using = users.get(v);
      if (using) using.push(c);
      else users.set(v, [c]);
    }
  }
  return users;
}

export function decideVolumes(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers,
  removedContainers: ReadonlySet<ContainerId>
): { remove: ReadonlyMap<string, PlannedVolume>; skipped: readonly Skip[] } {
  const users = usersOf(index.inventory.containers);
  const remove = new Map<string, PlannedVolume>();
  const skipped: Skip[] = [];
  const volumes = [...(index.inventory.volumes ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const v of volumes) {
    const anonymous = isAnonymous(v);
    // Named volumes go only when a pattern names them; job cleanup takes the job's own.
    const selected = match.job
      ? match.job.volume(v.name)
      : match.volumeSelected(v.name) || (anonymous && policy.anonymousVolumes);
    if (!selected) continue;
    const pattern = match.excludedName([v.name]);
    if (pattern !== undefined) {
      skipped.push({ target: v.name, reason: { kind: 'excluded', pattern } });
      continue;
    }
    const using = users.get(v.name) ?? [];
    const stays = using.find((c) => !removedContainers.has(c.id));
    if (stays) {
      skipped.push({
        target: v.name,
        reason: { kind: 'volume-in-use', container: displayName(stays), state: stays.state }
      });
      continue;
    }
    remove.set(v.name, {
      name: v.name,
      anonymous,
      ...(v.size === undefined ? {} : { size: v.size }),
      created: v.created,
      containers: using.map((c) => c.id)
    });
  }
  return { remove, skipped };
}
