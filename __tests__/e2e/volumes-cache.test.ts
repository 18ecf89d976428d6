// The whole disk: anonymous and named volumes with data written into them, and BuildKit build cache
// made by Debian's 20.10 CLI, planned with the images, previewed, removed and measured.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import {
  buildImage,
  buildKitBuild,
  busyboxImage,
  resetEngine,
  runContainer,
  startEngine,
  startPodman,
  type Engine
} from '../harness/engine.mjs';
import { runAction, type ActionRun } from '../harness/action.mjs';

const KB = 1024;

/** A raw Engine API call on the private socket. */
function api<T>(engine: Engine, method: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: engine.socket, method, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body || 'null') as T));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Df {
  Volumes: { Name: string; UsageData: { Size: number } }[] | null;
  BuildCache: { ID: string; Shared: boolean; InUse: boolean; Size: number }[] | null;
}
const df = (e: Engine) => api<Df>(e, 'GET', '/system/df');
const volumeNames = async (e: Engine) => ((await df(e)).Volumes ?? []).map((v) => v.Name).sort();
const json = <T>(run: ActionRun, name: string): T => JSON.parse(run.outputs[name] ?? 'null') as T;
const skipped = (run: ActionRun) =>
  Object.fromEntries(
    json<{ target: string; reason: string }[]>(run, 'skipped').map((s) => [s.target, s.reason])
  );

/** Removes every volume too: resetEngine leaves them. */
async function resetAll(e: Engine): Promise<void> {
  await resetEngine(e);
  const names = await volumeNames(e);
  if (names.length) await e.docker(['volume', 'rm', ...names]);
  if (e.kind === 'docker') await e.docker(['builder', 'prune', '-a', '-f'], { allowFail: true });
}

/** The volume a container mounts at `path`. */
async function volumeAt(e: Engine, container: string, path: string): Promise<string> {
  const r = await e.docker(['inspect', '--format', '{{json .Mounts}}', container]);
  return (JSON.parse(r.stdout) as { Destination: string; Name: string }[]).find(
    (m) => m.Destination === path
  )!.Name;
}

const write = (path: string, kb: number) => [
  '/bin/busybox',
  'dd',
  'if=/dev/urandom',
  `of=${path}`,
  'bs=1024',
  `count=${kb}`
];

