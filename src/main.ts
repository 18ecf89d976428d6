// The main step: read inputs → inventory → plan → execute → report.
import * as core from '@actions/core';
import { VERSION } from './constants.js';
import { connect, ping, EngineUnreachable } from './engine/connect.js';
import { readInventory } from './engine/inventory.js';
import { dockerRemover } from './engine/remove.js';
import { execute } from './execute.js';
import { getSettings, InputError, type Settings } from './inputs.js';
import { plan as makePlan } from './plan/planner.js';
import type { Plan, Step } from './plan/types.js';
import { describeReason } from './report/reason.js';
import { outputValues, setOutputs } from './report/outputs.js';
import { renderSummary } from './report/summary.js';
import { reportDir, writeReport } from './report/json.js';

export async function main(): Promise<void> {
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
    conn = connect(settings.dockerHost);
    await core.group(`Connect to ${conn.address}`, () => ping(conn!));
  } catch (e) {
    if (e instanceof EngineUnreachable) return core.setFailed(e.message);
    throw e;
  }
  const docker = conn.docker;

  const inventory = await core.group('Read inventory', async () => {
    const inv = await readInventory(docker);
    core.info(`${inv.images.length} images, ${inv.containers.length} containers`);
    return inv;
  });

  const plan = await core.group('Plan', async () => {
    const p = makePlan(inventory, settings.policy, Date.now());
    logPlan(p);
    return p;
  });

  const outcome = await core.group(settings.dryRun ? 'Dry run: nothing is removed' : 'Remove', () =>
    execute(plan, dockerRemover(docker), {
      dryRun: settings.dryRun,
      onProgress: (done, total) => core.info(`${done}/${total} steps done`)
    })
  );

  await core.group('Report', async () => {
    const reportPath = writeReport(reportDir(), {
      version: VERSION,
      settings,
      inventorySize: { images: inventory.images.length, containers: inventory.containers.length },
      plan,
      outcome
    });
    core.info(`Report: ${reportPath}`);
    setOutputs(outputValues(outcome, reportPath));
    if (settings.summary) {
      await core.summary
        .addRaw(renderSummary(outcome, { address: conn.address, now: plan.now }))
        .write();
    }
  });

  const verb = settings.dryRun ? 'Would delete' : 'Deleted';
  core.info(
    `${verb} ${outcome.deletedImages.length} images, untagged ${outcome.untagged.length} references, removed ${outcome.removedContainers.length} containers; kept ${outcome.skipped.length}.`
  );
  if (outcome.failures > 0) {
    const failed = outcome.skipped.filter(
      (s) => s.reason.kind === 'removal-failed' || s.reason.kind === 'blocked-by-failed-step'
    );
    const lines = failed.map((s) => `${s.target}: ${describeReason(s.reason)}`);
    if (settings.failOnError) {
      core.setFailed(`${outcome.failures} planned removals did not happen:\n${lines.join('\n')}`);
    } else {
      lines.forEach((l) => core.warning(l));
    }
  }
}

function describeStep(s: Step): string {
  if (s.kind === 'remove-container')
    return `remove container ${s.name} (${s.container.slice(0, 12)})`;
  if (s.kind === 'untag') return `untag ${s.reference}`;
  return `delete image ${s.image}`;
}

function logPlan(p: Plan): void {
  core.info(
    `${p.steps.length} steps: ${p.removeContainers.length} containers, ${p.steps.filter((s) => s.kind === 'untag').length} references, ${p.deleteImages.length} images; ${p.skipped.length} kept`
  );
  for (const s of p.steps) core.info(`  ${describeStep(s)}`);
  for (const s of p.skipped) core.info(`  keep ${s.target}: ${describeReason(s.reason)}`);
}
