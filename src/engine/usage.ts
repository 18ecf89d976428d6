// The engine's disk usage: GET /system/df (sizes of layers, writable layers and volumes, and the
// build cache records) and GET /volumes (their labels and creation times), read once per run.
import type Docker from 'dockerode';
import type { BuildCacheRecord, Inventory, InventoryVolume } from '../plan/types.js';
import { timeOf } from './inventory.js';

interface DfVolume {
  Name: string;
  Labels?: Record<string, string> | null;
  UsageData?: { Size?: number; RefCount?: number } | null;
}

interface DfRecord {
  ID: string;
  Parent?: string;
  Parents?: string[] | null;
  Type?: string;
  Description?: string;
  InUse?: boolean;
  Shared?: boolean;
  Size?: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
}

export interface SystemDf {
  LayersSize?: number;
  Containers?: { Id?: string; SizeRw?: number }[] | null;
  Volumes?: DfVolume[] | null;
  BuildCache?: DfRecord[] | null;
}

export interface Usage {
  df: SystemDf;
  volumes: { Name: string; Labels?: Record<string, string> | null; CreatedAt?: string }[];
}

/** How long to wait for another client's /system/df to finish before giving up. */
const DF_BUSY_WAIT_MS = 60_000;
const DF_BUSY_RETRY_MS = 250;

/**
 * GET /system/df. Docker 20.10 runs one at a time and refuses a second with 500 "a disk usage
 * operation is already running" (later versions share the running one): a run beside ours on a
 * shared engine, or `docker system df`, must not fail this one, so it waits its turn.
 */
export async function diskUsage(docker: Docker): Promise<SystemDf> {
  const started = Date.now();
  for (;;) {
    try {
      return (await docker.df()) as SystemDf;
    } catch (e) {
      const busy = /disk usage operation is already running/i.test(String((e as Error).message));
      if (!busy || Date.now() - started > DF_BUSY_WAIT_MS) throw e;
      await new Promise((resolve) => setTimeout(resolve, DF_BUSY_RETRY_MS));
    }
  }
}

export async function readUsage(docker: Docker): Promise<Usage> {
  const [df, listed] = await Promise.all([
    diskUsage(docker),
    docker.listVolumes() as Promise<{ Volumes?: Usage['volumes'] | null }>
  ]);
  return { df, volumes: listed.Volumes ?? [] };
}

/** The inventory with its volumes and, where the engine has BuildKit, its build cache. */
export function withUsage(inventory: Inventory, usage: Usage, buildKit: boolean): Inventory {
  const sizes = new Map((usage.df.Volumes ?? []).map((v) => [v.Name, v.UsageData?.Size]));
  const volumes: InventoryVolume[] = usage.volumes.map((v) => {
    const volume: InventoryVolume = {
      name: v.Name,
      labels: v.Labels ?? {},
      created: timeOf(v.CreatedAt) ?? 0
    };
    // -1: the engine did not compute it.
    const size = sizes.get(v.Name);
    if (typeof size === 'number' && size >= 0) volume.size = size;
    return volume;
  });
  // The writable layers' sizes, which an inspect would compute one container at a time.
  const sizeRw = new Map((usage.df.Containers ?? []).map((c) => [c.Id, c.SizeRw]));
  const containers = inventory.containers.map((c) => {
    const size = sizeRw.get(c.id);
    return typeof size === 'number' && size >= 0 ? { ...c, sizeRw: size } : c;
  });
  const result: Inventory = { ...inventory, containers, volumes };
  if (buildKit) result.buildCache = (usage.df.BuildCache ?? []).map(buildCacheRecord);
  return result;
}

function buildCacheRecord(r: DfRecord): BuildCacheRecord {
  const record: BuildCacheRecord = {
    id: r.ID,
    parents: r.Parents ?? (r.Parent ? [r.Parent] : []),
    type: r.Type ?? '',
    description: r.Description ?? '',
    inUse: Boolean(r.InUse),
    shared: Boolean(r.Shared),
    size: r.Size ?? 0,
    created: timeOf(r.CreatedAt ?? undefined) ?? 0
  };
  const lastUsed = timeOf(r.LastUsedAt ?? undefined);
  if (lastUsed !== undefined) record.lastUsed = lastUsed;
  return record;
}

/**
 * What /system/df counts as the engine's own disk use: layers, writable layers, volumes and the
 * build cache records no image shares (a shared one's bytes are in the layers already).
 */
export function usageTotal(df: SystemDf): number | undefined {
  if (typeof df.LayersSize !== 'number') return undefined;
  const totalOf = <T>(xs: readonly T[] | null | undefined, f: (x: T) => number) =>
    (xs ?? []).reduce((total, x) => total + Math.max(0, f(x)), 0);
  return (
    df.LayersSize +
    totalOf(df.Containers, (c) => c.SizeRw ?? 0) +
    totalOf(df.Volumes, (v) => v.UsageData?.Size ?? 0) +
    totalOf(df.BuildCache, (r) => (r.Shared ? 0 : (r.Size ?? 0)))
  );
}
