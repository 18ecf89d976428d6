// How a step ends: what it says of the run, and when it fails.
import * as core from '@actions/core';
import type { ReclaimRun, Reclaimed } from './reclaim.js';
import { formatBytes } from './report/bytes.js';
import { describeReason, failuresOf } from './report/reason.js';

/**
 * Says how the run went, and fails the step where it must: a lost engine fails the main step; a
 * removal that did not happen fails it with fail-on-error. The post step never fails the job but
 * for fail-on-error.
 */
export function conclude(run: ReclaimRun, { outcome, space, reportPath }: Reclaimed): void {
  const { conn, settings } = run;
  if (outcome.engineLost !== undefined) {
    const done = outcome.results.filter((r) => r.status === 'done' || r.status === 'gone').length;
    const message = `Lost the Docker engine at ${conn.address} during the run (${outcome.engineLost}). ${done} of ${outcome.results.length} steps were done${reportPath ? `; the report lists each one: ${reportPath}` : ''}. Run the step again once the engine answers to finish the rest.`;
    return run.stage === 'main' ? core.setFailed(message) : core.warning(message);
  }
  const verb = settings.dryRun ? 'Would delete' : 'Deleted';
  const bytes = space.measuredBytes ?? space.predictedBytes;
  core.info(
    `${verb} ${outcome.deletedImages.length} images, untagged ${outcome.untagged.length} references, removed ${outcome.removedContainers.length} containers and ${outcome.removedVolumes.length} volumes, pruned ${outcome.prunedBuildCache.length} build cache records: ${formatBytes(bytes)}${settings.dryRun ? ' predicted' : ''}; kept ${outcome.skipped.length}.`
  );
  const failed = failuresOf(outcome.skipped);
  if (failed.length > 0) {
    const lines = failed.map((s) => `${s.target}: ${describeReason(s.reason)}`);
    if (settings.failOnError) {
      core.setFailed(`${failed.length} planned removals did not happen:\n${lines.join('\n')}`);
    } else {
      lines.forEach((l) => core.warning(l));
    }
  }
}
