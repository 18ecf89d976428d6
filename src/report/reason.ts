// One short sentence per Reason, shared by the summary and the `skipped` output.
import { formatDuration } from '../duration.js';
import { formatBytes } from './bytes.js';
import type { AgeBasis, AgeRecord, ArrivalAction, Reason, Skip } from '../plan/types.js';

/** `1a2b3c4d5e6f` for `sha256:1a2b…`: what `docker images` shows. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

const ARRIVED: Record<ArrivalAction, string> = {
  pull: 'pulled',
  load: 'loaded',
  tag: 'tagged',
  import: 'imported',
  commit: 'committed',
  build: 'built'
};

/** An age with the record it was read from: `3h since it was pulled (events)`. */
function describeAge(
  ageMs: number,
  basis: AgeBasis | 'stopped' | 'cache',
  record?: AgeRecord
): string {
  const age = formatDuration(ageMs);
  if (basis === 'stopped') return `stopped ${age} ago`;
  if (basis === 'cache') return `last used ${age} ago`;
  switch (record?.kind) {
    case undefined:
    case 'created':
      return `${age} old by ${basis}`;
    case 'tag-time':
      return `${age} since it was tagged here (the engine's tag time)`;
    case 'event':
      return `${age} since it was ${ARRIVED[record.action]} (events${record.earlierRun ? ', kept by an earlier run' : ''})`;
    case 'first-seen':
      return record.earlierRun
        ? `first seen by docker-reclaim ${age} ago`
        : 'first seen by docker-reclaim just now (no record of its arrival)';
    case 'container':
      return `${age} since container ${record.container} used it`;
    case 'recorded-use':
      return `${age} since a job's container used it (recorded by docker-reclaim)`;
  }
}

/**
 * Whether a kept item is a failure: a removal the engine refused or docker-reclaim failed on, or
 * one that could not be attempted because of such a failure or a lost engine. A step skipped
 * because its precondition no longer held is not: the engine changed, nothing went wrong.
 */
export function isFailure(r: Reason): boolean {
  switch (r.kind) {
    case 'removal-failed':
    case 'internal-error':
    case 'engine-lost':
      return true;
    case 'blocked-by-failed-step':
      return !r.changed;
    default:
      return false;
  }
}

/** The kept items that are failures, as the outcome lists them. */
export function failuresOf(skipped: readonly Skip[]): Skip[] {
  return skipped.filter((s) => isFailure(s.reason));
}

export function describeReason(r: Reason): string {
  switch (r.kind) {
    case 'excluded':
      // Quoted as JSON so that a pattern with spaces or quotes still reads unambiguously.
      return `excluded by pattern ${JSON.stringify(r.pattern)}`;
    case 'runner-owned':
      return 'owned by the Actions runner (a job or service container)';
    case 'container-running':
      return `${r.state}: only stopped containers are removed`;
    case 'in-use-by-running-container':
      return `in use by running container ${r.container} (${r.state})`;
    case 'too-young': {
      const min = `minimum ${formatDuration(r.minMs)}`;
      return `too young: ${describeAge(r.ageMs, r.basis, r.record)}, ${min}`;
    }
    case 'kept-by-keep-latest':
      return `kept by keep-latest (#${r.rank} of ${r.keep} newest)`;
    case 'still-tagged':
      return `image still tagged as ${r.references.join(', ')}`;
    case 'held-by-kept-container':
      return `held by container ${r.container}, which is kept: ${describeReason(r.because)}`;
    case 'used-by-unselected-container':
      return `used by container ${r.container}, which "containers" does not select`;
    case 'parent-of-kept-image':
      return `parent of kept image ${shortId(r.child)}`;
    case 'blocked-by-failed-step':
      // The executor falls back to an empty step ID when it lost track of which one failed.
      if (!r.step) return 'not attempted: a step it depends on failed';
      return r.changed
        ? `not attempted: step ${r.step} found things changed since the plan`
        : `not attempted: step ${r.step} failed`;
    case 'changed-since-plan':
      return `changed since the plan: ${r.message}`;
    case 'internal-error':
      return `not done: docker-reclaim failed on it (${r.message}); please report this`;
    case 'engine-lost':
      return 'not attempted: the engine stopped answering during the run';
    case 'removal-failed':
      return r.status === undefined
        ? `removal failed: ${r.message}`
        : `removal failed (HTTP ${r.status}): ${r.message}`;
    case 'volume-in-use':
      return `in use by container ${r.container} (${r.state}), which stays: a volume goes only after every container that uses it`;
    case 'cache-in-use':
      return 'in use by a build';
    case 'cache-shared':
      return "shared with an image's layers: it frees nothing while that image stays, and a run after the image is gone takes it";
    case 'cache-parent-of-kept':
      return `build cache record ${r.child} that stays was built on it`;
    case 'cache-not-pruned':
      return 'BuildKit kept it when asked to remove it: a build took it, or a record built on it stays';
    case 'existed-before-job':
      return 'it was there before the job: job cleanup leaves it';
    case 'free-space-target-met':
      return `not needed: the disk reaches ${formatBytes(r.targetBytes)} free without it (until-free)`;
    default: {
      // A new Reason kind stops the build here until it has a sentence.
      const unknown: never = r;
      return `kept (${(unknown as { kind: string }).kind})`;
    }
  }
}
