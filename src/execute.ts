// The executor: runs a plan's steps through a Remover, each as soon as the steps it depends on
// have succeeded, a bounded number at a time, never two that share a lock. The only code that
// removes anything. Right before each call it checks that the step's precondition still holds:
// between the plan and the call, a tag may have moved to a new build. The one the engine checks
// itself, as part of the call, is left to it: a container started since the plan is refused, and
// only then looked at.
import { Concurrency, type ConcurrencyOptions } from './concurrency.js';
import type { Remover } from './engine/remove.js';
import { EngineError } from './engine/remove.js';
import { isStopped } from './plan/containers.js';
import type {
  ImageId,
  Outcome,
  Plan,
  Reason,
  Skip,
  Step,
  StepId,
  StepResult
} from './plan/types.js';
import { shortId } from './report/reason.js';

export interface ExecuteOptions {
  dryRun: boolean;
  /** A fixed number of removals in flight, or bounds to probe within (the default). */
  concurrency?: number | ConcurrencyOptions;
  /** Called at most every `progressEvery` completions or `progressMs`, and at the end. */
  onProgress?: (done: number, total: number, inFlight: number) => void;
  progressEvery?: number;
  progressMs?: number;
  /**
   * True when the engine's event feed shows that nothing has named an image since the inventory
   * was read (engine/watch.ts): the reference checks are then answered without an inspect each.
   */
  referencesUnchanged?: () => Promise<boolean>;
  /** Test seam: runs after planning and before the first removal. */
  beforeExecute?: () => Promise<void>;
  clock?: () => number;
}

/**
 * Where probing starts and how far it may go: 16 is where the engine's own curve peaks on a local
 * disk (docs/benchmarks.md); a network in between rewards more, and probing finds it.
 */
export const DEFAULT_CONCURRENCY: ConcurrencyOptions = { initial: 16, min: 2, max: 64 };

/** A result before the executor stamps it with its step and duration. */
type Finding =
  | { status: 'done'; deleted: string[]; untagged?: string[]; reclaimed?: number; message?: string }
  | { status: 'gone'; httpStatus?: number; message?: string }
  | { status: 'changed'; message: string }
  | { status: 'failed'; httpStatus?: number; message: string; internal?: boolean };

export async function execute(
  plan: Plan,
  remover: Remover,
  options: ExecuteOptions
): Promise<Outcome> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const results = new Map<StepId, StepResult>();
  let engineLost: string | undefined;
  if (options.dryRun) {
    for (const s of plan.steps) results.set(s.id, { step: s.id, status: 'planned' });
  } else {
    await options.beforeExecute?.();
    engineLost = await runGraph(plan.steps, remover, results, options, clock);
  }
  const outcome = summarise(plan, results, options.dryRun, clock() - started);
  if (engineLost !== undefined) outcome.engineLost = engineLost;
  return outcome;
}

const succeeded = (r: StepResult | undefined) =>
  r?.status === 'done' || r?.status === 'gone' || r?.status === 'planned';

