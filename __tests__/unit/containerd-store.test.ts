// The planner and the executor against Docker 29's containerd image store, modelled in
// __fixtures__/containerd-engine.ts from moby's daemon/containerd/image_delete.go. That store
// cannot run here, so these are the fixture-level proof that plans made for the classic store also
// hold there: one `Deleted` per image and no layers, manifest digests as image IDs, deletes by name,
// stopped containers that refuse the last name, and 404s.
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { EngineError } from '../../src/engine/remove.js';
import { execute } from '../../src/execute.js';
import { plan } from '../../src/plan/planner.js';
import type {
  ContainerId,
  ContainerState,
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  Plan,
  Reference
} from '../../src/plan/types.js';
import { ContainerdEngine, familiar, normalizeName } from '../../__fixtures__/containerd-engine.js';
import { DAY, NOW, container, policy } from '../../__fixtures__/inventory.js';
import { expectPlannedImagesAndContainers } from '../../__fixtures__/end-state.js';
import { deletedBy, failures, fieldsOf } from '../../__fixtures__/outcome.js';
import { untagOnly } from '../../__fixtures__/plan.js';

// --- Images as this store names them.

/** The bytes of an OCI image manifest; `seed` makes its config and layer digests unique. */
function manifestBytes(seed: string): string {
  const d = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: d(`config ${seed}`),
      size: 2
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: d(`layer ${seed}`),
        size: 3
      }
    ]
  });
}

