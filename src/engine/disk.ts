// The engine's data disk and its own space totals, for predicting and measuring what a run frees.
import fs from 'node:fs';
import type Docker from 'dockerode';
import type { Disk } from '../plan/types.js';
import type { Connection } from './connect.js';

export async function statDisk(path: string): Promise<Disk> {
  const s = await fs.promises.statfs(path);
  // bavail, not bfree: what a non-root writer (and the engine's quota-less default) can use.
  return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/**
 * The filesystem behind the engine's DockerRootDir, if the engine runs on this machine: a unix
 * socket here and its root directory visible here.
 */
export async function engineDisk(
  conn: Connection,
  root: string | undefined
): Promise<{ root?: string; disk?: Disk }> {
  if (!conn.local || !root || !fs.existsSync(root)) return { root };
  return { root, disk: await statDisk(root) };
}

/** /system/df's layer and writable-layer totals; undefined when the engine cannot say. */
export async function spaceTotals(docker: Docker): Promise<number | undefined> {
  try {
    const df = (await docker.df()) as {
      LayersSize?: number;
      Containers?: { SizeRw?: number }[];
    };
    if (typeof df.LayersSize !== 'number') return undefined;
    return df.LayersSize + (df.Containers ?? []).reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
  } catch {
    return undefined;
  }
}