async function runGraph(
  steps: Step[],
  remover: Remover,
  results: Map<StepId, StepResult>,
  options: ExecuteOptions,
  clock: () => number
): Promise<string | undefined> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const waitingOn = new Map(
    steps.map((s) => [s.id, s.dependsOn.filter((d) => byId.has(d)).length])
  );
  const dependents = new Map<StepId, StepId[]>();
  for (const s of steps) {
    for (const d of s.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), s.id]);
  }
  // Images the engine has reported deleted, so that a later delete by ID knows it has nothing to do.
  const deletedIds = new Set<string>();
  let engineLost: string | undefined;
  const ready = steps.filter((s) => waitingOn.get(s.id) === 0).map((s) => s.id);
  const total = steps.length;
  const every = options.progressEvery ?? 100;
  const everyMs = options.progressMs ?? 5000;
  let lastReport = { count: 0, at: clock() };
  const bounds = options.concurrency ?? DEFAULT_CONCURRENCY;
  const concurrency = new Concurrency(
    typeof bounds === 'number' ? { initial: bounds, min: bounds, max: bounds } : bounds
  );

  /** Records a result and releases (or, when it did not succeed, blocks) what waits on it. */
  const record = (id: StepId, result: StepResult) => {
    results.set(id, result);
    for (const next of dependents.get(id) ?? []) {
      if (results.has(next)) continue;
      if (!succeeded(result)) {
        // Whatever waits on a step that did not happen cannot succeed; say why and pass it on.
        record(next, { step: next, status: 'blocked', blockedBy: id });
        continue;
      }
      const left = waitingOn.get(next)! - 1;
      waitingOn.set(next, left);
      if (left === 0) ready.push(next);
    }
    const now = clock();
    if (results.size - lastReport.count >= every || now - lastReport.at >= everyMs) {
      lastReport = { count: results.size, at: now };
      options.onProgress?.(results.size, total, concurrency.limit);
    }
  };

  const runStep = async (step: Step): Promise<StepResult> => {
    const t0 = clock();
    const finding = await attempt(step);
    return { step: step.id, ...finding, ms: clock() - t0 } as StepResult;
  };

  const attempt = async (step: Step): Promise<Finding> => {
    if (step.kind === 'delete-image' && deletedIds.has(step.image)) {
      return { status: 'done', deleted: [], message: 'deleted with its last reference or child' };
    }
    try {
      const changed = await precondition(step, remover, options.referencesUnchanged);
      if (changed) return changed;
      switch (step.kind) {
        case 'remove-container':
          await remover.removeContainer(step.container);
          return { status: 'done', deleted: [] };
        case 'remove-volume':
          await remover.removeVolume(step.volume);
          return { status: 'done', deleted: [] };
        case 'prune-build-cache': {
          const r = await remover.pruneBuildCache(step.records);
          return { status: 'done', deleted: r.deleted, reclaimed: r.reclaimed };
        }
        default: {
          const r = await remover.removeImage(step.kind === 'untag' ? step.reference : step.image);
          r.deleted.forEach((d) => deletedIds.add(d));
          return { status: 'done', deleted: r.deleted, untagged: r.untagged };
        }
      }
    } catch (e) {
      if (!(e instanceof EngineError)) {
        // Not the engine's doing: say so, rather than blame it.
        const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        return { status: 'failed', message, internal: true };
      }
      // 404: somebody (or an earlier step) already did it.
      if (e.status === 404) return { status: 'gone', httpStatus: 404, message: e.message };
      // No answer at all: the engine is gone or hung. Stop rather than try every step in turn.
      if (e.transport) {
        engineLost ??= e.message;
        return { status: 'failed', httpStatus: e.status, message: e.message };
      }
      if (e.status === 409 && step.kind === 'remove-container') {
        const started = await startedSincePlan(step, remover);
        if (started) return started;
      }
      if (await goneAfterAll(step, e, remover)) {
        return {
          status: 'gone',
          httpStatus: e.status,
          message: `${e.message}; then found gone: another process removed it`
        };
      }
      return { status: 'failed', httpStatus: e.status, message: e.message };
    }
  };

  const inFlight = new Set<Promise<void>>();
  // The plan's locks (steps.ts, pruneLocks): those held, and for each the steps that wait for it,
  // first come first served. A lock freed goes to its next waiter at once, so that a thousand
  // siblings waiting on one parent are each woken once, not once per sibling before them.
  const held = new Set<ImageId>();
  const waiting = new Map<ImageId, { ids: StepId[]; head: number }>();
  const holdsItsLocks = new Set<StepId>();
  /** Takes all the step's locks, or none: then it waits for one that is held. */
  const lock = (id: StepId, locks: readonly ImageId[]): boolean => {
    const busy = locks.find((l) => held.has(l));
    if (busy === undefined) {
      locks.forEach((l) => held.add(l));
      return true;
    }
    const queue = waiting.get(busy);
    if (queue) queue.ids.push(id);
    else waiting.set(busy, { ids: [id], head: 0 });
    return false;
  };
  const unlock = (locks: readonly ImageId[]) => {
    locks.forEach((l) => held.delete(l));
    for (const l of locks) {
      const queue = waiting.get(l);
      while (queue && queue.head < queue.ids.length && !held.has(l)) {
        const id = queue.ids[queue.head++]!;
        if (!lock(id, locksOf(byId.get(id)!)!)) continue;
        holdsItsLocks.add(id);
        ready.push(id);
      }
      if (queue && queue.head === queue.ids.length) waiting.delete(l);
    }
  };
  let next = 0;
  while ((next < ready.length && engineLost === undefined) || inFlight.size > 0) {
    while (next < ready.length && inFlight.size < concurrency.limit && engineLost === undefined) {
      const step = byId.get(ready[next++]!)!;
      const locks = locksOf(step);
      if (locks && !holdsItsLocks.delete(step.id) && !lock(step.id, locks)) continue;
      concurrency.started(clock());
      const p: Promise<void> = runStep(step).then((r) => {
        inFlight.delete(p);
        if (locks) unlock(locks);
        const overloaded =
          r.status === 'failed' &&
          !r.internal &&
          (r.httpStatus === undefined || r.httpStatus >= 500);
        concurrency.finished(clock(), overloaded);
        record(step.id, r);
      });
      inFlight.add(p);
    }
    if (inFlight.size > 0) await Promise.race(inFlight);
  }
  if (engineLost !== undefined) {
    for (const s of steps) {
      if (results.has(s.id)) continue;
      // An image whose last reference went before the engine did is gone all the same.
      const deleted = s.kind === 'delete-image' && deletedIds.has(s.image);
      results.set(
        s.id,
        deleted
          ? {
              step: s.id,
              status: 'done',
              ms: 0,
              deleted: [],
              message: 'deleted with its last reference or child'
            }
          : { step: s.id, status: 'not-attempted' }
      );
    }
  }
  options.onProgress?.(results.size, total, concurrency.limit);
  return engineLost;
}

