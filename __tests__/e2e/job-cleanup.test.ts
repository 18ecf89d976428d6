// The post step, the runner's way: the bundle runs as main, the job's commands run, then the bundle
// runs as post with the STATE_* variables that main wrote to GITHUB_STATE.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildImage,
  buildKitBuild,
  busyboxImage,
  inventory,
  loadImages,
  runContainer,
  startEngine,
  startRegistry,
  type Engine,
  type Registry
} from '../harness/engine.mjs';
import { parseCommandFile, runAction, shiftLedger, type ActionRun } from '../harness/action.mjs';

const DAY = 86_400_000;

function api<T>(engine: Engine, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: engine.socket, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body || 'null') as T));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Everything job cleanup compares: images with references, containers, volumes, cache records. */
async function engineState(e: Engine) {
  const inv = await inventory(e);
  const df = await api<{
    Volumes: { Name: string }[] | null;
    BuildCache: { ID: string }[] | null;
  }>(e, '/system/df');
  return {
    images: inv.images.map((i) => `${i.id} ${[...i.tags, ...i.digests].sort().join(' ')}`).sort(),
    containers: inv.containers.map((c) => `${c.name} ${c.state}`).sort(),
    volumes: (df.Volumes ?? []).map((v) => v.Name).sort(),
    buildCache: (df.BuildCache ?? []).map((r) => r.ID).sort()
  };
}

const warnings = (r: ActionRun) => r.stdout.split('\n').filter((l) => l.startsWith('::warning::'));

describe('job cleanup', () => {
  let engine: Engine;
  let registry: Registry;
  beforeAll(async () => {
    [engine, registry] = await Promise.all([
      startEngine({ name: 'job-cleanup' }),
      startRegistry({ name: 'job-cleanup' })
    ]);
  }, 120_000);
  afterAll(async () => Promise.all([engine?.stop(), registry?.stop()]), 120_000);

  it('leaves the engine as the job found it, but for the container it left running and its image', async () => {
    // What was there before the job, and stays.
    await busyboxImage(engine, 'bb:latest');
    await loadImages(engine, [{ tags: ['base:1'], created: '2020-01-01T00:00:00Z' }]);
    await runContainer(engine, { image: 'bb:latest', name: 'pre-existing', state: 'exited' });
    await engine.docker(['volume', 'create', 'kept-data']);
    await buildKitBuild(engine, { tag: 'earlier:1', writes: [8192] });
    // An image in the registry for the job to pull.
    await buildImage(engine, { tag: `${registry.host}/job/pulled:1` });
    await engine.docker(['push', '-q', `${registry.host}/job/pulled:1`]);
    await engine.docker(['rmi', `${registry.host}/job/pulled:1`]);
    const before = await engineState(engine);

    const inputs = { 'job-cleanup': 'true', dangling: 'false' };
    const main = await runAction({ inputs, env: { DOCKER_HOST: engine.host }, tmpDir: engine.dir });
    expect(main.code).toBe(0);
    expect(await engineState(engine)).toEqual(before);
    const state = parseCommandFile(main.state);
    expect(state.snapshot).toMatch(/docker-reclaim-snapshot-.*\.json$/);
    // Only the path goes in the state: Linux bounds each environment variable.
    expect(main.state.length).toBeLessThan(1000);

    // The job: builds, a pull, a tag on an older image, containers, volumes, build cache.
    await buildImage(engine, { tag: 'job/app:ci' });
    const svc = await buildImage(engine, { tag: 'job/svc:ci', from: 'bb:latest' });
    await buildKitBuild(engine, { tag: 'job/bk:ci', writes: [16384, 4096] });
    await engine.docker(['pull', '-q', `${registry.host}/job/pulled:1`]);
    await engine.docker(['tag', 'base:1', 'base:job']);
    await runContainer(engine, {
      image: 'bb:latest',
      name: 'job-test',
      state: 'exited',
      args: ['-v', '/anon']
    });
    await runContainer(engine, { image: 'job/svc:ci', name: 'job-svc', state: 'running' });
    await engine.docker(['volume', 'create', 'job-vol']);
    const during = await engineState(engine);
    expect(during.buildCache.length).toBeGreaterThan(before.buildCache.length);

    const post = await runAction({
      inputs,
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir,
      after: main
    });
    expect(post.code).toBe(0);
    expect(warnings(post)).toEqual([]);
    const after = await engineState(engine);
    // As before, plus what the running container holds.
    const svcImage = after.images.find((i) => i.startsWith(svc));
    expect(svcImage).toBe(`${svc} job/svc:ci`);
    expect(after.images.filter((i) => i !== svcImage)).toEqual(before.images);
    expect(after.containers).toEqual([...before.containers, 'job-svc running'].sort());
    expect(after.volumes).toEqual(before.volumes);
    expect(after.buildCache).toEqual(before.buildCache);
    expect(post.summary).toContain('## docker-reclaim: job cleanup');
    expect(post.summary).toMatch(
      /The job added 4 images, 1 reference on older images, 2 containers, 2 volumes, \d+ build cache records\./
    );
    expect(post.summary).toContain(
      'Left running: container job-svc (running), which holds image job/svc:ci.'
    );
    // The post step cannot set outputs; its report says what it did.
    expect(post.outputs).toEqual({});
  });

  it('with dry-run, the post step only reports what it would remove', async () => {
    const inputs = { 'job-cleanup': 'true', dangling: 'false', 'dry-run': 'true' };
    const main = await runAction({ inputs, env: { DOCKER_HOST: engine.host }, tmpDir: engine.dir });
    await buildImage(engine, { tag: 'dry/app:ci' });
    const during = await engineState(engine);
    const post = await runAction({
      inputs,
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir,
      after: main
    });
    expect(post.code).toBe(0);
    expect(await engineState(engine)).toEqual(during);
    expect(post.summary).toContain('## docker-reclaim: job cleanup (dry run)');
    expect(post.summary).toContain('dry/app:ci');
    await engine.docker(['rmi', 'dry/app:ci']);
  });

  it('an engine that is gone by the end of the job is a warning, never a failure', async () => {
    const post = await runAction({
      inputs: { 'job-cleanup': 'true' },
      env: {
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        STATE_isPost: 'true',
        STATE_since: '1'
      },
      tmpDir: engine.dir
    });
    expect(post.code).toBe(0);
    expect(warnings(post)).toEqual([
      expect.stringMatching(
        /^::warning::Post step: nothing done\. Cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock/
      )
    ]);
  });

  it('without a snapshot (main did not get that far), says why and does nothing', async () => {
    const before = await engineState(engine);
    const post = await runAction({
      inputs: { 'job-cleanup': 'true' },
      env: { DOCKER_HOST: engine.host, STATE_isPost: 'true' },
      tmpDir: engine.dir
    });
    expect(post.code).toBe(0);
    expect(warnings(post)).toEqual([
      expect.stringContaining('Job cleanup skipped: the main step left no snapshot')
    ]);
    expect(await engineState(engine)).toEqual(before);
  });

  it('with job-cleanup off and no ledger, makes no engine call at all', async () => {
    const post = await runAction({
      inputs: {},
      // An engine that is not there: any call would fail.
      env: {
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
        STATE_isPost: 'true',
        STATE_since: '1'
      },
      tmpDir: engine.dir
    });
    expect(post.code).toBe(0);
    expect(post.stdout.trim()).toBe('');
  });
});

