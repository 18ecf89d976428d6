// The executor: runs a plan's steps through a Remover, each as soon as the steps it depends on
// have succeeded, a bounded number at a time. The only code that removes anything.
import type { Remover } from './engine/remove.js';
import { EngineError } from './engine/remove.js';
import type { Outcome, Plan, Reason, Skip, Step, StepResult } from './plan/types.js';

export interface ExecuteOptions {
  dryRun: boolean;
  concurrency?: number;
  /** Called at most every `progressEvery` completions or `progressMs`, and at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
  progressMs?: number;
  /** Test seam: runs after planning and before the first removal. */
  beforeExecute?: () => Promise<void>;
  clock?: () => number;
}

const DEFAULT_CONCURRENCY = 8;
/** blockedBy of the steps never attempted because the engine stopped answering. */
const ENGINE_LOST = '(engine lost)';

export async function execute(
  plan: Plan,
  remover: Remover,
  options: ExecuteOptions
): Promise<Outcome> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const results = new Map<string, StepResult>();
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

async function runGraph(
  steps: Step[],
  remover: Remover,
  results: Map<string, StepResult>,
  options: ExecuteOptions,
  clock: () => number
): Promise<string | undefined> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const waitingOn = new Map(
    steps.map((s) => [s.id, s.dependsOn.filter((d) => byId.has(d)).length])
  );
  const dependents = new Map<string, string[]>();
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

  const settle = (id: string, result: StepResult) => {
    results.set(id, result);
    const ok = result.status === 'done' || result.status === 'gone';
    for (const next of dependents.get(id) ?? []) {
      if (results.has(next)) continue;
      if (!ok) {
        // Whatever waits on a failed step cannot succeed; say why and pass it on.
        settle(next, { step: next, status: 'blocked', blockedBy: id });
        continue;
      }
      const left = waitingOn.get(next)! - 1;
      waitingOn.set(next, left);
      if (left === 0) ready.push(next);
    }
    const now = clock();
    if (results.size - lastReport.count >= every || now - lastReport.at >= everyMs) {
      lastReport = { count: results.size, at: now };
      options.onProgress?.(results.size, total);
    }
  };

  const runStep = async (step: Step): Promise<StepResult> => {
    const t0 = clock();
    const timed = (r: Omit<StepResult, 'step' | 'ms'>): StepResult => ({
      step: step.id,
      ...r,
      ms: clock() - t0
    });
    if (step.kind === 'delete-image' && deletedIds.has(step.image)) {
      return timed({ status: 'done', message: 'deleted with its last reference or child' });
    }
    try {
      if (step.kind === 'remove-container') {
        await remover.removeContainer(step.container);
        return timed({ status: 'done' });
      }
      if (step.kind === 'delete-image') {
        // A delete by ID also removes the references of one repository. Something may have
        // tagged the image since the plan was made: never take such a reference with it.
        const refs = await remover.imageReferences(step.image);
        if (refs === undefined) return timed({ status: 'gone', httpStatus: 404 });
        if (refs.length > 0) {
          return timed({
            status: 'failed',
            httpStatus: 409,
            message: `tagged since the plan was made, as ${refs.join(', ')}; not deleted by ID, which would remove that too`
          });
        }
      }
      const r = await remover.removeImage(step.kind === 'untag' ? step.reference : step.image);
      r.deleted.forEach((d) => deletedIds.add(d));
      return timed({ status: 'done', deleted: r.deleted });
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError(String(e));
      // 404: somebody (or an earlier step) already did it.
      if (err.status === 404)
        return timed({ status: 'gone', httpStatus: 404, message: err.message });
      // No answer at all: the engine is gone or hung. Stop rather than try every step in turn.
      if (err.status === undefined) engineLost ??= err.message;
      else if (await goneAfterAll(step, err, remover)) {
        return timed({
          status: 'gone',
          httpStatus: err.status,
          message: `${err.message}; then found gone: another process removed it`
        });
      }
      return timed({ status: 'failed', httpStatus: err.status, message: err.message });
    }
  };

  const limit = options.concurrency ?? DEFAULT_CONCURRENCY;
  const inFlight = new Set<Promise<void>>();
  let next = 0;
  while ((next < ready.length && engineLost === undefined) || inFlight.size > 0) {
    while (next < ready.length && inFlight.size < limit && engineLost === undefined) {
      const step = byId.get(ready[next++]!)!;
      const p: Promise<void> = runStep(step).then((r) => {
        inFlight.delete(p);
        settle(step.id, r);
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
          ? { step: s.id, status: 'done', message: 'deleted with its last reference or child' }
          : { step: s.id, status: 'blocked', blockedBy: ENGINE_LOST }
      );
    }
  }
  options.onProgress?.(results.size, total);
  return engineLost;
}

/**
 * A run beside ours (another job on a shared engine) may remove the same thing at the same moment,
 * and the engine then answers with "removal … already in progress" (409) or a 500 about a missing
 * image or layer, not 404. Look again: if the thing is gone, the step's goal is met.
 */
async function goneAfterAll(step: Step, err: EngineError, remover: Remover): Promise<boolean> {
  const tries = /in progress/i.test(err.message) ? 10 : 1;
  for (let n = 0; n < tries; n++) {
    if (n > 0) await new Promise((r) => setTimeout(r, 100));
    try {
      const gone =
        step.kind === 'remove-container'
          ? !(await remover.containerExists(step.container))
          : (await remover.imageReferences(step.kind === 'untag' ? step.reference : step.image)) ===
            undefined;
      if (gone) return true;
    } catch {
      return false;
    }
  }
  return false;
}

function targetOf(step: Step): string {
  if (step.kind === 'remove-container') return step.name;
  if (step.kind === 'untag') return step.reference;
  return step.image;
}

function summarise(
  plan: Plan,
  results: Map<string, StepResult>,
  dryRun: boolean,
  ms: number
): Outcome {
  const succeeded = (id: string) => {
    const s = results.get(id)?.status;
    return s === 'done' || s === 'gone' || s === 'planned';
  };
  const skipped: Skip[] = [...plan.skipped];
  let failures = 0;
  const stepOf = new Map<string, string>();
  for (const step of plan.steps) {
    if (step.kind !== 'untag')
      stepOf.set(step.kind === 'delete-image' ? step.image : step.container, step.id);
    const r = results.get(step.id);
    if (!r || succeeded(step.id)) continue;
    failures++;
    const reason: Reason =
      r.blockedBy === ENGINE_LOST
        ? { kind: 'engine-lost' }
        : r.status === 'blocked'
          ? { kind: 'blocked-by-failed-step', step: r.blockedBy ?? '' }
          : { kind: 'removal-failed', status: r.httpStatus, message: r.message ?? 'unknown error' };
    skipped.push({ target: targetOf(step), reason });
  }
  return {
    dryRun,
    deletedImages: plan.deleteImages.filter((i) => succeeded(stepOf.get(i.id) ?? '')),
    untagged: plan.steps.flatMap((s) =>
      s.kind === 'untag' && succeeded(s.id) ? [s.reference, ...s.digests] : []
    ),
    removedContainers: plan.removeContainers.filter((c) => succeeded(stepOf.get(c.id) ?? '')),
    skipped,
    results: plan.steps.map((s) => results.get(s.id) ?? { step: s.id, status: 'blocked' }),
    failures,
    ms
  };
}