const locksOf = (s: Step) =>
  s.kind === 'delete-image' || s.kind === 'untag' ? s.locks : undefined;

/** Undefined when the step's precondition holds; otherwise what the step comes to instead. */
async function precondition(
  step: Step,
  remover: Remover,
  referencesUnchanged: (() => Promise<boolean>) | undefined
): Promise<Finding | undefined> {
  const kind = step.requires.kind;
  if ((kind === 'names-image' || kind === 'unreferenced') && (await referencesUnchanged?.())) {
    return undefined;
  }
  switch (kind) {
    case 'stopped':
      // The engine refuses to remove a container that is not stopped: startedSincePlan.
      return undefined;
    case 'names-image': {
      if (step.kind !== 'untag') return undefined;
      const now = await remover.inspectImage(step.reference);
      if (!now)
        return { status: 'gone', httpStatus: 404, message: `${step.reference} no longer exists` };
      if (now.id !== step.requires.image) {
        return {
          status: 'changed',
          message: `${step.reference} now names ${shortId(now.id)}, not the planned image ${shortId(step.requires.image)}: it stays`
        };
      }
      return undefined;
    }
    case 'unused': {
      if (step.kind !== 'remove-volume') return undefined;
      const users = await remover.volumeUsers(step.volume);
      if (users.length > 0) {
        return {
          status: 'changed',
          message: `volume ${step.volume} is used by container ${users[0]!.slice(0, 12)} now: it stays`
        };
      }
      return undefined;
    }
    case 'none':
      return undefined;
    case 'unreferenced': {
      if (step.kind !== 'delete-image') return undefined;
      // A delete by ID also removes the references of one repository: never one added since.
      const now = await remover.inspectImage(step.image);
      if (!now) return { status: 'gone', httpStatus: 404, message: 'the image no longer exists' };
      if (now.references.length > 0) {
        return {
          status: 'changed',
          message: `tagged since the plan was made, as ${now.references.join(', ')}; not deleted by ID, which would remove that too`
        };
      }
      return undefined;
    }
  }
}

/** After the engine refused to remove a container: whether it was started since the plan. */
async function startedSincePlan(
  step: Extract<Step, { kind: 'remove-container' }>,
  remover: Remover
): Promise<Finding | undefined> {
  const now = await remover.inspectContainer(step.container).catch(() => undefined);
  // Another run removing it is no start: goneAfterAll waits for that.
  if (!now || isStopped(now.state) || now.state === 'removing') return undefined;
  return {
    status: 'changed',
    message: `${step.name} is ${now.state} now, not stopped: it stays, and so does its image`
  };
}

/**
 * A run beside ours (another job on a shared engine) may remove the same thing at the same moment,
 * and the engine then answers with "removal … already in progress" (409) or a 500 about a missing
 * image or layer, not 404. Look again: if the thing is gone, the step's goal is met.
 */
