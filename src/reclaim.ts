// What main and post both do once they know the engine and the policy: plan, remove, keep the
// ledger, measure, and report, each in a group of its own.
import * as core from '@actions/core';
import type Docker from 'dockerode';
import { VERSION } from './constants.js';
import { describeError, type Connection } from './engine/connect.js';
import { statDisk } from './engine/disk.js';
import { dockerRemover } from './engine/remove.js';
import { diskUsage, usageTotal } from './engine/usage.js';
import { execute } from './execute.js';
import type { Settings } from './inputs.js';
import { mergeLedger, updateLedger } from './ledger.js';
import { plan as makePlan, stepId } from './plan/planner.js';
import { measuredFromResponses } from './plan/space.js';
import type { ImageId, Inventory, Outcome, Plan, Policy, SpaceReport, Step } from './plan/types.js';
import type { EngineState, OpenLedger } from './read-engine.js';
import { reportDir, writeReport } from './report/json.js';
import { outputValues, setOutputs } from './report/outputs.js';
import { describeReason } from './report/reason.js';
import { renderSummary, type SummaryContext } from './report/summary.js';

export interface ReclaimRun {
  conn: Connection;
  settings: Settings;
  state: EngineState;
  policy: Policy;
  /** ms since epoch, when the step started. */
  started: number;
  /** Only the main step's outputs reach later steps. */
  stage: 'main' | 'post';
  /** The summary's heading and what it says first (the post step's). */
  summary?: Pick<SummaryContext, 'heading' | 'preface'>;
}

export interface Reclaimed {
  plan: Plan;
  outcome: Outcome;
  space: SpaceReport;
  reportPath?: string;
}

export async function reclaim(run: ReclaimRun): Promise<Reclaimed> {
  const { conn, settings, state, policy } = run;
  const { inventory, ledger } = state;
  const docker = conn.docker;
  const plan = await core.group('Plan', async () => {
    const p = makePlan(inventory, policy, Date.now());
    logPlan(p);
    return p;
  });

  const watch = state.watch;
  const outcome = await core
    .group(settings.dryRun ? 'Dry run: nothing is removed' : 'Remove', () =>
      execute(plan, dockerRemover(docker), {
        dryRun: settings.dryRun,
        ...(watch ? { referencesUnchanged: () => watch.unchanged() } : {}),
        onProgress: (done, total, inFlight) =>
          core.info(`${done}/${total} steps done, up to ${inFlight} at a time`)
      })
    )
    .finally(() => watch?.close());

  if (ledger) {
    await core.group('Ledger', () => recordLedger(ledger, inventory, plan.now, outcome));
  }

  const space = await core.group('Measure', () =>
    measure(docker, inventory, plan, outcome, state.totalsBefore, run.started)
  );

  // The removals are done: from here on, nothing that fails may fail the step.
  const reportPath = await core.group('Report', async () => {
    let path: string | undefined;
    try {
      path = writeReport(reportDir(), {
        version: VERSION,
        stage: run.stage,
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
    if (run.stage === 'main') setOutputs(outputValues(outcome, path ?? '', space));
    if (settings.summary) {
      try {
        await core.summary
          .addRaw(
            renderSummary(outcome, {
              address: conn.address,
              now: plan.now,
              space,
              leftovers: plan.leftovers,
              ...run.summary
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
  return { plan, outcome, space, ...(reportPath ? { reportPath } : {}) };
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
      totalsBefore === undefined ? undefined : diskUsage(docker).then(usageTotal, () => undefined),
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
