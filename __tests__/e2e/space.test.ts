// Bytes freed, predicted and measured, against `docker ... prune` on a twin engine; and until-free
// on an engine whose data root is a small filesystem of its own.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { statfsSync } from 'node:fs';
import {
  buildImage,
  busyboxImage,
  inventory,
  loadImages,
  runContainer,
  startEngine,
  type Engine
} from '../harness/engine.mjs';
import { runAction, type ActionRun } from '../harness/action.mjs';

/** A raw Engine API call on the private socket: the CLI rounds prune's figures. */
function api(engine: Engine, method: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: engine.socket, method, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body || 'null')));
    });
    req.on('error', reject);
    req.end();
  });
}

const reclaim = (engine: Engine, inputs: Record<string, string>) =>
  runAction({ inputs, env: { DOCKER_HOST: engine.host }, tmpDir: engine.dir });
const bytesOut = (run: ActionRun, name: string) => Number(run.outputs[name]);
const report = (run: ActionRun) =>
  run.report as { space: { systemDfBytes?: number; measuredFrom?: string } };

describe('reclaimed bytes', () => {
  let twins: [Engine, Engine];
  beforeAll(async () => {
    twins = (await Promise.all([
      startEngine({ name: 'space-a' }),
      startEngine({ name: 'space-b' })
    ])) as [Engine, Engine];
  }, 120_000);
  afterAll(async () => Promise.all((twins ?? []).map((e) => e?.stop())));

  it('predicted = measured = prune’s SpaceReclaimed on a twin, to the byte', async () => {
    const [a, b] = twins;
    // Shared bases, own layers of different sizes, a dangling image: one archive, both engines.
    await loadImages(twins, [
      { tags: ['web:1'], created: '2020-01-01T00:00:00Z', sharedBase: 'os', bytes: 200_000 },
      {
        tags: ['web:2', 'other/web:2'],
        created: '2021-01-01T00:00:00Z',
        sharedBase: 'os',
        bytes: 70_000
      },
      { tags: ['api:1'], created: '2021-06-01T00:00:00Z', sharedBase: 'os', bytes: 30_000 },
      { tags: ['tool:1'], created: '2019-01-01T00:00:00Z', sharedBase: 'rt', bytes: 120_000 },
      { tags: ['tool:2'], created: '2019-02-01T00:00:00Z', sharedBase: 'rt', bytes: 90_000 },
      { tags: ['solo:1'], created: '2018-01-01T00:00:00Z', bytes: 50_000 },
      { tags: [], created: '2017-01-01T00:00:00Z', bytes: 40_000 }
    ]);
    // Stopped containers with files written into their writable layers.
    for (const e of twins) {
      await busyboxImage(e, 'bb:1');
      for (const [name, size] of [
        ['writer-1', 300_000],
        ['writer-2', 12_345]
      ] as const) {
        await runContainer(e, {
          image: 'bb:1',
          name,
          state: 'exited',
          cmd: ['/bin/busybox', 'sh', '-c', `/bin/busybox head -c ${size} /dev/urandom > /blob`]
        });
      }
    }

    const run = await reclaim(a, { images: '**', containers: '*', dangling: 'true' });
    expect(run.code).toBe(0);
    const predicted = bytesOut(run, 'estimated-bytes');
    const measured = bytesOut(run, 'reclaimed-bytes');
    expect((await inventory(a)).images).toEqual([]);

    const containers = (await api(b, 'POST', '/containers/prune')) as { SpaceReclaimed: number };
    const images = (await api(
      b,
      'POST',
      `/images/prune?filters=${encodeURIComponent('{"dangling":["false"]}')}`
    )) as { SpaceReclaimed: number };
    expect((await inventory(b)).images).toEqual([]);
    const prune = containers.SpaceReclaimed + images.SpaceReclaimed;

    expect(predicted).toBeGreaterThan(800_000);
    expect({ predicted, measured, prune }).toEqual({
      predicted,
      measured: predicted,
      prune: predicted
    });
    expect(report(run).space.measuredFrom).toBe('delete-responses');
    expect(report(run).space.systemDfBytes).toBe(predicted);
    expect(run.summary).toMatch(/Reclaimed [\d.]+ [kMG]?B \(predicted/);
  });

  it('an image that only loses a tag frees nothing, predicted or measured', async () => {
    const [a] = twins;
    await buildImage(a, { tag: 'keep/x:1', extraTags: ['lose/x:1'], bytes: 100_000 });
    const dry = await reclaim(a, { images: 'lose/**', 'dry-run': 'true' });
    const real = await reclaim(a, { images: 'lose/**' });
    expect([dry.outputs['estimated-bytes'], dry.outputs['reclaimed-bytes']]).toEqual(['0', '0']);
    expect([real.outputs['estimated-bytes'], real.outputs['reclaimed-bytes']]).toEqual(['0', '0']);
    expect(JSON.parse(real.outputs['untagged']!)).toEqual(['lose/x:1']);
  });

  it('a dry run predicts what the real run then measures', async () => {
    const [a] = twins;
    await loadImages(a, [
      { tags: ['p:1'], created: '2020-01-01T00:00:00Z', sharedBase: 'p', bytes: 64_000 },
      { tags: ['p:2'], created: '2020-01-01T00:00:00Z', sharedBase: 'p', bytes: 32_000 }
    ]);
    const dry = await reclaim(a, { images: 'p', 'dry-run': 'true' });
    const real = await reclaim(a, { images: 'p' });
    expect(bytesOut(dry, 'reclaimed-bytes')).toBe(bytesOut(dry, 'estimated-bytes'));
    expect(bytesOut(real, 'reclaimed-bytes')).toBe(bytesOut(dry, 'estimated-bytes'));
    expect(dry.summary).toContain('Would reclaim');
  });
});

describe('until-free on a small data root', () => {
  let engine: Engine;
  let ids: string[];
  const MB = 1_000_000;
  const free = () => {
    const s = statfsSync(engine.dataRoot);
    return s.bavail * s.bsize;
  };

  beforeAll(async () => {
    engine = await startEngine({ name: 'until-free', dataSize: '128m' });
    // Four images of 4 MB each, least recently used first by creation date.
    ids = await loadImages(engine, [
      { tags: ['lru/a:1'], created: '2019-01-01T00:00:00Z', bytes: 4 * MB },
      { tags: ['lru/b:1'], created: '2020-01-01T00:00:00Z', bytes: 4 * MB },
      { tags: ['lru/c:1'], created: '2021-01-01T00:00:00Z', bytes: 4 * MB },
      { tags: ['lru/d:1'], created: '2022-01-01T00:00:00Z', bytes: 4 * MB }
    ]);
  }, 120_000);
  afterAll(async () => engine?.stop());

  it('a target already met removes nothing and says so', async () => {
    const run = await reclaim(engine, { images: 'lru/**', 'until-free': `${free() - MB}B` });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs['deleted-images']!)).toEqual([]);
    expect((await inventory(engine)).images).toHaveLength(4);
    expect(run.summary).toMatch(/already had .* free/);
  });

  it('a target just above the free space removes the fewest least recently used images', async () => {
    const target = free() + 5 * MB; // more than one image frees, less than two
    const run = await reclaim(engine, { images: 'lru/**', 'until-free': `${target}B` });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs['deleted-images']!).sort()).toEqual([ids[0], ids[1]].sort());
    expect((await inventory(engine)).images.map((i) => i.tags[0]).sort()).toEqual([
      'lru/c:1',
      'lru/d:1'
    ]);
    expect(free()).toBeGreaterThanOrEqual(target);
  });

  it('a percentage is of the disk’s size', async () => {
    const s = statfsSync(engine.dataRoot);
    const total = s.blocks * s.bsize;
    const percent = Math.ceil(((free() + MB) / total) * 100);
    const dry = await reclaim(engine, {
      images: 'lru/**',
      'until-free': `${percent}%`,
      'dry-run': 'true'
    });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.outputs['deleted-images']!)).toEqual([ids[2]]);
  });
});
