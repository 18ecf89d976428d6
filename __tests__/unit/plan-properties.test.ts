// Generated engine states and policies: the plan, run by the real executor against an engine
// that refuses what Docker refuses, never meets a conflict and ends exactly where it predicted.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { execute } from '../../src/execute.js';
import { compileImagePattern, parseReference } from '../../src/plan/patterns.js';
import { plan } from '../../src/plan/planner.js';
import type {
  ContainerId,
  ContainerState,
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  Policy,
  Reference
} from '../../src/plan/types.js';
import { FakeEngine } from '../../__fixtures__/fake-engine.js';
import { DAY, NOW, policy } from '../../__fixtures__/inventory.js';
import { expectPlannedImagesAndContainers } from '../../__fixtures__/end-state.js';
import { matchesReference, untagOnly } from '../../__fixtures__/plan.js';
import { deletedBy } from '../../__fixtures__/outcome.js';

const REPOS = ['app', 'lib/x', 'docker.io/library/base', 'ghcr.io/o/tool', 'localhost/pod'];
const TAGS = ['1', '2', 'latest'];
const STATES: ContainerState[] = ['created', 'running', 'paused', 'restarting', 'exited', 'dead'];
const PATTERNS = [
  '**',
  'app',
  'app:*',
  'app:1',
  'lib/*',
  'base',
  'ghcr.io/**',
  'pod',
  '*:latest',
  'docker.io/library/*'
];
const NAMES = ['job-1', 'job-2', 'web', 'db'];
/** Two named volumes and two anonymous ones (a 64-hex name). */
const VOLUMES = ['data-1', 'cache', 'a'.repeat(64), 'b'.repeat(64)];

const id = (n: number, p: string) => (p + n.toString(16)).padStart(64, '0');

const inventoryArb: fc.Arbitrary<Inventory> = fc
  .record({
    images: fc.array(
      fc.record({
        refs: fc.uniqueArray(fc.tuple(fc.constantFrom(...REPOS), fc.constantFrom(...TAGS)), {
          maxLength: 3
        }),
        digest: fc.option(fc.constantFrom(...REPOS), { nil: undefined }),
        parent: fc.option(fc.nat(), { nil: undefined }),
        createdDaysAgo: fc.integer({ min: 0, max: 100 }),
        taggedDaysAgo: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined })
      }),
      { minLength: 1, maxLength: 8 }
    ),
    containers: fc.array(
      fc.record({
        image: fc.nat(),
        state: fc.constantFrom(...STATES),
        name: fc.constantFrom(...NAMES),
        runner: fc.boolean(),
        stoppedDaysAgo: fc.integer({ min: 0, max: 30 }),
        volumes: fc.subarray(VOLUMES, { maxLength: 2 })
      }),
      { maxLength: 5 }
    )
  })
  .map(({ images, containers }) => {
    const taken = new Set<string>();
    const built: InventoryImage[] = [];
    images.forEach((g, n) => {
      // A reference names one image at a time.
      const tags = g.refs.map(([r, t]) => `${r}:${t}`).filter((r) => !taken.has(r) && taken.add(r));
      const digests = g.digest ? [`${g.digest}@sha256:${id(n, 'd')}`] : [];
      const img: InventoryImage = {
        id: `sha256:${id(n, 'a')}` as ImageId,
        tags: tags as Reference[],
        digests: digests as Reference[],
        created: NOW - g.createdDaysAgo * DAY,
        size: 100 + n
      };
      if (g.taggedDaysAgo !== undefined) img.lastTagTime = NOW - g.taggedDaysAgo * DAY;
      // Parents come earlier in the list, so chains never loop.
      if (g.parent !== undefined && n > 0)
        img.parent = `sha256:${id(g.parent % n, 'a')}` as ImageId;
      // A child's layers extend its parent's; unrelated images may share a base layer.
      const below = img.parent ? built[g.parent! % n]!.layers! : [`base${n % 2}`];
      img.layers = [...below, `own${n}`];
      built.push(img);
    });
    const layerSizes: Record<string, number> = {};
    built.forEach((i, n) => {
      layerSizes[`own${n}`] = 10 * (n + 1);
      layerSizes[i.layers![0]!] = 1000;
    });
    const names = new Set<string>();
    const cs: InventoryContainer[] = containers.map((c, n) => {
      const name = names.has(c.name) ? `${c.name}-${n}` : c.name;
      names.add(name);
      const stopped = NOW - c.stoppedDaysAgo * DAY;
      return {
        id: id(n, 'c') as ContainerId,
        names: [name],
        image: built[c.image % built.length]!.id,
        state: c.state,
        created: stopped - DAY,
        startedAt: c.state === 'created' ? undefined : stopped - DAY,
        finishedAt: ['exited', 'dead'].includes(c.state) ? stopped : undefined,
        labels: (c.runner ? { abc123: '' } : {}) as Record<string, string>,
        networks: [],
        volumes: c.volumes
      };
    });
    return {
      images: built,
      containers: cs,
      layerSizes,
      disk: { path: '/data', freeBytes: 500, totalBytes: 10_000 },
      volumes: VOLUMES.map((name, n) => ({
        name,
        labels: {},
        created: NOW - (n + 1) * DAY,
        size: 50 + n
      }))
    };
  });