describe('remembering what the job used', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ name: 'usage' });
  }, 120_000);
  afterAll(async () => engine?.stop(), 120_000);

  it('a docker run --rm in a job keeps its image young for the next scheduled run’s last-used', async () => {
    const toolCache = await mkdtemp(join(engine.dir, 'tool-cache-'));
    const env = { DOCKER_HOST: engine.host, RUNNER_TOOL_CACHE: toolCache };
    const [tool, other] = await loadImages(engine, [
      { tags: ['tool:1'], created: '2020-01-01T00:00:00Z' },
      { tags: ['other:1'], created: '2020-01-01T00:00:00Z' }
    ]);
    // Both were seen a month ago, and the engine has restarted since.
    expect((await runAction({ inputs: { 'dry-run': 'true' }, env, tmpDir: engine.dir })).code).toBe(
      0
    );
    await shiftLedger(toolCache, -30 * DAY);
    await engine.restart();

    // A job that only runs a tool: record-usage is on by default where there is a ledger.
    const main = await runAction({ inputs: { dangling: 'false' }, env, tmpDir: engine.dir });
    expect(main.code).toBe(0);
    // The image has no program to start; its container is created and removed all the same.
    await engine.docker(['run', '--rm', '--network', 'none', 'tool:1', '/nothing'], {
      allowFail: true
    });
    expect((await inventory(engine)).containers).toEqual([]);
    const post = await runAction({
      inputs: { dangling: 'false' },
      env,
      tmpDir: engine.dir,
      after: main
    });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain('Recorded the use of 1 images');

    const scheduled = await runAction({
      inputs: { images: 'tool:*, other:*', 'older-than': '7d' },
      env,
      tmpDir: engine.dir
    });
    expect(scheduled.code).toBe(0);
    expect(JSON.parse(scheduled.outputs['deleted-images']!)).toEqual([other]);
    const kept = JSON.parse(scheduled.outputs.skipped!) as { target: string; reason: string }[];
    expect(kept).toContainEqual({
      target: 'tool:1',
      reason: expect.stringMatching(
        /^too young: \S+ since a job's container used it \(recorded by docker-reclaim\)/
      )
    });
    expect((await inventory(engine)).images.map((i) => i.id)).toEqual([tool]);
  });
});
