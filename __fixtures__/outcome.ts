// An Outcome with nothing in it, for report tests to fill in what they are about.
import type { Outcome, StepResult } from '../src/plan/types.js';
import { failuresOf } from '../src/report/reason.js';

export function outcome(over: Partial<Outcome> = {}): Outcome {
  return {
    dryRun: false,
    deletedImages: [],
    untagged: [],
    removedContainers: [],
    removedVolumes: [],
    prunedBuildCache: [],
    skipped: [],
    results: [],
    ms: 900,
    ...over
  };
}

/** How many kept items are failures, as the summary and fail-on-error count them. */
export function failures(o: Outcome): number {
  return failuresOf(o.skipped).length;
}

/** The IDs the engine listed as Deleted in a result, for results that have them. */
export function deletedBy(r: StepResult): string[] {
  return r.status === 'done' ? r.deleted : [];
}

/** Every field a result can have, for assertions and messages that look across statuses. */
export function fieldsOf(r: StepResult): {
  status: StepResult['status'];
  httpStatus?: number;
  message?: string;
  blockedBy?: string;
} {
  return r as ReturnType<typeof fieldsOf>;
}