const policyArb: fc.Arbitrary<Policy> = fc.record({
  images: fc.subarray(PATTERNS),
  exclude: fc.subarray([...PATTERNS, ...NAMES, 'job-*']),
  olderThanMs: fc.constantFrom(0, 5 * DAY, 50 * DAY),
  ageBasis: fc.constantFrom('created' as const, 'tagged' as const, 'last-used' as const),
  keepLatest: fc.integer({ min: 0, max: 2 }),
  dangling: fc.boolean(),
  containers: fc.subarray(['*', 'job-*', 'web']),
  containersOlderThanMs: fc.constantFrom(0, 2 * DAY, 20 * DAY),
  untilFreeBytes: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
  volumes: fc.subarray(['*', 'data-*', 'cache']),
  anonymousVolumes: fc.boolean()
});

const refsOf = (i: InventoryImage) => [...i.tags, ...i.digests] as string[];

describe('plans on generated engine states', () => {
  it('run without a single refusal and end exactly in the predicted state', async () => {
    await fc.assert(
      fc.asyncProperty(
        inventoryArb,
        policyArb,
        fc.constantFrom(1, 8),
        async (inv, pol, concurrency) => {
          const p = plan(inv, pol, NOW);
          // dockerd prunes parents without a lock: the plan must keep two calls from one parent.
          const engine = new FakeEngine(inv, { unlockedPrune: true });
          const outcome = await execute(p, engine, { dryRun: false, concurrency });
          // Nobody else removes anything here: every step is done, none found gone.
          const notDone = outcome.results.filter((r) => r.status !== 'done');
          expect(notDone).toEqual([]);

          const after = engine.snapshot();
          // The engine's own word for each image that went: listed Deleted by a call.
          const listed = new Set(outcome.results.flatMap(deletedBy));
          const went = inv.images.filter((i) => !after.images.some((a) => a.id === i.id));
          expect(went.filter((i) => !listed.has(i.id)).map((i) => i.id)).toEqual([]);

          expectPlannedImagesAndContainers(inv, p, after);
          const removedVolumes = new Set(p.removeVolumes.map((v) => v.name));
          expect([...engine.store.volumes.keys()].sort()).toEqual(
            VOLUMES.filter((v) => !removedVolumes.has(v)).sort()
          );
          // References left on surviving images: all but the planned untags and the digests that
          // the engine drops with a repository's last tag.
          const untagged = new Set<string>(untagOnly(p));
          for (const img of after.images) {
            const before = inv.images.find((i) => i.id === img.id)!;
            const expected = refsOf(before).filter((r) => {
              if (untagged.has(r)) return false;
              if (!r.includes('@')) return true;
              const repo = parseReference(r).repository;
              const hadTag = before.tags.some((t) => parseReference(t).repository === repo);
              const keepsTag = img.tags.some((t) => parseReference(t).repository === repo);
              return !hadTag || keepsTag;
            });
            expect(refsOf(img).sort()).toEqual(expected.sort());
          }
        }
      ),
      { numRuns: 1000 }
    );
  });

  it('never remove a reference the patterns do not select, that exclude protects, or that is not on a dangling image', () => {
    fc.assert(
      fc.property(inventoryArb, policyArb, (inv, pol) => {
        const p = plan(inv, pol, NOW);
        const sel = pol.images.map((x) => compileImagePattern(x)!);
        const exc = pol.exclude.map(compileImagePattern).filter((x) => x !== undefined);
        const removedRefs = [...untagOnly(p), ...p.deleteImages.flatMap((i) => i.references)];
        for (const ref of removedRefs) {
          // Digests that go with their repository's last tag are checked through that tag.
          if (ref.includes('@') && !p.steps.some((s) => s.kind === 'untag' && s.reference === ref))
            continue;
          // With `dangling`, an image without a tag loses the digests a pull left on it.
          const onDangling =
            pol.dangling && inv.images.some((i) => i.tags.length === 0 && refsOf(i).includes(ref));
          expect(onDangling || sel.some((m) => matchesReference(m, ref))).toBe(true);
          expect(exc.some((m) => matchesReference(m, ref))).toBe(false);
        }
      }),
      { numRuns: 400 }
    );
  });

  it('never touch a running container or an image one uses, nor the runner’s containers', () => {
    fc.assert(
      fc.property(inventoryArb, policyArb, (inv, pol) => {
        const p = plan(inv, pol, NOW);
        const active = inv.containers.filter((c) =>
          ['running', 'paused', 'restarting'].includes(c.state)
        );
        const protectedImages = new Set(active.map((c) => c.image));
        for (const s of p.steps) {
          if (s.kind === 'remove-container') {
            const c = inv.containers.find((x) => x.id === s.container)!;
            expect(['created', 'exited', 'dead']).toContain(c.state);
            expect(c.labels).toEqual({});
          } else if (s.kind === 'untag' || s.kind === 'delete-image') {
            expect(protectedImages.has(s.image)).toBe(false);
          }
        }
      }),
      { numRuns: 400 }
    );
  });

  it('say why every selected reference that stays is kept', () => {
    fc.assert(
      fc.property(inventoryArb, policyArb, (inv, pol) => {
        const p = plan(inv, pol, NOW);
        const sel = pol.images.map((x) => compileImagePattern(x)!);
        const gone = new Set<string>([
          ...untagOnly(p),
          ...p.deleteImages.flatMap((i) => i.references)
        ]);
        const explained = new Set(p.skipped.map((s) => s.target));
        for (const img of inv.images) {
          for (const ref of img.tags) {
            if (!sel.some((m) => matchesReference(m, ref)) || gone.has(ref)) continue;
            expect(explained.has(ref) || explained.has(img.id)).toBe(true);
          }
        }
      }),
      { numRuns: 400 }
    );
  });
});