async function goneAfterAll(step: Step, err: EngineError, remover: Remover): Promise<boolean> {
  if (step.kind === 'remove-volume' || step.kind === 'prune-build-cache') return false;
  const tries = /in progress/i.test(err.message) ? 10 : 1;
  for (let n = 0; n < tries; n++) {
    if (n > 0) await new Promise((r) => setTimeout(r, 100));
    try {
      const now =
        step.kind === 'remove-container'
          ? await remover.inspectContainer(step.container)
          : await remover.inspectImage(step.kind === 'untag' ? step.reference : step.image);
      // An untagged reference that names another image now is gone from the planned one.
      if (!now || (step.kind === 'untag' && 'id' in now && now.id !== step.image)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

function targetOf(step: Step): string {
  switch (step.kind) {
    case 'remove-container':
      return step.name;
    case 'untag':
      return step.reference;
    case 'delete-image':
      return step.image;
    case 'remove-volume':
      return step.volume;
    case 'prune-build-cache':
      return `build cache (${step.records.length} records)`;
  }
}

/** Why a step that did not happen stays, following a block back to the step that caused it. */
function reasonOf(result: StepResult, results: ReadonlyMap<StepId, StepResult>): Reason {
  switch (result.status) {
    case 'not-attempted':
      return { kind: 'engine-lost' };
    case 'changed':
      return { kind: 'changed-since-plan', message: result.message };
    case 'failed':
      return result.internal
        ? { kind: 'internal-error', message: result.message }
        : { kind: 'removal-failed', status: result.httpStatus, message: result.message };
    case 'blocked': {
      let cause: StepResult | undefined = result;
      while (cause?.status === 'blocked') cause = results.get(cause.blockedBy);
      return cause?.status === 'not-attempted'
        ? { kind: 'engine-lost' }
        : {
            kind: 'blocked-by-failed-step',
            step: result.blockedBy,
            ...(cause?.status === 'changed' ? { changed: true } : {})
          };
    }
    default:
      throw new Error(`a ${result.status} step has no reason to be kept`);
  }
}

function summarise(
  plan: Plan,
  results: ReadonlyMap<StepId, StepResult>,
  dryRun: boolean,
  ms: number
): Outcome {
  const ok = (id: StepId | undefined) => id !== undefined && succeeded(results.get(id));
  const skipped: Skip[] = [...plan.skipped];
  const stepOf = new Map<string, StepId>();
  const pruned = new Set<string>();
  for (const step of plan.steps) {
    if (step.kind === 'delete-image') stepOf.set(step.image, step.id);
    if (step.kind === 'remove-container') stepOf.set(step.container, step.id);
    if (step.kind === 'remove-volume') stepOf.set(step.volume, step.id);
    const r = results.get(step.id);
    if (step.kind === 'prune-build-cache') {
      // Each record is its own item: BuildKit may keep some of a batch without an error.
      const removed =
        r?.status === 'done'
          ? new Set(r.deleted)
          : r?.status === 'planned'
            ? new Set(step.records)
            : new Set();
      for (const id of step.records) {
        if (removed.has(id)) pruned.add(id);
        else if (r && succeeded(r))
          skipped.push({ target: id, reason: { kind: 'cache-not-pruned' } });
        else if (r) skipped.push({ target: id, reason: reasonOf(r, results) });
      }
      continue;
    }
    if (!r || succeeded(r)) continue;
    skipped.push({ target: targetOf(step), reason: reasonOf(r, results) });
  }
  return {
    dryRun,
    deletedImages: plan.deleteImages.filter((i) => ok(stepOf.get(i.id))),
    untagged: plan.steps.flatMap((s) =>
      s.kind === 'untag' && ok(s.id) ? [s.reference, ...s.digests] : []
    ),
    removedContainers: plan.removeContainers.filter((c) => ok(stepOf.get(c.id))),
    removedVolumes: plan.removeVolumes.filter((v) => ok(stepOf.get(v.name))),
    prunedBuildCache: plan.pruneBuildCache.filter((r) => pruned.has(r.id)),
    skipped,
    results: plan.steps.map(
      (s) => results.get(s.id) ?? { step: s.id, status: 'not-attempted' as const }
    ),
    ms
  };
}