/** The image ID on this store: the digest of the manifest (or index) the names point at. */
const digestOf = (bytes: string) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}` as ImageId;

let seeds = 0;

/**
 * An image as Docker 29 lists it: `tags` are its names; `digests` are derived, one `repo@<id>` per
 * repository it has a name in; LastTagTime is set, pulled or not.
 */
function c8dImage(
  tags: string[],
  opts: { ageDays?: number; taggedDaysAgo?: number; manifest?: string } = {}
): InventoryImage {
  const id = digestOf(opts.manifest ?? manifestBytes(`image ${++seeds}`));
  const repos = [...new Set(tags.map((t) => familiar(normalizeName(t).repo)))];
  const created = NOW - (opts.ageDays ?? 30) * DAY;
  return {
    id,
    tags: tags as Reference[],
    digests: repos.map((r) => `${r}@${id}`) as Reference[],
    created,
    lastTagTime: opts.taggedDaysAgo === undefined ? created : NOW - opts.taggedDaysAgo * DAY,
    size: 1000
  };
}

const inv = (images: InventoryImage[], containers: InventoryContainer[] = []): Inventory => ({
  images,
  containers
});
const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const result = (o: Awaited<ReturnType<typeof execute>>, step: string) =>
  o.results.find((r) => r.step === step);

describe('on the containerd image store (Docker 29)', () => {
  describe('a delete answers one Untagged per name and one Deleted, with no layer entries', () => {
    it('the last tag of an image deletes it: the step records exactly the image ID as deleted', async () => {
      const a = c8dImage(['app:1']);
      const engine = new ContainerdEngine(inv([a]));
      const o = await execute(plan(inv([a]), policy({ images: ['app'] }), NOW), engine, {
        dryRun: false
      });
      expect(failures(o)).toBe(0);
      expect(result(o, 'untag:app:1')).toMatchObject({ status: 'done', deleted: [a.id] });
      expect(o.deletedImages.map((i) => i.id)).toEqual([a.id]);
      // The executor sends no delete by ID for an image its last untag deleted.
      expect(engine.calls).toEqual(['inspect app:1', 'rmi app:1']);
      expect(engine.snapshot().images).toEqual([]);
    });

    it('a name and a digest record of one repository go together: two Untagged, one Deleted', async () => {
      const a = c8dImage(['app:1']);
      const engine = new ContainerdEngine(
        inv([{ ...a, tags: ['app:1', `app@${a.id}`] as Reference[] }])
      );
      expect(await engine.removeImage('app:1')).toEqual({
        untagged: ['app:1', `app@${a.id}`],
        deleted: [a.id]
      });
    });
  });

  it('reports the manifest digest as the image ID: sha256: and the 64 hex of the manifest bytes', async () => {
    const manifest = manifestBytes('reported');
    const expected = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    const a = c8dImage(['app:1'], { manifest });
    const o = await execute(
      plan(inv([a]), policy({ images: ['app'] }), NOW),
      new ContainerdEngine(inv([a])),
      {
        dryRun: false
      }
    );
    // `deleted-images` is this list of IDs.
    const deleted = o.deletedImages.map((i) => i.id);
    expect(deleted).toEqual([expected]);
    expect(deleted[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  describe('images with several names are untagged by name', () => {
    it('every name goes by name, never by ID, and the last one deletes the image', async () => {
      const a = c8dImage(['app:1', 'app:2', 'lib/x:1']);
      const engine = new ContainerdEngine(inv([a]));
      const o = await execute(plan(inv([a]), policy({ images: ['**'] }), NOW), engine, {
        dryRun: false,
        concurrency: 1
      });
      expect(failures(o)).toBe(0);
      expect(engine.calls.filter((c) => c.startsWith('rmi')).sort()).toEqual([
        'rmi app:1',
        'rmi app:2',
        'rmi lib/x:1'
      ]);
      const deleting = o.results.filter((r) => deletedBy(r).length > 0);
      expect(deleting).toHaveLength(1);
      expect(deletedBy(deleting[0]!)).toEqual([a.id]);
      // The digests that `docker images` derives from the names go with them, and are listed.
      expect([...o.untagged].sort()).toEqual(
        ['app:1', 'app:2', `app@${a.id}`, 'lib/x:1', `lib/x@${a.id}`].sort()
      );
    });

    it('a delete by ID of such an image would be refused: "referenced in multiple repositories"', async () => {
      const a = c8dImage(['app:1', 'app:2']);
      await expect(new ContainerdEngine(inv([a])).removeImage(a.id)).rejects.toEqual(
        new EngineError(
          `conflict: unable to delete ${short(a.id)} (must be forced) - image is referenced in multiple repositories`,
          409
        )
      );
    });

    it('taking one of several names off an image a stopped container uses needs no container removal', async () => {
      const a = c8dImage(['app:1', 'app:2']);
      const c = container(a, 'exited');
      const p = plan(inv([a], [c]), policy({ images: ['app:1'] }), NOW);
      expect(p.steps.map((s) => s.id)).toEqual(['untag:app:1']);
      const engine = new ContainerdEngine(inv([a], [c]));
      const o = await execute(p, engine, { dryRun: false });
      expect(failures(o)).toBe(0);
      expect(result(o, 'untag:app:1')).toMatchObject({ status: 'done', deleted: [] });
      const after = engine.snapshot();
      expect(after.images.map((i) => i.tags)).toEqual([['app:2']]);
      expect(after.containers.map((x) => x.id)).toEqual([c.id]);
    });
  });

  describe('a container holds its image', () => {
    it('the last name of an image a stopped container uses is refused: 409, "(must be forced)"', async () => {
      const a = c8dImage(['app:1']);
      const c = container(a, 'exited');
      await expect(new ContainerdEngine(inv([a], [c])).removeImage('app:1')).rejects.toEqual(
        new EngineError(
          `conflict: unable to delete app:1 (must be forced) - container ${short(c.id)} is using its referenced image ${short(a.id)}`,
          409
        )
      );
    });

    it('a plan that does not remove that container first fails with that 409 and blocks the delete', async () => {
      const a = c8dImage(['app:1']);
      const c = container(a, 'exited');
      const p = plan(inv([a], [c]), policy({ images: ['app'] }), NOW);
      const withoutContainer: Plan = {
        ...p,
        steps: p.steps
          .filter((s) => s.kind !== 'remove-container')
          .map((s) => ({ ...s, dependsOn: s.dependsOn.filter((d) => !d.startsWith('container:')) }))
      };
      const engine = new ContainerdEngine(inv([a], [c]));
      const o = await execute(withoutContainer, engine, { dryRun: false });
      expect(result(o, 'untag:app:1')).toMatchObject({
        status: 'failed',
        httpStatus: 409,
        message: expect.stringContaining('(must be forced) - container')
      });
      expect(result(o, `image:${a.id}`)).toMatchObject({ status: 'blocked' });
      expect(engine.snapshot().images.map((i) => i.id)).toEqual([a.id]);
    });

    it('the plan removes the stopped container before the last name, so nothing is refused', async () => {
      const a = c8dImage(['app:1']);
      const c = container(a, 'exited');
      const p = plan(inv([a], [c]), policy({ images: ['app'] }), NOW);
      expect(p.steps.find((s) => s.id === 'untag:app:1')!.dependsOn).toContain(`container:${c.id}`);
      const engine = new ContainerdEngine(inv([a], [c]));
      const o = await execute(p, engine, { dryRun: false });
      expect(failures(o)).toBe(0);
      expect(engine.calls).toEqual([`rm ${c.id}`, 'inspect app:1', 'rmi app:1']);
      expect(engine.snapshot()).toMatchObject({ images: [], containers: [] });
    });

    it('a dangling image is deleted by ID, refused while a stopped container uses it, and the plan removes that container first', async () => {
      const d = c8dImage([]);
      const c = container(d, 'exited', { names: ['job-1'] });
      await expect(new ContainerdEngine(inv([d], [c])).removeImage(d.id)).rejects.toEqual(
        new EngineError(
          `conflict: unable to delete ${short(d.id)} (must be forced) - image is being used by stopped container ${short(c.id)}`,
          409
        )
      );
      const engine = new ContainerdEngine(inv([d], [c]));
      const p = plan(inv([d], [c]), policy({ dangling: true, containers: ['job-*'] }), NOW);
      const o = await execute(p, engine, { dryRun: false });
      expect(failures(o)).toBe(0);
      expect(engine.calls).toEqual([`rm ${c.id}`, `inspect ${d.id}`, `rmi ${d.id}`]);
      expect(result(o, `image:${d.id}`)).toMatchObject({ status: 'done', deleted: [d.id] });
    });

    it('an image a running container uses gets no step: its last name would be refused as "(must be forced)" too', async () => {
      const a = c8dImage(['app:1']);
      const c = container(a, 'running');
      const p = plan(inv([a], [c]), policy({ images: ['app'] }), NOW);
      expect(p.steps).toEqual([]);
      expect(p.skipped).toContainEqual({
        target: 'app:1',
        reason: { kind: 'in-use-by-running-container', container: c.names[0], state: 'running' }
      });
      // This store checks any container (running or not) before the last name, with one message.
      await expect(new ContainerdEngine(inv([a], [c])).removeImage('app:1')).rejects.toMatchObject({
        status: 409,
        message: expect.stringContaining(`(must be forced) - container ${short(c.id)} is using`)
      });
    });
  });

  describe('404: already gone', () => {
    it('an image someone else deleted counts as gone, not as a failure', async () => {
      const a = c8dImage(['app:1', 'app:2']);
      const engine = new ContainerdEngine(inv([a]));
      const p = plan(inv([a]), policy({ images: ['app'] }), NOW);
      const o = await execute(p, engine, {
        dryRun: false,
        beforeExecute: async () => {
          engine.records.clear();
          engine.content.clear();
        }
      });
      expect(failures(o)).toBe(0);
      expect(o.results.map((r) => r.status)).toEqual(['gone', 'gone', 'gone']);
      expect(o.results.every((r) => fieldsOf(r).httpStatus === 404)).toBe(true);
    });

    it('a name someone else removed first is gone, and the last name still deletes the image', async () => {
      const a = c8dImage(['app:1', 'app:2']);
      const engine = new ContainerdEngine(inv([a]));
      const p = plan(inv([a]), policy({ images: ['app'] }), NOW);
      const o = await execute(p, engine, {
        dryRun: false,
        concurrency: 1,
        beforeExecute: async () => {
          await engine.removeImage('app:1');
        }
      });
      expect(failures(o)).toBe(0);
      expect(result(o, 'untag:app:1')).toMatchObject({
        status: 'gone',
        message: 'app:1 no longer exists'
      });
      expect(result(o, 'untag:app:2')).toMatchObject({ status: 'done', deleted: [a.id] });
      expect(engine.snapshot().images).toEqual([]);
    });

    it('a container someone else removed is gone, and its image is still deleted', async () => {
      const a = c8dImage(['app:1']);
      const c = container(a, 'exited');
      const engine = new ContainerdEngine(inv([a], [c]));
      const o = await execute(plan(inv([a], [c]), policy({ images: ['app'] }), NOW), engine, {
        dryRun: false,
        beforeExecute: async () => {
          engine.containers.delete(c.id);
        }
      });
      expect(failures(o)).toBe(0);
      expect(result(o, `container:${c.id}`)).toMatchObject({ status: 'gone', httpStatus: 404 });
      expect(o.deletedImages.map((i) => i.id)).toEqual([a.id]);
    });
  });

  describe('digest-named records (an image pulled by digest)', () => {
    // Docker 29 lists every record name under RepoTags, so `app@sha256:…` of an image pulled by
    // digest shows up as a "tag" there as well as under RepoDigests (image_list.go Images). The
    // engine removes such a record with the last tag of its repository (getSameReferences).
    const pulledTwice = () => {
      const a = c8dImage(['app:1']);
      return { ...a, tags: ['app:1', `app@${a.id}`] as Reference[] };
    };

    it('planned as a digest (RepoDigests only), it goes with the last tag after the container, and nothing is refused', async () => {
      const a = pulledTwice();
      const c = container(a, 'exited');
      const listed = { ...a, tags: ['app:1'] as Reference[] };
      const p = plan(inv([listed], [c]), policy({ images: ['app:*'] }), NOW);
      expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
      const engine = new ContainerdEngine(inv([a], [c]));
      const o = await execute(p, engine, { dryRun: false });
      expect(failures(o)).toBe(0);
      expect(result(o, 'untag:app:1')).toMatchObject({ status: 'done', deleted: [a.id] });
      expect(engine.snapshot()).toMatchObject({ images: [], containers: [] });
    });

    it('planned as a tag (as RepoTags lists it), the untag of app:1 alone is refused by a stopped container the plan keeps', async () => {
      const a = pulledTwice();
      const c = container(a, 'exited');
      const p = plan(inv([a], [c]), policy({ images: ['app:*'] }), NOW);
      // The planner believes `app@sha256:…` stays, so app:1 looks like one of several names.
      expect(p.steps.map((s) => s.id)).toEqual(['untag:app:1']);
      const o = await execute(p, new ContainerdEngine(inv([a], [c])), { dryRun: false });
      expect(result(o, 'untag:app:1')).toMatchObject({
        status: 'failed',
        httpStatus: 409,
        message: `conflict: unable to delete app:1 (must be forced) - container ${short(c.id)} is using its referenced image ${short(a.id)}`
      });
    });
  });

  it('measures `tagged` age from the pull, since this store sets LastTagTime on pull as well', () => {
    // image_inspect.go: LastTagTime is the latest UpdatedAt of the image's records; a pull
    // creates a record, so a 100-day-old build pulled yesterday is one day old by `tagged`.
    const a = c8dImage(['base:1'], { ageDays: 100, taggedDaysAgo: 1 });
    const listed = new ContainerdEngine(inv([a])).snapshot();
    expect(listed.images[0]!.lastTagTime).toBe(NOW - DAY);
    const p = plan(
      listed,
      policy({ images: ['base'], olderThanMs: 7 * DAY, ageBasis: 'tagged' }),
      NOW
    );
    expect(p.steps).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: 'base:1',
      reason: {
        kind: 'too-young',
        ageMs: DAY,
        minMs: 7 * DAY,
        basis: 'tagged',
        record: { kind: 'tag-time' }
      }
    });
  });
});

// --- Generated states: what plan-properties.test.ts checks against the classic store.

const REPOS = ['app', 'lib/x', 'base', 'ghcr.io/o/tool', 'localhost:5000/pod'];
const TAGS = ['1', '2', 'latest'];
// Stopped states twice as often: they are what makes order matter.
const STATES: ContainerState[] = [
  'created',
  'exited',
  'dead',
  'exited',
  'created',
  'dead',
  'running',
  'paused',
  'restarting'
];
const PATTERNS = [
  '**',
  'app',
  'app:*',
  'app:1',
  'lib/*',
  'base',
  'ghcr.io/**',
  '*:latest',
  'docker.io/library/*'
];
const NAMES = ['job-1', 'job-2', 'web', 'db'];

/** Docker 29 states: manifest-digest IDs, names in familiar form, derived digests, no parents. */
const inventoryArb: fc.Arbitrary<Inventory> = fc
  .record({
    images: fc.array(
      fc.record({
        refs: fc.uniqueArray(fc.tuple(fc.constantFrom(...REPOS), fc.constantFrom(...TAGS)), {
          maxLength: 3
        }),
        createdDaysAgo: fc.integer({ min: 0, max: 100 }),
        taggedDaysAgo: fc.integer({ min: 0, max: 100 })
      }),
      { minLength: 1, maxLength: 8 }
    ),
    containers: fc.array(
      fc.record({
        image: fc.nat(),
        state: fc.constantFrom(...STATES),
        name: fc.constantFrom(...NAMES),
        runner: fc.boolean(),
        stoppedDaysAgo: fc.integer({ min: 0, max: 30 })
      }),
      { maxLength: 6 }
    )
  })
  .map(({ images, containers }) => {
    const taken = new Set<string>();
    const built: InventoryImage[] = images.map((g, n) => {
      // A name points at one image at a time.
      const tags = g.refs.map(([r, t]) => `${r}:${t}`).filter((r) => !taken.has(r) && taken.add(r));
      const img = c8dImage(tags, {
        ageDays: g.createdDaysAgo,
        taggedDaysAgo: g.taggedDaysAgo,
        manifest: manifestBytes(`generated ${n}`)
      });
      return img;
    });
    const names = new Set<string>();
    const cs: InventoryContainer[] = containers.map((c, n) => {
      const name = names.has(c.name) ? `${c.name}-${n}` : c.name;
      names.add(name);
      const stopped = NOW - c.stoppedDaysAgo * DAY;
      return {
        id: createHash('sha256').update(`container ${n}`).digest('hex') as ContainerId,
        names: [name],
        image: built[c.image % built.length]!.id,
        state: c.state,
        created: stopped - DAY,
        startedAt: c.state === 'created' ? undefined : stopped - DAY,
        finishedAt: ['exited', 'dead'].includes(c.state) ? stopped : undefined,
        labels: (c.runner ? { abc123: '' } : {}) as Record<string, string>,
        networks: []
      };
    });
    return { images: built, containers: cs };
  });

const policyArb = fc
  .record({
    images: fc.oneof(
      { arbitrary: fc.subarray(PATTERNS, { minLength: 1 }), weight: 4 },
      { arbitrary: fc.constant<string[]>([]), weight: 1 }
    ),
    exclude: fc.oneof(fc.constant<string[]>([]), fc.subarray([...PATTERNS, ...NAMES, 'job-*'])),
    olderThanMs: fc.constantFrom(0, 0, 5 * DAY, 50 * DAY),
    ageBasis: fc.constantFrom('created' as const, 'tagged' as const, 'last-used' as const),
    keepLatest: fc.integer({ min: 0, max: 2 }),
    dangling: fc.boolean(),
    containers: fc.subarray(['*', 'job-*', 'web']),
    containersOlderThanMs: fc.constantFrom(0, 0, 2 * DAY, 20 * DAY)
  })
  .map((p) => policy(p));

describe('plans on generated containerd-store states', () => {
  it('run without a single refusal and end exactly in the predicted state', async () => {
    await fc.assert(
      fc.asyncProperty(
        inventoryArb,
        policyArb,
        fc.constantFrom(1, 8),
        async (inv, pol, concurrency) => {
          const p = plan(inv, pol, NOW);
          const engine = new ContainerdEngine(inv);
          const outcome = await execute(p, engine, { dryRun: false, concurrency });
          expect(outcome.results.filter((r) => r.status !== 'done' && r.status !== 'gone')).toEqual(
            []
          );

          // Every answer lists at most one deleted ID, the image of its own step: no layers, no
          // parents.
          for (const r of outcome.results) {
            const s = p.steps.find((x) => x.id === r.step)!;
            const ids = deletedBy(r);
            expect(ids.length).toBeLessThanOrEqual(1);
            if (s.kind === 'untag' || s.kind === 'delete-image')
              expect(ids.filter((d) => d !== s.image)).toEqual([]);
          }

          const after = engine.snapshot();

          expectPlannedImagesAndContainers(inv, p, after);
          // Names left on surviving images: all but the planned untags.
          const untagged = new Set<string>(untagOnly(p));
          for (const img of after.images) {
            const before = inv.images.find((i) => i.id === img.id)!;
            expect([...img.tags].sort()).toEqual(
              before.tags.filter((t) => !untagged.has(t)).sort()
            );
          }
        }
      ),
      { numRuns: 1000 }
    );
  });
});
