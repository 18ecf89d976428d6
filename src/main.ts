// The main step: read inputs → inventory → plan → execute → report.
import * as core from '@actions/core';
import type Docker from 'dockerode';
import { Input, VERSION } from './constants.js';
import { connect, describeError, ping, EngineUnreachable } from './engine/connect.js';
import { engineDisk, statDisk, type StorageInfo } from './engine/disk.js';
import { readUsage, usageTotal, withUsage, type SystemDf } from './engine/usage.js';
import { EVENT_BUFFER, latestArrivals, readEvents, type EngineEvent } from './engine/events.js';
import { readInventory } from './engine/inventory.js';
import { dockerRemover } from './engine/remove.js';
import { execute } from './execute.js';
import { getSettings, InputError, type Settings } from './inputs.js';
import {
  ledgerFile,
  mergeLedger,
  readLedger,
  updateLedger,
  withArrivalRecords,
  type EngineIdentity,
  type LedgerEntries
} from './ledger.js';
import { mayFree, plan as makePlan, stepId } from './plan/planner.js';
import { measuredFromResponses } from './plan/space.js';
import type { ImageId, Inventory, Outcome, Plan, SpaceReport, Step } from './plan/types.js';
import { formatDuration } from './duration.js';
import { formatBytes } from './report/bytes.js';
import { describeReason, isFailure } from './report/reason.js';
import { outputValues, setOutputs } from './report/outputs.js';
import { renderSummary } from './report/summary.js';
import { reportDir, writeReport } from './report/json.js';

export async function main(): Promise<void> {
  const started = Date.now();
  core.info(`docker-reclaim ${VERSION} on Node ${process.version}`);
  let settings: Settings;
  try {
    settings = getSettings();
  } catch (e) {
    if (e instanceof InputError) return core.setFailed(e.message);
    throw e;
  }

  let conn;
  try {
    conn = connect(settings.dockerHost, process.env, settings.engineTimeoutMs);
    await core.group(`Connect to ${conn.address} (${conn.from})`, () => ping(conn!));
  } catch (e) {
    if (e instanceof EngineUnreachable) return core.setFailed(e.message);
    throw e;
  }
  const docker = conn.docker;

  const { inventory, disk, totalsBefore, ledger } = await core.group('Read inventory', async () => {
    const info = (await docker.info()) as EngineInfo;
    const [images, usage, events] = await Promise.all([
      readInventory(docker, mayFree(settings.policy)),
      readUsage(docker),
      recentEvents(docker, info, settings.engineTimeoutMs)
    ]);
    // Podman (the one engine that names its Buildah) has no BuildKit build cache.
    const buildKit = info.BuildahVersion === undefined;
    const listed = withUsage(images, usage, buildKit);
    const totals = usageTotal(usage.df);
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
      // Podman (the one engine that names its Buildah) makes up a new ID at every start.
      id: info.BuildahVersion === undefined ? (info.ID ?? '') : '',
      root: info.DockerRootDir ?? '',
      address: conn.address
    });
    const inv = withArrivalRecords(
      listed,
      latestArrivals(events, listed.images),
      ledger?.entries ?? new Map()
    );
    return { inventory: inv, disk, totalsBefore: totals, ledger };
  });

  const policy = { ...settings.policy };
  if (settings.untilFree) {
    if (!('disk' in disk)) {
      return core.setFailed(
        `Input "${Input.UntilFree}" needs the engine's data disk on this machine, and none can be shown: ${disk.refusal}. Name where this machine sees the engine's data root with ${Input.EngineDataRoot} (for example /mnt/dind-data), or leave ${Input.UntilFree} empty to remove every candidate.`
      );
    }
    policy.untilFreeBytes =
      'bytes' in settings.untilFree
        ? settings.untilFree.bytes
        : Math.ceil((disk.disk.totalBytes * settings.untilFree.percent) / 100);
  }

  const plan = await core.group('Plan', async () => {
    const p = makePlan(inventory, policy, Date.now());
    logPlan(p);
    return p;
  });

  const outcome = await core.group(settings.dryRun ? 'Dry run: nothing is removed' : 'Remove', () =>
    execute(plan, dockerRemover(docker), {
      dryRun: settings.dryRun,
      onProgress: (done, total) => core.info(`${done}/${total} steps done`)
    })
  );

  if (ledger) {
    await core.group('Ledger', () => recordLedger(ledger, inventory, plan.now, outcome));
  }

  const space = await core.group('Measure', () =>
    measure(docker, inventory, plan, outcome, totalsBefore, started)
  );

  // The removals are done: from here on, nothing that fails may fail the step.
  const reportPath = await core.group('Report', async () => {
    let path: string | undefined;
    try {
      path = writeReport(reportDir(), {
        version: VERSION,
        settings,
        inventorySize: { images: inventory.images.length, containers: inventory.containers.length },
        plan,
        outcome,
        space
      });
      core.info(`Report: ${path}`);
    } catch (e) {
      core.warning(
        `Could not write the JSON report in ${reportDir()} (${describeError(e)}); the outputs and the summary say what happened.`
      );
    }
    setOutputs(outputValues(outcome, path ?? '', space));
    if (settings.summary) {
      try {
        await core.summary
          .addRaw(
            renderSummary(outcome, {
              address: conn.address,
              now: plan.now,
              space,
              leftovers: plan.leftovers
            })
          )
          .write();
      } catch (e) {
        core.warning(
          `Could not write the job summary (${describeError(e)}); the outputs${path ? ' and the report' : ''} say what happened.`
        );
      }
    }
    return path;
  });

  if (outcome.engineLost !== undefined) {
    const done = outcome.results.filter((r) => r.status === 'done' || r.status === 'gone').length;
    return core.setFailed(
      `Lost the Docker engine at ${conn.address} during the run (${outcome.engineLost}). ${done} of ${outcome.results.length} steps were done${reportPath ? `; the report lists each one: ${reportPath}` : ''}. Run the step again once the engine answers to finish the rest.`
    );
  }

  const verb = settings.dryRun ? 'Would delete' : 'Deleted';
  const bytes = space.measuredBytes ?? space.predictedBytes;
  core.info(
    `${verb} ${outcome.deletedImages.length} images, untagged ${outcome.untagged.length} references, removed ${outcome.removedContainers.length} containers: ${formatBytes(bytes)}${settings.dryRun ? ' predicted' : ''}; kept ${outcome.skipped.length}.`
  );
  const failed = outcome.skipped.filter((s) => isFailure(s.reason));
  if (failed.length > 0) {
    const lines = failed.map((s) => `${s.target}: ${describeReason(s.reason)}`);
    if (settings.failOnError) {
      core.setFailed(`${failed.length} planned removals did not happen:\n${lines.join('\n')}`);
    } else {
      lines.forEach((l) => core.warning(l));
    }
  }
}

