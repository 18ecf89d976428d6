import { describe, expect, it } from '@jest/globals';
import { execute } from '../../src/execute.js';
import { EngineError, type Remover } from '../../src/engine/remove.js';
import { plan } from '../../src/plan/planner.js';
import { stepId } from '../../src/plan/steps.js';
import type { ImageId, Inventory, InventoryImage } from '../../src/plan/types.js';
import { FakeEngine } from '../../__fixtures__/fake-engine.js';
import { NOW, container, image, policy } from '../../__fixtures__/inventory.js';
import { failures } from '../../__fixtures__/outcome.js';

/** A Remover for these images whose precondition checks pass; `over` replaces any call. */
function stubRemover(images: InventoryImage[], over: Partial<Remover>): Remover {
  const named = (ref: string) => images.find((i) => i.id === ref || refsOf(i).includes(ref));
  return {
    removeContainer: async () => {},
    removeImage: async () => ({ untagged: [], deleted: [] }),
    inspectImage: async (ref) => {
      const i = named(ref);
      return i && { id: i.id, references: i.id === ref ? [] : refsOf(i) };
    },
    inspectContainer: async () => ({ state: 'exited', image: '' }),
    removeVolume: async () => {},
    volumeUsers: async () => [],
    pruneBuildCache: async () => ({ deleted: [], reclaimed: 0 }),
    ...over
  };
}
const refsOf = (i: InventoryImage): string[] => [...i.tags, ...i.digests];

