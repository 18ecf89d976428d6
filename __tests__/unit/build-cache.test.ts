// The build cache phase: which BuildKit records go, children before parents, and what stays.
import { describe, expect, it } from '@jest/globals';
import { decideBuildCache } from '../../src/plan/build-cache.js';
import { plan } from '../../src/plan/planner.js';
import type { Inventory } from '../../src/plan/types.js';
import { DAY, NOW, cacheRecord, image, policy, volume } from '../../__fixtures__/inventory.js';

const inv = (buildCache: Inventory['buildCache']): Inventory => ({
  images: [],
  containers: [],
  buildCache
});
const ids = (m: ReadonlyMap<string, unknown>) => [...m.keys()];

describe('build cache records', () => {
  it('are left alone when build-cache is empty', () => {
    const p = plan(inv([cacheRecord('a')]), policy(), NOW);
    expect(p.pruneBuildCache).toEqual([]);
    expect(p.steps).toEqual([]);
  });

  it('go when unused for at least build-cache, and say how long ago the others were used', () => {
    const r = decideBuildCache(
      [cacheRecord('old', { usedDaysAgo: 9 }), cacheRecord('new', { usedDaysAgo: 1 })],
      7 * DAY,
      NOW
    );
    expect(ids(r.remove)).toEqual(['old']);
    expect(r.skipped).toEqual([
      { target: 'new', reason: { kind: 'too-young', ageMs: DAY, minMs: 7 * DAY, basis: 'cache' } }
    ]);
  });

  it('build-cache 0 takes every unused record', () => {
    const r = decideBuildCache([cacheRecord('a', { usedDaysAgo: 0 }), cacheRecord('b')], 0, NOW);
    expect(ids(r.remove).sort()).toEqual(['a', 'b']);
  });

  it('a record in use, or one an image shares, stays', () => {
    const r = decideBuildCache(
      [
        cacheRecord('busy', { inUse: true, lastUsed: undefined }),
        cacheRecord('layer', { shared: true })
      ],
      0,
      NOW
    );
    expect(r.remove.size).toBe(0);
    expect(r.skipped).toEqual(
      expect.arrayContaining([
        { target: 'busy', reason: { kind: 'cache-in-use' } },
        { target: 'layer', reason: { kind: 'cache-shared' } }
      ])
    );
  });

  it('a record goes only with every record built on it, children first', () => {
    const records = [
      cacheRecord('root'),
      cacheRecord('mid', { parents: ['root'] }),
      cacheRecord('leaf', { parents: ['mid'] }),
      cacheRecord('other', { parents: ['root'], inUse: true })
    ];
    const r = decideBuildCache(records, 0, NOW);
    // `other` is in use, so `root` stays; `mid` and `leaf` go, leaf first.
    expect(ids(r.remove)).toEqual(['leaf', 'mid']);
    expect(r.skipped).toContainEqual({
      target: 'root',
      reason: { kind: 'cache-parent-of-kept', child: 'other' }
    });
  });

  it('the same records give the same plan whatever order the engine lists them in', () => {
    const records = [cacheRecord('b'), cacheRecord('a', { parents: ['b'] }), cacheRecord('c')];
    const forward = decideBuildCache(records, 0, NOW);
    const backward = decideBuildCache([...records].reverse(), 0, NOW);
    expect(ids(backward.remove)).toEqual(ids(forward.remove));
  });

  it('are pruned in batches of at most 200, each batch after the one before', () => {
    const records = Array.from({ length: 450 }, (_, n) =>
      cacheRecord(`r${String(n).padStart(3, '0')}`)
    );
    const p = plan(inv(records), policy({ buildCacheOlderThanMs: 0 }), NOW);
    const steps = p.steps.filter((s) => s.kind === 'prune-build-cache');
    expect(steps.map((s) => (s.kind === 'prune-build-cache' ? s.records.length : 0))).toEqual([
      200, 200, 50
    ]);
    expect(steps.map((s) => s.dependsOn)).toEqual([[], ['build-cache:0'], ['build-cache:1']]);
    expect(p.space.buildCacheBytes).toBe(450 * 1000);
  });

  it('the summary is told what build-cache: 7d would take when it is empty', () => {
    const p = plan(
      inv([
        cacheRecord('old', { usedDaysAgo: 30, size: 5000 }),
        cacheRecord('new', { usedDaysAgo: 1, size: 70 })
      ]),
      policy(),
      NOW
    );
    expect(p.leftovers.buildCache).toEqual({
      records: 2,
      bytes: 5070,
      suggestion: { olderThanMs: 7 * DAY, records: 1, bytes: 5000 }
    });
  });
});

describe('until-free across images, volumes and build cache', () => {
  it('takes the least recently used first, by each one’s own time', () => {
    const p = plan(
      {
        images: [],
        containers: [],
        volumes: [],
        buildCache: [
          cacheRecord('oldest', { usedDaysAgo: 30, size: 400 }),
          cacheRecord('newer', { usedDaysAgo: 2, size: 400 })
        ],
        disk: { path: '/d', freeBytes: 0, totalBytes: 10_000 }
      },
      policy({ buildCacheOlderThanMs: 0, untilFreeBytes: 300 }),
      NOW
    );
    expect(p.pruneBuildCache.map((r) => r.id)).toEqual(['oldest']);
    expect(p.skipped).toContainEqual({
      target: 'newer',
      reason: { kind: 'free-space-target-met', targetBytes: 300 }
    });
  });

  it('puts images, volumes and build cache in one least-recently-used order', () => {
    const img = image(['old:1'], {
      created: NOW - 30 * DAY,
      lastTagTime: NOW - 30 * DAY,
      size: 400,
      layers: ['L']
    });
    const p = plan(
      {
        images: [img],
        containers: [],
        layerSizes: { L: 400 },
        volumes: [volume('mid', { ageDays: 20, size: 400 })],
        buildCache: [cacheRecord('newest', { usedDaysAgo: 10, size: 400 })],
        disk: { path: '/d', freeBytes: 0, totalBytes: 10_000 }
      },
      policy({ images: ['**'], volumes: ['*'], buildCacheOlderThanMs: 0, untilFreeBytes: 700 }),
      NOW
    );
    expect(p.deleteImages.map((i) => i.id)).toEqual([img.id]);
    expect(p.removeVolumes.map((v) => v.name)).toEqual(['mid']);
    expect(p.pruneBuildCache).toEqual([]);
  });
});
