// The step outputs: JSON arrays that a later step can read with fromJSON(), and byte counts.
import * as core from '@actions/core';
import { Output } from '../constants.js';
import type { Outcome, SpaceReport } from '../plan/types.js';
import { describeReason } from './reason.js';

export type OutputValues = Record<(typeof Output)[keyof typeof Output], string>;

/** A whole number of bytes in decimal digits, never in exponent notation. */
function decimalBytes(bytes: number): string {
  return Number.isFinite(bytes) ? BigInt(Math.round(bytes)).toString() : '0';
}

export function outputValues(
  outcome: Outcome,
  reportPath: string,
  space: SpaceReport
): OutputValues {
  // A dry run measures nothing, and neither does a run whose measurement failed: both report the
  // prediction, which is what a real run would have freed.
  const reclaimed = outcome.dryRun
    ? space.predictedBytes
    : (space.measuredBytes ?? space.predictedBytes);
  return {
    [Output.DeletedImages]: JSON.stringify(outcome.deletedImages.map((i) => i.id)),
    [Output.Untagged]: JSON.stringify(outcome.untagged),
    [Output.RemovedContainers]: JSON.stringify(outcome.removedContainers.map((c) => c.id)),
    [Output.RemovedVolumes]: JSON.stringify(outcome.removedVolumes.map((v) => v.name)),
    [Output.Skipped]: JSON.stringify(
      outcome.skipped.map((s) => ({ target: s.target, reason: describeReason(s.reason) }))
    ),
    [Output.ReclaimedBytes]: decimalBytes(reclaimed),
    [Output.EstimatedBytes]: decimalBytes(space.predictedBytes),
    [Output.Report]: reportPath
  };
}

export function setOutputs(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) core.setOutput(name, value);
}