describe('the executor', () => {
  it('in a dry run calls nothing and reports the plan as its outcome', async () => {
    const a = image(['app:1', 'app:2']);
    const inv: Inventory = { images: [a], containers: [container(a)] };
    const p = plan(inv, policy({ images: ['app'] }), NOW);
    const engine = new FakeEngine(inv);
    const dry = await execute(p, engine, { dryRun: true });
    expect(engine.calls).toEqual([]);
    expect(dry.results.every((r) => r.status === 'planned')).toBe(true);
    const real = await execute(p, new FakeEngine(inv), { dryRun: false });
    const shape = (o: typeof dry) => [o.deletedImages, o.untagged, o.removedContainers, o.skipped];
    expect(shape(dry)).toEqual(shape(real));
  });

  it('counts a 404 as already gone, not as a failure', async () => {
    const a = image(['app:1']);
    const inv: Inventory = { images: [a], containers: [] };
    const p = plan(inv, policy({ images: ['app'] }), NOW);
    const engine = new FakeEngine(inv);
    engine.images.clear(); // someone else got there first
    const o = await execute(p, engine, { dryRun: false });
    expect(failures(o)).toBe(0);
    expect(o.results.map((r) => r.status)).toEqual(['gone', 'gone']);
    expect(o.deletedImages.map((i) => i.id)).toEqual([a.id]);
  });

  it('records a 409 as a reason and goes on with what does not depend on it', async () => {
    const a = image(['app:1']);
    const b = image(['lib:1']);
    const c = container(a, 'exited', { names: ['job'] });
    const inv: Inventory = { images: [a, b], containers: [c] };
    const p = plan(inv, policy({ images: ['**'] }), NOW);
    const engine = new FakeEngine(inv);
    engine.removeContainer = async () => {
      throw new EngineError('conflict: the engine says no', 409);
    };
    const o = await execute(p, engine, { dryRun: false });
    expect(o.deletedImages.map((i) => i.id)).toEqual([b.id]);
    expect(engine.images.has(a.id)).toBe(true);
    expect(failures(o)).toBe(3);
    expect(o.skipped).toContainEqual({
      target: 'job',
      reason: { kind: 'removal-failed', status: 409, message: 'conflict: the engine says no' }
    });
    expect(o.skipped).toContainEqual({
      target: 'app:1',
      reason: { kind: 'blocked-by-failed-step', step: `container:${c.id}` }
    });
    // The blocked untag was never sent to the engine.
    expect(engine.calls).not.toContain('rmi app:1');
  });

  it('never deletes by ID an image tagged since the plan was made', async () => {
    const d = image([]);
    const inv: Inventory = { images: [d], containers: [] };
    const engine = new FakeEngine(inv);
    const o = await execute(plan(inv, policy({ dangling: true }), NOW), engine, {
      dryRun: false,
      beforeExecute: async () => {
        engine.images.get(d.id)!.tags = ['someone/else:1' as never];
      }
    });
    expect(engine.images.get(d.id)?.tags).toEqual(['someone/else:1']);
    expect(engine.calls).toEqual([`inspect ${d.id}`]);
    expect(o.deletedImages).toEqual([]);
    expect(o.skipped).toContainEqual({
      target: d.id,
      reason: {
        kind: 'changed-since-plan',
        message: expect.stringContaining('tagged since the plan was made, as someone/else:1')
      }
    });
    expect(failures(o)).toBe(0);
  });

  it('stops at the first step the engine does not answer, and marks the rest not attempted', async () => {
    const imgs = Array.from({ length: 10 }, (_, n) => image([`app:${n}`]));
    const inv: Inventory = { images: imgs, containers: [] };
    let calls = 0;
    const remover = stubRemover(imgs, {
      removeImage: async (): Promise<never> => {
        calls++;
        throw new EngineError('connect ECONNREFUSED /run/docker.sock', undefined, true);
      }
    });
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false,
      concurrency: 2
    });
    expect(o.engineLost).toContain('ECONNREFUSED');
    expect(calls).toBe(2);
    expect(o.results.every((r) => ['failed', 'blocked', 'not-attempted'].includes(r.status))).toBe(
      true
    );
    expect(o.skipped.filter((s) => s.reason.kind === 'engine-lost').length).toBeGreaterThan(0);
  });

  it('does not send a delete by ID for an image its last untag already deleted', async () => {
    const a = image(['app:1']);
    const inv: Inventory = { images: [a], containers: [] };
    const engine = new FakeEngine(inv);
    await execute(plan(inv, policy({ images: ['app'] }), NOW), engine, { dryRun: false });
    expect(engine.calls).toEqual(['inspect app:1', 'rmi app:1']);
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    const imgs = Array.from({ length: 20 }, (_, n) => image([`app:${n}`]));
    const inv: Inventory = { images: imgs, containers: [] };
    let inFlight = 0;
    let peak = 0;
    const remover = stubRemover(imgs, {
      removeImage: async (name: string) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        const img = imgs.find((i) => i.tags.includes(name as never));
        return { untagged: [name], deleted: img ? [img.id] : [] };
      }
    });
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false,
      concurrency: 3
    });
    expect(o.deletedImages).toHaveLength(20);
    expect(peak).toBe(3);
  });

  it('runs steps that share a lock one at a time, the rest beside them, and a failed one frees its lock', async () => {
    const mid = image([]);
    const siblings = Array.from({ length: 4 }, () => image([], { parent: mid.id }));
    const others = Array.from({ length: 4 }, () => image([]));
    const inv: Inventory = { images: [mid, ...siblings, ...others], containers: [] };
    const p = plan(inv, policy({ dangling: true }), NOW);
    const isSibling = (ref: string) => siblings.some((i) => i.id === ref);
    let siblingsInFlight = 0;
    let siblingsPeak = 0;
    let othersBesideSibling = 0;
    let first = true;
    const remover = stubRemover(inv.images, {
      removeImage: async (ref: string) => {
        if (!isSibling(ref)) {
          if (siblingsInFlight > 0) othersBesideSibling++;
          return { untagged: [], deleted: [ref] };
        }
        siblingsInFlight++;
        siblingsPeak = Math.max(siblingsPeak, siblingsInFlight);
        await new Promise((r) => setImmediate(r));
        siblingsInFlight--;
        if (first) {
          first = false;
          throw new EngineError('the engine had a bad moment', 500);
        }
        return { untagged: [], deleted: [ref] };
      }
    });
    const o = await execute(p, remover, { dryRun: false, concurrency: 8 });
    expect(siblingsPeak).toBe(1);
    expect(othersBesideSibling).toBeGreaterThan(0);
    const statusOf = (id: ImageId) => o.results.find((r) => r.step === stepId.image(id))?.status;
    expect(siblings.map((i) => statusOf(i.id)).sort()).toEqual(['done', 'done', 'done', 'failed']);
    expect(others.map((i) => statusOf(i.id))).toEqual(['done', 'done', 'done', 'done']);
  });

  it('reports progress every N completions and at the end', async () => {
    const imgs = Array.from({ length: 5 }, () => image([]));
    const inv: Inventory = { images: imgs, containers: [] };
    const seen: number[] = [];
    await execute(plan(inv, policy({ dangling: true }), NOW), new FakeEngine(inv), {
      dryRun: false,
      progressEvery: 2,
      progressMs: 1e9,
      onProgress: (done) => seen.push(done)
    });
    expect(seen).toEqual([2, 4, 5]);
  });

  it('turns an engine error without a status into a failed step', async () => {
    const a = image(['app:1']);
    const inv: Inventory = { images: [a], containers: [] };
    const remover = stubRemover([a], {
      removeImage: async (): Promise<never> => {
        throw new EngineError('unexpected answer');
      }
    });
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false
    });
    expect(o.results.map((r) => r.status)).toEqual(['failed', 'blocked']);
    expect(o.deletedImages).toEqual([]);
    expect(o.engineLost).toBeUndefined();
  });

  it('reports its own failure as its own, not as a lost engine, and goes on', async () => {
    const imgs = [image(['app:1']), image(['app:2'])];
    const inv: Inventory = { images: imgs, containers: [] };
    const remover = stubRemover(imgs, {
      removeImage: async (name: string) => {
        if (name === 'app:1')
          throw new TypeError("Cannot read properties of undefined (reading 'x')");
        return { untagged: [name], deleted: [imgs[1]!.id] };
      }
    });
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false
    });
    expect(o.engineLost).toBeUndefined();
    expect(o.deletedImages.map((i) => i.id)).toEqual([imgs[1]!.id]);
    expect(o.skipped).toContainEqual({
      target: 'app:1',
      reason: {
        kind: 'internal-error',
        message: "TypeError: Cannot read properties of undefined (reading 'x')"
      }
    });
    expect(failures(o)).toBe(2);
  });
});

