// The ledger: what docker-reclaim has learnt about each image on one engine and can no longer
// learn from it: when it first saw the image, and the arrival events it read before the daemon's
// 256-event buffer moved on. One small JSON file per engine, on the runner's own disk.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ArrivalAction, ImageId, Inventory } from './plan/types.js';

export interface LedgerEntry {
  /** ms since epoch: when a run first listed the image. */
  firstSeen: number;
  /** The latest arrival event a run read for it. */
  arrived?: { time: number; action: ArrivalAction };
  /** The latest use by a container that a post step saw, ms since epoch. */
  lastUsed?: number;
}

export type LedgerEntries = ReadonlyMap<ImageId, LedgerEntry>;

/** Tells engines apart. 20.10 derives `ID` from /etc/docker/key.json, which every dockerd on a
 * machine shares, so the data root and the address go with it. */
export interface EngineIdentity {
  id: string;
  root: string;
  address: string;
}

interface LedgerFile {
  version: 1;
  engine: EngineIdentity;
  images: Record<string, LedgerEntry>;
}

const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a run that died. */
const LOCK_STALE_MS = 30_000;

export function ledgerFile(dir: string, engine: EngineIdentity): string {
  const key = createHash('sha256')
    .update(`${engine.id}\n${engine.root}\n${engine.address}`)
    .digest('hex')
    .slice(0, 16);
  return path.join(dir, `ledger-${key}.json`);
}

/** The entries in `file`; a missing file is an empty ledger, an unreadable one a problem to report. */
export function readLedger(file: string): { entries: LedgerEntries; problem?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { entries: new Map() }
      : { entries: new Map(), problem: `cannot read ${file} (${code ?? 'error'})` };
  }
  try {
    const data = JSON.parse(text) as LedgerFile;
    if (data?.version !== 1 || typeof data.images !== 'object' || data.images === null) {
      return { entries: new Map(), problem: `${file} is not a docker-reclaim ledger` };
    }
    const entries = new Map<ImageId, LedgerEntry>();
    for (const [id, entry] of Object.entries(data.images)) {
      if (typeof entry?.firstSeen === 'number') entries.set(id as ImageId, entry);
    }
    return { entries };
  } catch {
    return { entries: new Map(), problem: `${file} is not valid JSON` };
  }
}

/**
 * The ledger after a run that listed `inventory` at `seenAt`: every listed image is known from
 * then at the latest, with its latest arrival event; images that were listed before and are not
 * now are gone, and so are those the run deleted. Entries that another run added after this
 * run's listing stay.
 */
export function mergeLedger(
  current: LedgerEntries,
  inventory: Inventory,
  seenAt: number,
  deleted: ReadonlySet<ImageId>,
  /** Uses by containers that a post step saw, by image. */
  used: ReadonlyMap<ImageId, number> = new Map()
): Map<ImageId, LedgerEntry> {
  const next = new Map<ImageId, LedgerEntry>();
  const listed = new Set<ImageId>();
  for (const image of inventory.images) {
    if (deleted.has(image.id)) continue;
    listed.add(image.id);
    const before = current.get(image.id);
    const event = image.arrival?.event;
    const entry: LedgerEntry = { firstSeen: Math.min(before?.firstSeen ?? seenAt, seenAt) };
    const arrived = [before?.arrived, event && { time: event.time, action: event.action }]
      .filter((a) => a !== undefined)
      .sort((a, b) => b.time - a.time)[0];
    if (arrived) entry.arrived = arrived;
    const lastUsed = Math.max(before?.lastUsed ?? 0, used.get(image.id) ?? 0);
    if (lastUsed > 0) entry.lastUsed = lastUsed;
    next.set(image.id, entry);
  }
  for (const [id, entry] of current) {
    if (!listed.has(id) && !deleted.has(id) && entry.firstSeen > seenAt) next.set(id, entry);
  }
  return next;
}

/**
 * Rewrites the ledger under a lock, so that two runs sharing it never lose each other's records,
 * and through a rename, so that a reader never sees half a file.
 */
export async function updateLedger(
  file: string,
  engine: EngineIdentity,
  update: (current: LedgerEntries) => ReadonlyMap<ImageId, LedgerEntry>,
  clock: () => number = Date.now
): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lock = `${file}.lock`;
  await acquire(lock, clock);
  try {
    const { entries } = readLedger(file);
    const data: LedgerFile = {
      version: 1,
      engine,
      images: Object.fromEntries(update(entries))
    };
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(data)}\n`);
    fs.renameSync(tmp, file);
  } finally {
    removeIfThere(lock);
  }
}

function removeIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function acquire(lock: string, clock: () => number): Promise<void> {
  const deadline = clock() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      if (clock() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) {
        removeIfThere(lock);
        continue;
      }
    } catch {
      continue; // released meanwhile
    }
    if (clock() > deadline) {
      throw new Error(`${lock} has been held by another run for over ${LOCK_WAIT_MS / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The inventory with each image's arrival records: the latest arrival event, from this run's
 * events or from the ledger, and the ledger's first sight of it.
 */
export function withArrivalRecords(
  inventory: Inventory,
  events: ReadonlyMap<ImageId, { time: number; action: ArrivalAction }>,
  ledger: LedgerEntries
): Inventory {
  return {
    ...inventory,
    images: inventory.images.map((image) => {
      const entry = ledger.get(image.id);
      const now = events.get(image.id);
      const kept = entry?.arrived;
      const event =
        now && (!kept || now.time >= kept.time)
          ? { ...now, earlierRun: false }
          : kept && { ...kept, earlierRun: true };
      if (!event && !entry) return image;
      return {
        ...image,
        arrival: {
          ...(event ? { event } : {}),
          ...(entry ? { firstSeen: entry.firstSeen } : {}),
          ...(entry?.lastUsed ? { lastUsed: entry.lastUsed } : {})
        }
      };
    })
  };
}