describe('plans with volumes', () => {
  it('never remove a volume a remaining container uses, and remove each only after its containers', () => {
    fc.assert(
      fc.property(inventoryArb, policyArb, (inv, pol) => {
        const p = plan(inv, pol, NOW);
        const removedContainers = new Set(p.removeContainers.map((c) => c.id as string));
        const byId = new Map(p.steps.map((s) => [s.id as string, s]));
        const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
          for (const d of byId.get(id)?.dependsOn ?? []) {
            if (!seen.has(d)) {
              seen.add(d);
              ancestors(d, seen);
            }
          }
          return seen;
        };
        for (const v of p.removeVolumes) {
          const users = inv.containers.filter((c) => c.volumes?.includes(v.name));
          for (const c of users) {
            expect([v.name, c.id, removedContainers.has(c.id)]).toEqual([v.name, c.id, true]);
            expect(ancestors(`volume:${v.name}`).has(`container:${c.id}`)).toBe(true);
          }
        }
      }),
      { numRuns: 400 }
    );
  });
});

/**
 * Legacy-builder families: trees of images under untagged parents, some tagged, some held by a
 * container. The states above seldom give two images that go under one untagged parent.
 */
const familyArb: fc.Arbitrary<Inventory> = fc
  .record({
    images: fc.array(
      fc.record({
        parent: fc.nat(),
        tag: fc.option(fc.constantFrom('app:1', 'app:2', 'lib/x:1', 'tool:latest'), {
          nil: undefined,
          freq: 2
        })
      }),
      { minLength: 2, maxLength: 12 }
    ),
    containers: fc.array(
      fc.record({
        image: fc.nat(),
        state: fc.constantFrom<ContainerState>('exited', 'created', 'running')
      }),
      { maxLength: 2 }
    )
  })
  .map(({ images, containers }) => {
    const taken = new Set<string>();
    const built = images.map((g, n): InventoryImage => {
      const tags = g.tag && !taken.has(g.tag) && taken.add(g.tag) ? [g.tag as Reference] : [];
      const img: InventoryImage = {
        id: `sha256:${id(n, 'f')}` as ImageId,
        tags,
        digests: [],
        created: NOW - 10 * DAY,
        size: 100 + n
      };
      if (n > 0) img.parent = `sha256:${id(g.parent % n, 'f')}` as ImageId;
      return img;
    });
    const cs = containers.map((c, n): InventoryContainer => ({
      id: id(n, 'c') as ContainerId,
      names: [`job-${n}`],
      image: built[c.image % built.length]!.id,
      state: c.state,
      created: NOW - 5 * DAY,
      startedAt: c.state === 'created' ? undefined : NOW - 5 * DAY,
      finishedAt: c.state === 'exited' ? NOW - 4 * DAY : undefined,
      labels: {},
      networks: []
    }));
    return { images: built, containers: cs };
  });

describe('plans on legacy-builder families', () => {
  it('never let two calls prune one parent at once, which dockerd answers with a refusal', async () => {
    await fc.assert(
      fc.asyncProperty(
        familyArb,
        fc.record({
          images: fc.constantFrom([], ['**'], ['app'], ['lib/*', 'tool']),
          dangling: fc.boolean(),
          containers: fc.constantFrom([], ['job-*'])
        }),
        fc.constantFrom(2, 8),
        async (inv, pol, concurrency) => {
          const p = plan(
            inv,
            policy({
              images: [...pol.images],
              dangling: pol.dangling,
              containers: [...pol.containers]
            }),
            NOW
          );
          const engine = new FakeEngine(inv, { unlockedPrune: true });
          const outcome = await execute(p, engine, { dryRun: false, concurrency });
          expect(outcome.results.filter((r) => r.status !== 'done')).toEqual([]);
          const after = engine.snapshot();
          expectPlannedImagesAndContainers(inv, p, after);
          const listed = new Set(outcome.results.flatMap(deletedBy));
          expect(p.deleteImages.map((i) => i.id).filter((i) => !listed.has(i))).toEqual([]);
        }
      ),
      { numRuns: 500 }
    );
  });
});