describe('preconditions, checked right before each call', () => {
  it('a tag moved to a new image after the plan is not taken from it', async () => {
    const a = image(['app:1']);
    const b = image(['app:2']);
    const inv: Inventory = { images: [a, b], containers: [] };
    const p = plan(inv, policy({ images: ['app:1'] }), NOW);
    const engine = new FakeEngine(inv);
    const o = await execute(p, engine, {
      dryRun: false,
      // A rebuild moves app:1 to b, the job's fresh image, whose only other name is app:2.
      beforeExecute: async () => {
        engine.images.get(a.id)!.tags = [];
        engine.images.get(b.id)!.tags = ['app:1', 'app:2'] as never;
      }
    });
    expect(engine.images.get(b.id)!.tags).toEqual(['app:1', 'app:2']);
    expect(engine.calls.filter((c) => c.startsWith('rmi'))).toEqual([]);
    expect(o.untagged).toEqual([]);
    expect(o.skipped).toContainEqual({
      target: 'app:1',
      reason: {
        kind: 'changed-since-plan',
        message: `app:1 now names ${b.id.slice(0, 12)}, not the planned image ${a.id.slice(0, 12)}: it stays`
      }
    });
    expect(o.skipped).toContainEqual({
      target: a.id,
      reason: { kind: 'blocked-by-failed-step', step: 'untag:app:1', changed: true }
    });
    expect(failures(o)).toBe(0);
  });

  it('a container started after the plan stays, and so do its image and tags', async () => {
    const a = image(['app:1']);
    const c = container(a, 'exited', { names: ['job'] });
    const inv: Inventory = { images: [a], containers: [c] };
    const engine = new FakeEngine(inv);
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), engine, {
      dryRun: false,
      beforeExecute: async () => {
        engine.containers.get(c.id)!.state = 'running';
      }
    });
    // The engine refused the one call that was made; nothing else was tried.
    expect(engine.calls.filter((x) => !x.startsWith('inspect'))).toEqual([`rm ${c.id}`]);
    expect(engine.containers.get(c.id)?.state).toBe('running');
    expect(engine.images.get(a.id)!.tags).toEqual(['app:1']);
    expect(o.skipped).toContainEqual({
      target: 'job',
      reason: {
        kind: 'changed-since-plan',
        message: 'job is running now, not stopped: it stays, and so does its image'
      }
    });
    expect(failures(o)).toBe(0);
  });

  it('a reference that is gone before the call counts as done by someone else', async () => {
    const a = image(['app:1', 'app:2']);
    const inv: Inventory = { images: [a], containers: [] };
    const engine = new FakeEngine(inv);
    const o = await execute(plan(inv, policy({ images: ['app:1'] }), NOW), engine, {
      dryRun: false,
      beforeExecute: async () => {
        engine.images.get(a.id)!.tags = ['app:2'] as never;
      }
    });
    expect(o.results).toEqual([expect.objectContaining({ status: 'gone' })]);
    expect(engine.calls).toEqual(['inspect app:1']);
  });
});