/** Reading a few hundred events takes milliseconds; a slow answer must not hold the run. */
const EVENTS_WAIT_MS = 30_000;

interface EngineInfo extends StorageInfo {
  ID?: string;
  /** The engine's clock, RFC 3339. */
  SystemTime?: string;
  /** Podman only. */
  BuildahVersion?: string;
}

/**
 * The engine's buffered events, for when images arrived. Without them ages are only less exact,
 * so a failure to read them is a warning.
 */
async function recentEvents(
  docker: Docker,
  info: EngineInfo,
  timeoutMs: number
): Promise<EngineEvent[]> {
  const engineNow = Date.parse(info.SystemTime ?? '');
  const waitMs = Math.min(timeoutMs, EVENTS_WAIT_MS);
  try {
    const { events, complete } = await readEvents(
      docker,
      Number.isFinite(engineNow) ? engineNow : Date.now(),
      waitMs
    );
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

interface OpenLedger {
  file: string;
  engine: EngineIdentity;
  entries: LedgerEntries;
}

function openLedger(dir: string | undefined, engine: EngineIdentity): OpenLedger | undefined {
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

/** Records what this run saw; a ledger that cannot be written costs ages, never removals. */
async function recordLedger(
  ledger: OpenLedger,
  inventory: Inventory,
  seenAt: number,
  outcome: Outcome
): Promise<void> {
  const deleted = new Set<ImageId>(outcome.dryRun ? [] : outcome.deletedImages.map((i) => i.id));
  try {
    await updateLedger(ledger.file, ledger.engine, (current) =>
      mergeLedger(current, inventory, seenAt, deleted)
    );
    core.info(`Ledger ${ledger.file} updated`);
  } catch (e) {
    core.warning(
      `Could not update the ledger ${ledger.file} (${describeError(e)}); images first seen now will count from the next run that can.`
    );
  }
}

/** Predicted against measured: the engine's delete responses, /system/df, and the disk itself. */
async function measure(
  docker: Docker,
  inventory: Inventory,
  plan: Plan,
  outcome: Outcome,
  totalsBefore: number | undefined,
  started: number
): Promise<SpaceReport> {
  const space: SpaceReport = {
    predictedBytes: plan.space.bytes,
    predictionExact: plan.space.exact,
    elapsedMs: 0
  };
  if (plan.target) space.target = plan.target;
  const disk = inventory.disk;
  if (disk)
    space.disk = { path: disk.path, totalBytes: disk.totalBytes, freeBefore: disk.freeBytes };
  if (!outcome.dryRun) {
    const imageSteps = outcome.results.filter((r) => !r.step.startsWith('build-cache:'));
    const deletedEntries = imageSteps.flatMap((r) => (r.status === 'done' ? r.deleted : []));
    // A container or volume that was already gone (404) freed nothing now.
    const status = new Map(outcome.results.map((r) => [r.step, r.status]));
    const removedContainers = new Set<string>(
      outcome.removedContainers
        .filter((c) => status.get(stepId.container(c.id)) === 'done')
        .map((c) => c.id)
    );
    const removedVolumes = new Set(
      outcome.removedVolumes
        .filter((v) => status.get(stepId.volume(v.name)) === 'done')
        .map((v) => v.name)
    );
    const cacheReclaimed = outcome.results.reduce(
      (sum, r) => sum + (r.status === 'done' ? (r.reclaimed ?? 0) : 0),
      0
    );
    const fromResponses = measuredFromResponses(inventory, deletedEntries, removedContainers, {
      volumes: removedVolumes,
      buildCacheBytes: cacheReclaimed
    });
    const [totalsAfter, diskAfter] = await Promise.all([
      totalsBefore === undefined
        ? undefined
        : (docker.df() as Promise<SystemDf>).then(usageTotal, () => undefined),
      disk ? statDisk(disk.path).catch(() => undefined) : undefined
    ]);
    if (totalsBefore !== undefined && totalsAfter !== undefined) {
      space.systemDfBytes = totalsBefore - totalsAfter;
    }
    // The containerd store's delete responses list no layers: there, /system/df measures.
    const imagesDeleted = outcome.deletedImages.length > 0;
    if (imagesDeleted && fromResponses.layers === 0 && space.systemDfBytes !== undefined) {
      space.measuredBytes = space.systemDfBytes;
      space.measuredFrom = 'system-df';
    } else {
      space.measuredBytes = fromResponses.bytes;
      space.measuredFrom = 'delete-responses';
    }
    if (space.disk && diskAfter) space.disk.freeAfter = diskAfter.freeBytes;
    core.info(
      `predicted ${space.predictedBytes} bytes, measured ${space.measuredBytes} (${space.measuredFrom})` +
        (space.systemDfBytes !== undefined ? `, /system/df ${space.systemDfBytes}` : '')
    );
  }
  space.elapsedMs = Date.now() - started;
  return space;
}

function describeStep(s: Step): string {
  switch (s.kind) {
    case 'remove-container':
      return `remove container ${s.name} (${s.container.slice(0, 12)})`;
    case 'untag':
      return `untag ${s.reference}`;
    case 'delete-image':
      return `delete image ${s.image}`;
    case 'remove-volume':
      return `remove volume ${s.volume}`;
    case 'prune-build-cache':
      return `prune ${s.records.length} build cache records`;
  }
}

const LOG_LINES = 500;

function logPlan(p: Plan): void {
  core.info(
    `${p.steps.length} steps: ${p.removeContainers.length} containers, ${p.steps.filter((s) => s.kind === 'untag').length} references, ${p.deleteImages.length} images, ${p.removeVolumes.length} volumes, ${p.pruneBuildCache.length} build cache records; ${p.skipped.length} kept`
  );
  // Thousands of lines help nobody in a log; the JSON report has every one.
  const list = (lines: string[]) => {
    lines.slice(0, LOG_LINES).forEach((l) => core.info(`  ${l}`));
    if (lines.length > LOG_LINES)
      core.info(`  … and ${lines.length - LOG_LINES} more (full list in the report)`);
  };
  list(p.steps.map(describeStep));
  list(p.skipped.map((s) => `keep ${s.target}: ${describeReason(s.reason)}`));
}
