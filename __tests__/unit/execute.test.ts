import { describe, expect, it } from '@jest/globals';
import { execute } from '../../src/execute.js';
import { EngineError } from '../../src/engine/remove.js';
import { plan } from '../../src/plan/planner.js';
import type { Inventory } from '../../src/plan/types.js';
import { FakeEngine } from '../../__fixtures__/fake-engine.js';
import { NOW, container, image, policy } from '../../__fixtures__/inventory.js';

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
    expect(o.failures).toBe(0);
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
    // A race: the container is started between planning and execution.
    const o = await execute(p, engine, {
      dryRun: false,
      beforeExecute: async () => {
        engine.containers.get(c.id)!.state = 'running';
      }
    });
    expect(o.deletedImages.map((i) => i.id)).toEqual([b.id]);
    expect(engine.images.has(a.id)).toBe(true);
    expect(o.failures).toBe(3);
    expect(o.skipped).toContainEqual({
      target: 'job',
      reason: { kind: 'removal-failed', status: 409, message: expect.stringContaining('running') }
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
        kind: 'removal-failed',
        status: 409,
        message: expect.stringContaining('tagged since the plan was made, as someone/else:1')
      }
    });
  });

  it('stops at the first step the engine does not answer, and marks the rest not attempted', async () => {
    const imgs = Array.from({ length: 10 }, (_, n) => image([`app:${n}`]));
    const inv: Inventory = { images: imgs, containers: [] };
    let calls = 0;
    const remover = {
      removeContainer: async () => {},
      imageReferences: async () => [],
      containerExists: async () => true,
      removeImage: async (): Promise<never> => {
        calls++;
        throw new EngineError('connect ECONNREFUSED /run/docker.sock');
      }
    };
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false,
      concurrency: 2
    });
    expect(o.engineLost).toContain('ECONNREFUSED');
    expect(calls).toBe(2);
    expect(o.results.every((r) => r.status === 'failed' || r.status === 'blocked')).toBe(true);
    expect(o.skipped.filter((s) => s.reason.kind === 'engine-lost').length).toBeGreaterThan(0);
  });

  it('does not send a delete by ID for an image its last untag already deleted', async () => {
    const a = image(['app:1']);
    const inv: Inventory = { images: [a], containers: [] };
    const engine = new FakeEngine(inv);
    await execute(plan(inv, policy({ images: ['app'] }), NOW), engine, { dryRun: false });
    expect(engine.calls).toEqual(['rmi app:1']);
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    const imgs = Array.from({ length: 20 }, (_, n) => image([`app:${n}`]));
    const inv: Inventory = { images: imgs, containers: [] };
    let inFlight = 0;
    let peak = 0;
    const remover = {
      removeContainer: async () => {},
      imageReferences: async () => [],
      containerExists: async () => true,
      removeImage: async (name: string) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        const img = imgs.find((i) => i.tags.includes(name as never));
        return { untagged: [name], deleted: img ? [img.id] : [] };
      }
    };
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false,
      concurrency: 3
    });
    expect(o.deletedImages).toHaveLength(20);
    expect(peak).toBe(3);
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

  it('turns an unexpected exception from the engine into a failed step', async () => {
    const a = image(['app:1']);
    const inv: Inventory = { images: [a], containers: [] };
    const remover = {
      removeContainer: async () => {},
      imageReferences: async () => [],
      containerExists: async () => true,
      removeImage: async (): Promise<never> => {
        throw new EngineError('socket hang up');
      }
    };
    const o = await execute(plan(inv, policy({ images: ['app'] }), NOW), remover, {
      dryRun: false
    });
    expect(o.results.map((r) => r.status)).toEqual(['failed', 'blocked']);
    expect(o.deletedImages).toEqual([]);
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
    expect(o.failures).toBe(0);
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
