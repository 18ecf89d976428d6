// An Outcome with nothing in it, for report tests to fill in what they are about.
import type { Outcome } from '../src/plan/types.js';

export function outcome(over: Partial<Outcome> = {}): Outcome {
  return {
    dryRun: false,
    deletedImages: [],
    untagged: [],
    removedContainers: [],
    skipped: [],
    results: [],
    failures: 0,
    ms: 900,
    ...over
  };
}