describe('volumes and build cache on dockerd', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ name: 'vol-cache' });
  }, 120_000);
  afterAll(async () => engine?.stop(), 120_000);
  beforeEach(async () => {
    await resetAll(engine);
    await busyboxImage(engine, 'bb:latest');
  }, 60_000);

  const reclaim = (inputs: Record<string, string>) =>
    runAction({ inputs, env: { DOCKER_HOST: engine.host }, tmpDir: engine.dir });

  /** An image that declares VOLUME /data, and containers of it that wrote into their volumes. */
  async function volumesState() {
    await buildImage(engine, { tag: 'vol/db:1', from: 'bb:latest', volume: '/data' });
    await runContainer(engine, {
      image: 'vol/db:1',
      name: 'job-1',
      state: 'exited',
      cmd: write('/data/f', 100)
    });
    await runContainer(engine, {
      image: 'vol/db:1',
      name: 'keep-job',
      state: 'exited',
      cmd: write('/data/f', 30)
    });
    await runContainer(engine, {
      image: 'vol/db:1',
      name: 'gone-job',
      state: 'exited',
      cmd: write('/data/f', 20)
    });
    const volumes = {
      removed: await volumeAt(engine, 'job-1', '/data'),
      excluded: await volumeAt(engine, 'keep-job', '/data'),
      orphan: await volumeAt(engine, 'gone-job', '/data')
    };
    // An earlier `docker rm` without -v leaves the volume behind.
    await engine.docker(['rm', 'gone-job']);
    return volumes;
  }

  it('anonymous volumes of removed containers and orphans go; an excluded container’s stays, with the reason', async () => {
    const v = await volumesState();
    const run = await reclaim({
      containers: '*-job*, job-*',
      exclude: 'keep-*',
      'anonymous-volumes': 'true'
    });
    expect(run.code).toBe(0);
    expect(json<string[]>(run, 'removed-volumes').sort()).toEqual([v.removed, v.orphan].sort());
    expect(await volumeNames(engine)).toEqual([v.excluded]);
    expect(skipped(run)[v.excluded]).toBe(
      'in use by container keep-job (exited), which stays: a volume goes only after every container that uses it'
    );
    expect(run.summary).toContain('### Removed volumes');
  });

  it('without anonymous-volumes, containers go and their volumes stay, and the summary says what is left', async () => {
    await volumesState();
    const run = await reclaim({ containers: 'job-*' });
    expect(run.code).toBe(0);
    expect(json<string[]>(run, 'removed-volumes')).toEqual([]);
    expect((await volumeNames(engine)).length).toBe(3);
    expect(run.summary).toMatch(
      /\*\*Left:\*\* .*2 anonymous volumes no container uses \([0-9.]+ kB, `anonymous-volumes: true`\)/
    );
  });

  it('named volumes go by pattern, and one a running container uses stays', async () => {
    for (const name of ['pr-1_db', 'pr-2_db', 'main_db'])
      await engine.docker(['volume', 'create', name]);
    await runContainer(engine, {
      image: 'bb:latest',
      name: 'pr-1-db',
      state: 'exited',
      args: ['-v', 'pr-1_db:/x'],
      cmd: write('/x/f', 50)
    });
    await runContainer(engine, {
      image: 'bb:latest',
      name: 'pr-2-db',
      state: 'running',
      args: ['-v', 'pr-2_db:/x']
    });
    const run = await reclaim({ volumes: 'pr-*', containers: 'pr-1-*' });
    expect(run.code).toBe(0);
    expect(json<string[]>(run, 'removed-volumes')).toEqual(['pr-1_db']);
    expect(await volumeNames(engine)).toEqual(['main_db', 'pr-2_db']);
    expect(skipped(run)['pr-2_db']).toMatch(/^in use by container pr-2-db \(running\)/);
  });

  /** Cache records from two builds: one image removed since (its records unshared), one kept. */
  async function cacheState() {
    await buildKitBuild(engine, { tag: 'bk/gone:1', writes: [64 * KB, 32 * KB] });
    await buildKitBuild(engine, { tag: 'bk/kept:1', writes: [16 * KB] });
    await engine.docker(['rmi', 'bk/gone:1']);
    const records = (await df(engine)).BuildCache ?? [];
    expect(records.some((r) => r.Shared)).toBe(true);
    expect(records.some((r) => !r.Shared && r.Size >= 64 * KB)).toBe(true);
    return records;
  }

  it('build-cache 0 prunes exactly the unused records no image shares; the shared ones stay, with the reason', async () => {
    const before = await cacheState();
    const run = await reclaim({ 'build-cache': '0' });
    expect(run.code).toBe(0);
    const after = (await df(engine)).BuildCache ?? [];
    const report = run.report as { plan: { pruneBuildCache: { id: string }[] } };
    const planned = report.plan.pruneBuildCache.map((r) => r.id).sort();
    expect(planned).toEqual(
      before
        .filter((r) => !r.Shared && !r.InUse)
        .map((r) => r.ID)
        .sort()
    );
    expect(after.map((r) => r.ID).sort()).toEqual(
      before
        .filter((r) => r.Shared)
        .map((r) => r.ID)
        .sort()
    );
    for (const r of after) {
      expect(skipped(run)[r.ID]).toMatch(/^shared with an image's layers/);
    }
    expect(run.summary).toMatch(/Build cache pruned: \d+ records?, /);
  });

  it('a dry run lists exactly what the real run removes, with the same bytes', async () => {
    await volumesState();
    await cacheState();
    const inputs = { containers: 'job-*', 'anonymous-volumes': 'true', 'build-cache': '0' };
    const dry = await reclaim({ ...inputs, 'dry-run': 'true' });
    const real = await reclaim(inputs);
    expect(dry.code).toBe(0);
    expect(real.code).toBe(0);
    for (const name of [
      'removed-volumes',
      'removed-containers',
      'deleted-images',
      'estimated-bytes'
    ]) {
      expect([name, dry.outputs[name]]).toEqual([name, real.outputs[name]]);
    }
    const cache = (r: ActionRun) =>
      (r.report as { outcome: { prunedBuildCache: { id: string }[] } }).outcome.prunedBuildCache
        .map((x) => x.id)
        .sort();
    expect(cache(dry)).toEqual(cache(real));
    expect(cache(real).length).toBeGreaterThan(0);
  });

  it('predicted = measured = the drop in /system/df, for volumes and build cache', async () => {
    await volumesState();
    await cacheState();
    const run = await reclaim({
      containers: 'job-*',
      'anonymous-volumes': 'true',
      'build-cache': '0'
    });
    expect(run.code).toBe(0);
    const estimated = Number(run.outputs['estimated-bytes']);
    const reclaimed = Number(run.outputs['reclaimed-bytes']);
    const space = (run.report as { space: { systemDfBytes: number } }).space;
    expect(estimated).toBeGreaterThan(150 * KB);
    expect(reclaimed).toBe(estimated);
    expect(space.systemDfBytes).toBe(estimated);
  });

  it('a default run removes none of it, and says what is left and which input would take it', async () => {
    await volumesState();
    await cacheState();
    await engine.docker(['volume', 'create', 'old-named']);
    const run = await reclaim({});
    expect(run.code).toBe(0);
    expect(json<string[]>(run, 'removed-volumes')).toEqual([]);
    expect(run.summary).toMatch(/\*\*Left:\*\* [0-9.]+ kB of build cache, /);
    expect(run.summary).toContain('`anonymous-volumes: true`');
    expect(run.summary).toContain('1 named volume no container uses');
  });
});

describe('volumes on Podman', () => {
  let podman: Engine;
  beforeAll(async () => {
    podman = await startPodman({ name: 'vol-podman' });
    await busyboxImage(podman, 'bb:latest');
  }, 120_000);
  afterAll(async () => podman?.stop(), 120_000);

  it('removes named and anonymous volumes after their containers, and says there is no build cache', async () => {
    await podman.docker(['volume', 'create', 'pr-1_db']);
    await runContainer(podman, {
      image: 'bb:latest',
      name: 'job-1',
      state: 'exited',
      args: ['-v', 'pr-1_db:/x', '-v', '/anon'],
      cmd: write('/x/f', 10)
    });
    const anonymous = await volumeAt(podman, 'job-1', '/anon');
    const run = await runAction({
      inputs: {
        containers: 'job-*',
        volumes: 'pr-*',
        'anonymous-volumes': 'true',
        'build-cache': '0'
      },
      env: { DOCKER_HOST: podman.host },
      tmpDir: podman.dir
    });
    expect(run.code).toBe(0);
    expect(json<string[]>(run, 'removed-volumes').sort()).toEqual([anonymous, 'pr-1_db'].sort());
    expect(await volumeNames(podman)).toEqual([]);
    expect(run.summary).toContain('it has no BuildKit build cache');
    expect(run.stdout).toContain('no BuildKit build cache on this engine');
  });
});
