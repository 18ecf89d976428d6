// Job cleanup: what the job added since the main step's snapshot goes; everything else stays.
import { describe, expect, it } from '@jest/globals';
import { containerUses, type EngineEvent } from '../../src/engine/events.js';
import { mergeLedger, withArrivalRecords } from '../../src/ledger.js';
import { plan } from '../../src/plan/planner.js';
import type { ImageId, Inventory, Plan, Policy } from '../../src/plan/types.js';
import { jobScope, takeSnapshot } from '../../src/snapshot.js';
import {
  DAY,
  NOW,
  anonymousName,
  cacheRecord,
  container,
  image,
  policy,
  volume
} from '../../__fixtures__/inventory.js';
import { untagOnly } from '../../__fixtures__/plan.js';

/** The planner's view after the job, with the scope the snapshot `before` gives. */
function cleanup(before: Inventory, after: Inventory, over: Partial<Policy> = {}): Plan {
  const scope = jobScope(takeSnapshot(before, NOW - DAY, 'unix:///x.sock'), after);
  return plan(after, policy({ ...over, job: scope }), NOW);
}

describe('the snapshot and what the job added', () => {
  it('new images with all their references, and references added to older images', () => {
    const old = image(['base:1']);
    const before: Inventory = { images: [old], containers: [] };
    const fresh = image(['app:ci', 'app:sha']);
    const retagged = { ...old, tags: [...old.tags, 'base:job'] } as typeof old;
    const scope = jobScope(takeSnapshot(before, NOW, 'x'), {
      images: [retagged, fresh],
      containers: []
    });
    expect(scope.images).toEqual([fresh.id]);
    expect(scope.references.sort()).toEqual(['app:ci', 'app:sha', 'base:job']);
  });
});

describe('job cleanup', () => {
  const old = image(['base:1']);
  const before: Inventory = {
    images: [old],
    containers: [],
    volumes: [volume('kept-data')],
    buildCache: [cacheRecord('old-step')]
  };

  it('removes the job’s images, tags, stopped containers, volumes and build cache, and nothing else', () => {
    const fresh = image(['app:ci']);
    const job = container(fresh, 'exited', { names: ['job-test'], volumes: [anonymousName(1)] });
    const after: Inventory = {
      images: [{ ...old, tags: ['base:1', 'base:job'] } as typeof old, fresh],
      containers: [job],
      volumes: [volume('kept-data'), volume(anonymousName(1)), volume('job-cache')],
      buildCache: [
        cacheRecord('old-step'),
        cacheRecord('job-step', { shared: true, usedDaysAgo: 0 }),
        cacheRecord('job-busy', { inUse: true })
      ]
    };
    const p = cleanup(before, after);
    expect(p.deleteImages.map((i) => i.id)).toEqual([fresh.id]);
    expect(untagOnly(p)).toEqual(['base:job']);
    expect(p.removeContainers.map((c) => c.name)).toEqual(['job-test']);
    expect(p.removeVolumes.map((v) => v.name).sort()).toEqual(
      [anonymousName(1), 'job-cache'].sort()
    );
    // The job's own record goes even while its image shares it: the image goes too.
    expect(p.pruneBuildCache.map((r) => r.id)).toEqual(['job-step']);
    expect(p.skipped).toContainEqual({ target: 'job-busy', reason: { kind: 'cache-in-use' } });
    expect(p.skipped.map((s) => s.target)).not.toContain('old-step');
  });

  it('keeps a container the job left running, and its image', () => {
    const fresh = image(['svc:ci']);
    const running = container(fresh, 'running', { names: ['svc'] });
    const p = cleanup(before, { images: [old, fresh], containers: [running] });
    expect(p.steps).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: 'svc:ci',
      reason: { kind: 'in-use-by-running-container', container: 'svc', state: 'running' }
    });
  });

  it('keeps a new image that a container which existed before the job holds', () => {
    const fresh = image(['app:ci']);
    const theirs = container(fresh, 'exited', { names: ['other-job'] });
    const b: Inventory = { images: [old], containers: [theirs] };
    const p = cleanup(b, { images: [old, fresh], containers: [theirs] });
    expect(p.deleteImages).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: 'app:ci',
      reason: {
        kind: 'held-by-kept-container',
        container: 'other-job',
        because: { kind: 'existed-before-job' }
      }
    });
  });

  it('keeps what exclude protects, and images narrows the new images it may take', () => {
    const a = image(['myorg/app:ci']);
    const b = image(['third/party:1']);
    const c = image(['myorg/keep:1']);
    const p = cleanup(
      before,
      { images: [old, a, b, c], containers: [] },
      { images: ['myorg/**'], exclude: ['myorg/keep:*'] }
    );
    expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
  });

  it('takes a new untagged image the job built, and leaves an old dangling one', () => {
    const oldDangling = image([]);
    const newDangling = image([]);
    const b: Inventory = { images: [old, oldDangling], containers: [] };
    const p = cleanup(b, { images: [old, oldDangling, newDangling], containers: [] });
    expect(p.deleteImages.map((i) => i.id)).toEqual([newDangling.id]);
  });

  it('takes what the job added whatever its age: the snapshot, not the clock, decides', () => {
    const fresh = image(['app:ci'], { ageDays: 0 });
    const p = cleanup(before, { images: [old, fresh], containers: [] }, { olderThanMs: 0 });
    expect(p.deleteImages.map((i) => i.id)).toEqual([fresh.id]);
  });
});

describe('remembering use', () => {
  const T = Math.floor(NOW / 1000);
  const sid = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as ImageId;
  const used = (image: string, time: number, action = 'create'): EngineEvent => ({
    Type: 'container',
    Action: action,
    Actor: { ID: 'c', Attributes: { image } },
    time
  });

  it('resolves the image a container event names, by reference, full ID or short ID', () => {
    const a = image(['busybox:latest'], { id: sid(1) });
    const b = image(['b:1'], { id: sid(2) });
    const uses = containerUses(
      [used('busybox', T - 60), used(sid(2), T - 30), used(sid(1).slice(7, 19), T - 10, 'die')],
      [a, b]
    );
    expect(uses).toEqual(
      new Map([
        [a.id, (T - 10) * 1000],
        [b.id, (T - 30) * 1000]
      ])
    );
  });

  it('a recorded use keeps an image under last-used, and the reason says who saw it', () => {
    const a = image(['tool:1'], { lastTagTime: NOW - 30 * DAY });
    const inv: Inventory = { images: [a], containers: [] };
    const ledger = mergeLedger(
      new Map(),
      inv,
      NOW - 30 * DAY,
      new Set(),
      new Map([[a.id, NOW - DAY]])
    );
    expect(ledger.get(a.id)?.lastUsed).toBe(NOW - DAY);
    const p = plan(
      withArrivalRecords(inv, new Map(), ledger),
      policy({ images: ['tool'], olderThanMs: 7 * DAY }),
      NOW
    );
    expect(p.deleteImages).toEqual([]);
    expect(p.skipped[0]!.reason).toMatchObject({
      kind: 'too-young',
      basis: 'last-used',
      record: { kind: 'recorded-use' }
    });
    const byTag = plan(
      withArrivalRecords(inv, new Map(), ledger),
      policy({ images: ['tool'], olderThanMs: 7 * DAY, ageBasis: 'tagged' }),
      NOW
    );
    expect(byTag.deleteImages.map((i) => i.id)).toEqual([a.id]);
  });
});