describe("preconditions answered by the engine's event feed", () => {
  const inv = (): Inventory => {
    const a = image(['app:1', 'app:2']);
    const d = image([]);
    return { images: [a, d], containers: [] };
  };

  it('sends no inspect while the feed says nothing has named an image', async () => {
    const state = inv();
    const engine = new FakeEngine(state);
    const o = await execute(plan(state, policy({ images: ['app'], dangling: true }), NOW), engine, {
      dryRun: false,
      referencesUnchanged: async () => true
    });
    expect(failures(o)).toBe(0);
    expect(o.deletedImages).toHaveLength(2);
    expect(engine.calls.filter((c) => c.startsWith('inspect'))).toEqual([]);
  });

  it('inspects before every call from the moment the feed reports a change', async () => {
    const state = inv();
    const [a] = state.images;
    const engine = new FakeEngine(state);
    let changed = false;
    const o = await execute(plan(state, policy({ images: ['app'] }), NOW), engine, {
      dryRun: false,
      concurrency: 1,
      referencesUnchanged: async () => !changed,
      beforeExecute: async () => {
        // A rebuild gives the planned image a new name, and the feed brings its tag event.
        engine.images.get(a!.id)!.tags = ['app:1', 'app:2', 'app:fresh'] as never;
        changed = true;
      }
    });
    expect(engine.calls.filter((c) => c.startsWith('inspect'))).toEqual([
      'inspect app:1',
      'inspect app:2',
      `inspect ${a!.id}`
    ]);
    // Untagged as planned, yet not deleted by ID: that would take app:fresh with it.
    expect(engine.images.get(a!.id)!.tags).toEqual(['app:fresh']);
    expect(o.skipped).toContainEqual({
      target: a!.id,
      reason: expect.objectContaining({ kind: 'changed-since-plan' })
    });
  });
});

describe('removals that race another run', () => {
  it('count as gone when the engine refuses because someone else is removing the same thing', async () => {
    const a = image(['app:1']);
    const c = container(a, 'exited');
    const inv: Inventory = { images: [a], containers: [c] };
    const engine = new FakeEngine(inv);
    // The other run's removal lands while ours is refused.
    engine.removeContainer = async (id: string) => {
      engine.containers.delete(id);
      throw new EngineError(`removal of container ${id} is already in progress`, 409);
    };
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), engine, { dryRun: false });
    expect(failures(o)).toBe(0);
    expect(o.results[0]).toMatchObject({ status: 'gone', httpStatus: 409 });
    expect(o.deletedImages.map((i) => i.id)).toEqual([a.id]);
  });

  it('still fail when the thing is there after all', async () => {
    const a = image(['app:1']);
    const inv: Inventory = { images: [a], containers: [] };
    const engine = new FakeEngine(inv);
    engine.removeImage = async () => {
      throw new EngineError('layer does not exist', 500);
    };
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), engine, { dryRun: false });
    expect(o.results.map((r) => r.status)).toEqual(['failed', 'blocked']);
  });
});
