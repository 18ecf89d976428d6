// A live feed of the engine's events from the moment the inventory is read, so that the reference
// checks before untags and deletes by ID can be answered without a request each: while the feed is
// open and has brought no event that can name an image anew, every reference still names what the
// inventory saw, and the images the plan deletes have gained none. Any such event, or a feed that
// closes, sends the executor back to inspecting before each call.
import type Docker from 'dockerode';
import { eachLine, eventTime, type EngineEvent } from './events.js';

export interface ReferenceWatch {
  /**
   * True while the feed is open and nothing has named an image since it began. Waits one turn of
   * the event loop first, so that an event already on the socket is read before the answer.
   */
  unchanged(): Promise<boolean>;
  close(): void;
}

// Image events that only take names away, which this run's own removals make too; every other
// image event (tag, pull, load, import, build, create, and any this list does not know) counts as
// a change. Podman says remove where Docker says delete.
const TAKES_AWAY = new Set(['untag', 'delete', 'remove', 'prune', 'push', 'save']);

/** Whether an event can have given an image a reference. */
export function namesAnImage(e: EngineEvent): boolean {
  if (e.Type === 'image') return !TAKES_AWAY.has(e.Action ?? '');
  // `docker commit` makes an image, and may tag it.
  return e.Type === 'container' && e.Action === 'commit';
}

/**
 * Starts the feed at `sinceMs` on the engine's clock, read before the inventory: events before it
 * are in what the inventory reads, and the engine replays those after it. Without the engine's
 * clock every event counts, since a clock of ours could be ahead of the engine's. Resolves once the
 * engine has answered; rejects if it cannot stream events.
 */
export async function watchReferences(
  docker: Docker,
  engineNowMs: number | undefined
): Promise<ReferenceWatch> {
  const sinceMs = engineNowMs ?? 0;
  const stream = (await docker.getEvents({
    since: Math.max(1, Math.floor((engineNowMs ?? Date.now() - 60_000) / 1000)),
    filters: { type: ['image', 'container'] }
  })) as NodeJS.ReadableStream & { destroy(): void; socket?: { unref?(): void } };
  // The feed must never be what keeps the step's process alive.
  stream.socket?.unref?.();
  let open = true;
  let changed = false;
  eachLine(stream, (line) => {
    if (line.trim() === '') return;
    try {
      const e = JSON.parse(line) as EngineEvent;
      if (eventTime(e) >= sinceMs && namesAnImage(e)) changed = true;
    } catch {
      // An event that cannot be read might have been anything.
      changed = true;
    }
  });
  const closed = () => (open = false);
  stream.on('end', closed);
  stream.on('close', closed);
  stream.on('error', closed);
  return {
    async unchanged() {
      await new Promise((resolve) => setImmediate(resolve));
      return open && !changed;
    },
    close() {
      open = false;
      stream.destroy();
    }
  };
}
