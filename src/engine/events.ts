// The engine's recent events: when images arrived (pull, load, tag, import, commit). The daemon
// keeps only its last 256 events in memory and loses them on restart, so they are a record of
// the last minutes at best; the ledger keeps what they said for later runs.
import type Docker from 'dockerode';
import { familiarName, parseReference } from '../plan/patterns.js';
import type { ArrivalAction, ImageId, InventoryImage } from '../plan/types.js';
import { imageId } from './inventory.js';

/** The fields of an event message that docker-reclaim reads (Docker and Podman agree on these). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  /** Seconds since epoch. */
  time?: number;
  timeNano?: number;
}

/** The daemon's in-memory event buffer (moby daemon/events/events.go, eventsLimit). */
export const EVENT_BUFFER = 256;

/**
 * Every event the engine still holds, up to `untilMs` on the engine's clock. `until` ends the
 * stream on Docker; Podman ignores an `until` in the past and streams past it, so `stream=false`
 * ends it there; and a cut-off after `timeoutMs` guards against an engine that does neither.
 */
export async function readEvents(
  docker: Docker,
  untilMs: number,
  timeoutMs: number,
  sinceMs = 1000
): Promise<{ events: EngineEvent[]; complete: boolean }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: EngineEvent[] = [];
  const take = (line: string) => {
    if (line.trim() === '') return;
    try {
      const e = JSON.parse(line) as EngineEvent;
      const t = eventTime(e);
      if (t <= untilMs && t >= sinceMs) events.push(e);
    } catch {
      // A line cut by the timeout: what came before it still counts.
    }
  };
  try {
    const stream = (await docker.getEvents({
      // An integer `until` leaves out its own second.
      since: Math.max(1, Math.floor(sinceMs / 1000)),
      until: Math.floor(untilMs / 1000) + 1,
      stream: false,
      abortSignal: abort.signal
    } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
    let takeRest = () => {};
    await new Promise<void>((resolve, reject) => {
      takeRest = eachLine(stream, take);
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (e) => (abort.signal.aborted ? resolve() : reject(e)));
      abort.signal.addEventListener('abort', () => resolve());
    });
    takeRest();
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
  }
  return { events, complete: !abort.signal.aborted };
}

/**
 * Calls `take` with each line of an event stream as it arrives, chunks split where they may; the
 * function returned takes the last line, which has no newline after it.
 */
export function eachLine(stream: NodeJS.ReadableStream, take: (line: string) => void): () => void {
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    lines.forEach(take);
  });
  return () => take(rest);
}

/** ms since epoch. `timeNano` is past 2^53 and loses its last digits in JSON, which ms do not need. */
export function eventTime(e: EngineEvent): number {
  if (typeof e.timeNano === 'number' && e.timeNano > 0) return Math.floor(e.timeNano / 1e6);
  return (e.time ?? 0) * 1000;
}

const IMAGE_ACTIONS: Record<string, ArrivalAction> = {
  pull: 'pull',
  load: 'load',
  // Podman's name for a load through its own API.
  loadfromarchive: 'load',
  tag: 'tag',
  import: 'import',
  build: 'build'
};

/** `host/app:1`, `app`, `docker.io/library/app:latest` → one key per image reference. */
function referenceKey(ref: string): string {
  const { repository, tag, digest } = parseReference(ref);
  const name = familiarName(repository);
  return digest !== undefined ? `${name}@${digest}` : `${name}:${tag ?? 'latest'}`;
}

/**
 * The latest arrival event of each image. Pulls name a reference, not an image: one is credited to
 * the image that reference names now, which is the image that pull brought if nothing renamed it
 * since (and a later rename has its own, later event). Crediting the wrong image can only make it
 * look younger than it is, never older.
 */
export function latestArrivals(
  events: readonly EngineEvent[],
  images: readonly InventoryImage[]
): Map<ImageId, { time: number; action: ArrivalAction }> {
  const byReference = new Map<string, ImageId>();
  const known = new Set<ImageId>();
  for (const i of images) {
    known.add(i.id);
    for (const r of [...i.tags, ...i.digests]) byReference.set(referenceKey(r), i.id);
  }
  const latest = new Map<ImageId, { time: number; action: ArrivalAction }>();
  const credit = (id: ImageId | undefined, time: number, action: ArrivalAction) => {
    if (id === undefined || !known.has(id)) return;
    const seen = latest.get(id);
    if (!seen || time >= seen.time) latest.set(id, { time, action });
  };
  for (const e of events) {
    const time = eventTime(e);
    const actor = e.Actor ?? {};
    if (e.Type === 'container' && e.Action === 'commit') {
      const committed = actor.Attributes?.imageID;
      if (committed) credit(imageId(committed), time, 'commit');
      continue;
    }
    const action = e.Type === 'image' ? IMAGE_ACTIONS[e.Action ?? ''] : undefined;
    if (!action) continue;
    const id = actor.ID ?? '';
    if (action === 'pull') {
      // Docker names the pulled reference in Actor.ID, Podman in the name attribute.
      const ref = id || actor.Attributes?.name || '';
      if (ref) credit(byReference.get(referenceKey(ref)), time, action);
    } else credit(id ? imageId(id) : undefined, time, action);
  }
  return latest;
}

const CONTAINER_USE = new Set(['create', 'start', 'die', 'destroy']);

/**
 * The latest time a container used each image, from container events. An event names the image as
 * the user typed it (a reference, a full ID or a short one), resolved here against the images that
 * exist now; one that names none of them is not counted.
 */
export function containerUses(
  events: readonly EngineEvent[],
  images: readonly InventoryImage[]
): Map<ImageId, number> {
  const byReference = new Map<string, ImageId>();
  for (const i of images) {
    for (const r of [...i.tags, ...i.digests]) byReference.set(referenceKey(r), i.id);
  }
  const resolve = (typed: string): ImageId | undefined => {
    const hex = /^(?:sha256:)?([0-9a-f]{12,64})$/.exec(typed)?.[1];
    if (hex) return images.find((i) => i.id.replace(/^sha256:/, '').startsWith(hex))?.id;
    return byReference.get(referenceKey(typed));
  };
  const used = new Map<ImageId, number>();
  for (const e of events) {
    if (e.Type !== 'container' || !CONTAINER_USE.has(e.Action ?? '')) continue;
    const typed = e.Actor?.Attributes?.image;
    const id = typed ? resolve(typed) : undefined;
    if (id === undefined) continue;
    used.set(id, Math.max(used.get(id) ?? 0, eventTime(e)));
  }
  return used;
}
