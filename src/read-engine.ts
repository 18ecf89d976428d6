// Reading the engine once per step: its inventory, disk usage, recent events, data disk and the
// ledger's records, as the planner needs them.
import * as core from '@actions/core';
import type Docker from 'dockerode';
import { describeError, type Connection } from './engine/connect.js';
import { engineDisk, type DiskFinding, type StorageInfo } from './engine/disk.js';
import { EVENT_BUFFER, latestArrivals, readEvents, type EngineEvent } from './engine/events.js';
import { readInventory } from './engine/inventory.js';
import { watchReferences, type ReferenceWatch } from './engine/watch.js';
import { readUsage, usageTotal, withUsage } from './engine/usage.js';
import { formatDuration } from './duration.js';
import type { Settings } from './inputs.js';
import {
  ledgerFile,
  readLedger,
  withArrivalRecords,
  type EngineIdentity,
  type LedgerEntries
} from './ledger.js';
import { mayFree } from './plan/planner.js';
import type { Inventory } from './plan/types.js';
import { formatBytes } from './report/bytes.js';

export interface EngineInfo extends StorageInfo {
  ID?: string;
  /** The engine's clock, RFC 3339. */
  SystemTime?: string;
  /** Podman only. */
  BuildahVersion?: string;
}

export interface OpenLedger {
  file: string;
  engine: EngineIdentity;
  entries: LedgerEntries;
}

export interface EngineState {
  inventory: Inventory;
  /** The engine's data disk, or why it cannot be shown. */
  disk: DiskFinding;
  /** /system/df's total before any removal; undefined when the engine cannot say. */
  totalsBefore: number | undefined;
  ledger?: OpenLedger;
  events: EngineEvent[];
  /** The engine's clock when it was read, ms since epoch. */
  engineNow: number;
  /** The engine's image events since then; undefined when it cannot stream them. */
  watch?: ReferenceWatch;
}

/**
 * Whether any rule reads an age: only then are containers inspected for their start and finish
 * times (the list gives their creation). The summary's ages are then those of the basis alone.
 */
function needsAges(settings: Settings): boolean {
  const p = settings.policy;
  return (
    p.olderThanMs > 0 ||
    p.keepLatest > 0 ||
    p.containersOlderThanMs > 0 ||
    settings.untilFree !== undefined
  );
}

/** Everything a step needs to know about the engine, in the 'Read inventory' group. */
export function readEngine(conn: Connection, settings: Settings): Promise<EngineState> {
  const { docker } = conn;
  return core.group('Read inventory', async () => {
    const info = (await docker.info()) as EngineInfo;
    const engineClock = engineClockOf(info);
    const engineNow = engineClock ?? Date.now();
    const watching = openReferenceWatch(docker, info);
    const [images, usage, events] = await Promise.all([
      readInventory(docker, mayFree(settings.policy), { containerTimes: needsAges(settings) }),
      readUsage(docker),
      recentEvents(docker, engineNow, settings.engineTimeoutMs)
    ]);
    // Podman has no BuildKit build cache, and makes up a new ID at every start.
    const podman = isPodman(info);
    const listed = withUsage(images, usage, !podman);
    // A few of the engine's own objects are enough to show that a path holds its data.
    const objects = {
      imageIds: listed.images.slice(0, 50).map((i) => i.id),
      containerIds: listed.containers.slice(0, 50).map((c) => c.id)
    };
    const disk = (await engineDisk(conn, info, objects, settings.engineDataRoot)).found;
    if ('disk' in disk) listed.disk = disk.disk;
    core.info(
      `${listed.images.length} images, ${listed.containers.length} containers, ${listed.volumes?.length ?? 0} volumes, ` +
        (listed.buildCache
          ? `${listed.buildCache.length} build cache records`
          : 'no BuildKit build cache on this engine')
    );
    core.info(
      'disk' in disk
        ? `${formatBytes(disk.disk.freeBytes)} free on ${disk.disk.path}, the engine's data disk: ${disk.how}`
        : `The engine's data disk is not measured: ${disk.refusal}`
    );
    const ledger = openLedger(settings.ledgerDir, {
      id: podman ? '' : (info.ID ?? ''),
      root: info.DockerRootDir ?? '',
      address: conn.address
    });
    const inventory = withArrivalRecords(
      listed,
      latestArrivals(events, listed.images),
      ledger?.entries ?? new Map()
    );
    const watch = await watching;
    const state = {
      inventory,
      disk,
      totalsBefore: usageTotal(usage.df),
      ledger,
      events,
      engineNow
    };
    return watch ? { ...state, watch } : state;
  });
}

