// The main step's snapshot for job cleanup: what the engine held when the job's own work began.
// It goes in a file under RUNNER_TEMP, and only the file's path goes in the step's state.
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerId, ImageId, Inventory, JobScope, Reference } from './plan/types.js';

export interface Snapshot {
  version: 1;
  /** The engine's clock at the snapshot, ms since epoch. */
  time: number;
  /** The engine it is of. */
  address: string;
  /** Every image, with its tag and digest references. */
  images: Record<string, Reference[]>;
  containers: ContainerId[];
  volumes: string[];
  buildCache: string[];
}

export function takeSnapshot(inventory: Inventory, time: number, address: string): Snapshot {
  return {
    version: 1,
    time,
    address,
    images: Object.fromEntries(inventory.images.map((i) => [i.id, [...i.tags, ...i.digests]])),
    containers: inventory.containers.map((c) => c.id),
    volumes: (inventory.volumes ?? []).map((v) => v.name),
    buildCache: (inventory.buildCache ?? []).map((r) => r.id)
  };
}

export function writeSnapshot(dir: string, snapshot: Snapshot): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `docker-reclaim-snapshot-${process.pid}-${snapshot.time}.json`);
  fs.writeFileSync(file, `${JSON.stringify(snapshot)}\n`);
  return file;
}

/** The snapshot in `file`, or why there is none to use. */
export function readSnapshot(file: string): { snapshot: Snapshot } | { problem: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { problem: `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    const snapshot = JSON.parse(text) as Snapshot;
    if (snapshot?.version !== 1 || typeof snapshot.images !== 'object') {
      return { problem: `${file} is not a docker-reclaim snapshot` };
    }
    return { snapshot };
  } catch {
    return { problem: `${file} is not valid JSON` };
  }
}

/** What the job added: everything the engine holds now that the snapshot does not. */
export function jobScope(snapshot: Snapshot, now: Inventory): JobScope {
  const containers = new Set<string>(snapshot.containers);
  const volumes = new Set(snapshot.volumes);
  const records = new Set(snapshot.buildCache);
  const images: ImageId[] = [];
  const references: Reference[] = [];
  for (const i of now.images) {
    const before = snapshot.images[i.id];
    if (!before) images.push(i.id);
    const had = new Set(before ?? []);
    references.push(...[...i.tags, ...i.digests].filter((r) => !had.has(r)));
  }
  return {
    images,
    references,
    containers: now.containers.filter((c) => !containers.has(c.id)).map((c) => c.id),
    volumes: (now.volumes ?? []).filter((v) => !volumes.has(v.name)).map((v) => v.name),
    buildCache: (now.buildCache ?? []).filter((r) => !records.has(r.id)).map((r) => r.id)
  };
}
