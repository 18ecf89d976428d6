// Terse builders for planner fixtures. Times are ms since epoch; NOW is the planner's clock.
import type {
  BuildCacheRecord,
  ContainerId,
  ContainerState,
  ImageId,
  InventoryContainer,
  InventoryImage,
  InventoryVolume,
  Policy,
  Reference
} from '../src/plan/types.js';

export const DAY = 86_400_000;
export const NOW = Date.parse('2026-11-27T12:00:00Z');

let counter = 0;
const hex = (n: number, prefix: string) => (prefix + n.toString(16)).padStart(64, '0');

/**
 * An image built on this engine `ageDays` ago: created and tagged then. Pass `lastTagTime:
 * undefined` for one that was pulled or loaded, whose arrival only events or the ledger know.
 */
export function image(
  tags: string[] = [],
  opts: Partial<Omit<InventoryImage, 'tags'>> & { ageDays?: number } = {}
): InventoryImage {
  const { ageDays = 30, ...rest } = opts;
  return {
    id: hex(++counter, 'a') as ImageId,
    tags: tags as Reference[],
    digests: [],
    created: NOW - ageDays * DAY,
    lastTagTime: NOW - ageDays * DAY,
    size: 1000,
    ...rest
  };
}

export function container(
  of: InventoryImage,
  state: ContainerState = 'exited',
  opts: Partial<InventoryContainer> & { stoppedDaysAgo?: number } = {}
): InventoryContainer {
  const n = ++counter;
  const { stoppedDaysAgo = 10, ...rest } = opts;
  return {
    id: hex(n, 'c') as ContainerId,
    names: [`c${n}`],
    image: of.id,
    state,
    created: NOW - (stoppedDaysAgo + 1) * DAY,
    startedAt: state === 'created' ? undefined : NOW - (stoppedDaysAgo + 1) * DAY,
    finishedAt: state === 'exited' || state === 'dead' ? NOW - stoppedDaysAgo * DAY : undefined,
    labels: {},
    networks: [],
    ...rest
  };
}

export function policy(p: Partial<Policy> = {}): Policy {
  return {
    images: [],
    exclude: [],
    olderThanMs: 0,
    ageBasis: 'last-used',
    keepLatest: 0,
    dangling: false,
    containers: [],
    containersOlderThanMs: 0,
    ...p
  };
}

/** A volume created `ageDays` ago; a 64-hex name makes it anonymous, as the engine names those. */
export function volume(
  name: string,
  opts: Partial<InventoryVolume> & { ageDays?: number } = {}
): InventoryVolume {
  const { ageDays = 10, ...rest } = opts;
  return { name, labels: {}, created: NOW - ageDays * DAY, size: 100, ...rest };
}

/** A random anonymous volume name. */
export const anonymousName = (n: number) => n.toString(16).padStart(64, 'e');

/** A build cache record last used `usedDaysAgo` ago. */
export function cacheRecord(
  id: string,
  opts: Partial<BuildCacheRecord> & { usedDaysAgo?: number } = {}
): BuildCacheRecord {
  const { usedDaysAgo = 10, ...rest } = opts;
  return {
    id,
    parents: [],
    type: 'regular',
    description: `step ${id}`,
    inUse: false,
    shared: false,
    size: 1000,
    created: NOW - (usedDaysAgo + 1) * DAY,
    lastUsed: NOW - usedDaysAgo * DAY,
    ...rest
  };
}
