// The step outputs: JSON arrays that a later step can read with fromJSON().
import * as core from '@actions/core';
import { Output } from '../constants.js';
import type { Outcome } from '../plan/types.js';
import { describeReason } from './reason.js';

export type OutputValues = Record<(typeof Output)[keyof typeof Output], string>;

export function outputValues(outcome: Outcome, reportPath: string): OutputValues {
  return {
    [Output.DeletedImages]: JSON.stringify(outcome.deletedImages.map((i) => i.id)),
    [Output.Untagged]: JSON.stringify(outcome.untagged),
    [Output.RemovedContainers]: JSON.stringify(outcome.removedContainers.map((c) => c.id)),
    [Output.Skipped]: JSON.stringify(
      outcome.skipped.map((s) => ({ target: s.target, reason: describeReason(s.reason) }))
    ),
    [Output.Report]: reportPath
  };
}

export function setOutputs(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) core.setOutput(name, value);
}