/** Podman is the one engine that names its Buildah. */
const isPodman = (info: EngineInfo) => info.BuildahVersion !== undefined;

/** The engine's clock in its info, ms since epoch; undefined when it gives none. */
function engineClockOf(info: EngineInfo): number | undefined {
  const parsed = Date.parse(info.SystemTime ?? '');
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** How long the engine may take to start its event feed before the run does without it. */
const WATCH_WAIT_MS = 5_000;

/**
 * The event feed that answers the executor's reference checks, or undefined: then each reference
 * is inspected right before its call. Never on Podman: it writes an image's event after it has
 * answered the call that named the image (a tag's came 50-100 ms later here), so a quiet feed
 * there does not show that nothing was tagged, and a rebuild that moved a tag in that time would
 * lose its new image. dockerd logs the event before it answers. The log says which it is, since
 * the two cost a different number of requests.
 */
export async function openReferenceWatch(
  docker: Docker,
  info: EngineInfo
): Promise<ReferenceWatch | undefined> {
  const inspects = (why: string) =>
    core.info(`Reference checks: an inspect right before each call (${why}).`);
  if (isPodman(info)) {
    inspects('Podman reports image events after its answers');
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), WATCH_WAIT_MS);
  });
  const opening = watchReferences(docker, engineClockOf(info));
  try {
    const watch = await Promise.race([opening, late]);
    if (watch) {
      core.info(
        "Reference checks: the engine's event feed, and an inspect before each call once an event may have named an image."
      );
    } else {
      opening.then((w) => w.close()).catch(() => {});
      inspects(`the engine's event feed did not start within ${formatDuration(WATCH_WAIT_MS)}`);
    }
    return watch;
  } catch (e) {
    inspects(`no event feed: ${describeError(e)}`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Reading a few hundred events takes milliseconds; a slow answer must not hold the run. */
const EVENTS_WAIT_MS = 30_000;

/**
 * The engine's buffered events, for when images arrived. Without them ages are only less exact,
 * so a failure to read them is a warning.
 */
export async function recentEvents(
  docker: Docker,
  untilMs: number,
  timeoutMs: number
): Promise<EngineEvent[]> {
  const waitMs = Math.min(timeoutMs, EVENTS_WAIT_MS);
  try {
    const { events, complete } = await readEvents(docker, untilMs, waitMs);
    core.info(
      `${events.length} recent engine events` +
        (events.length >= EVENT_BUFFER
          ? ` (the engine keeps only its last ${EVENT_BUFFER}: arrivals before the oldest are known only to the ledger)`
          : '')
    );
    if (!complete) {
      core.warning(
        `The engine's recent events did not arrive within ${formatDuration(waitMs)}; ages use the ${events.length} that did, the tag time and the ledger.`
      );
    }
    return events;
  } catch (e) {
    core.warning(
      `Could not read the engine's recent events (${describeError(e)}); image ages rely on the tag time and the ledger only.`
    );
    return [];
  }
}

export function openLedger(
  dir: string | undefined,
  engine: EngineIdentity
): OpenLedger | undefined {
  if (dir === undefined) {
    core.info(
      'No ledger (no ledger-dir and no RUNNER_TOOL_CACHE): images without a tag time or a recent event count from now.'
    );
    return undefined;
  }
  const file = ledgerFile(dir, engine);
  const { entries, problem } = readLedger(file);
  if (problem) core.warning(`Ledger: ${problem}; starting it again.`);
  core.info(`Ledger ${file}: ${entries.size} images known`);
  return { file, engine, entries };
}
