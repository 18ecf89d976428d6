// Pulled images as Docker sees them: a private registry (Debian's docker-registry on 127.0.0.1),
// real `docker push` from one private engine and `docker pull` into others. Digest-only images are
// dangling, ages count from the pull, and the ledger remembers what the engine forgets.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  inventory,
  loadImages,
  resetEngine,
  startEngine,
  startPodman,
  startRegistry,
  type Engine,
  type Inventory,
  type Registry
} from '../harness/engine.mjs';
import { runAction, shiftLedger, type ActionRun } from '../harness/action.mjs';

const json = (run: ActionRun, name: string): unknown => JSON.parse(run.outputs[name] ?? 'null');
const skipped = (run: ActionRun) =>
  Object.fromEntries(
    (json(run, 'skipped') as { target: string; reason: string }[]).map((s) => [s.target, s.reason])
  );
/** What an engine holds, as comparable across twins: every image ID with its references. */
const holdings = (inv: Inventory) =>
  inv.images.map((i) => `${i.id} ${[...i.tags, ...i.digests].sort().join(' ')}`).sort();

let registry: Registry;
let source: Engine;
/** The images the source engine made, by name: each a loaded image with a chosen build date. */
const made: Record<string, { id: string; digest: string }> = {};

const r = (path: string) => `${registry.host}/pulls/${path}`;

/** Makes an image with a build date on the source engine, kept there under a name of its own. */
async function make(key: string, created: string): Promise<void> {
  const [id] = await loadImages(source, [{ tags: [`made/${key}:1`], created }]);
  made[key] = { id: id!, digest: '' };
}

/** Makes `ref` in the registry name the image `key`, as a build-and-push would. */
async function publish(ref: string, key: string): Promise<void> {
  await source.docker(['tag', `made/${key}:1`, ref]);
  await source.docker(['push', '-q', ref]);
  const inspect = await source.docker([
    'image',
    'inspect',
    '--format',
    '{{json .RepoDigests}}',
    ref
  ]);
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  const digest = (JSON.parse(inspect.stdout) as string[]).find((d) => d.startsWith(`${repo}@`))!;
  made[key]!.digest = digest.slice(digest.indexOf('@') + 1);
}

beforeAll(async () => {
  [registry, source] = await Promise.all([
    startRegistry({ name: 'pulls' }),
    startEngine({ name: 'pulls-src' })
  ]);
  await make('x', '2019-01-01T00:00:00Z');
  await make('y', '2022-01-01T00:00:00Z');
  await make('tool', '2020-01-01T00:00:00Z');
  await make('old', '2019-06-01T00:00:00Z');
  await make('repro', '1970-01-01T00:00:00Z');
  await make('twin', '2021-01-01T00:00:00Z');
  await make('other', '2022-02-01T00:00:00Z');
  await publish(r('tool:1'), 'tool');
  await publish(r('old:1'), 'old');
  await publish(r('repro:1'), 'repro');
}, 180_000);
afterAll(async () => Promise.all([registry?.stop(), source?.stop()]), 120_000);

/**
 * The same pulls on every engine given. X arrives as app:1 and is left digest-only when a rebuild
 * moves app:1 to Y; tool arrives by digest only; old (built 2019) and repro (1970) arrive tagged;
 * the twin image arrives under two repositories, and both its tags move on too, so its digests are
 * in two repositories.
 */
async function pullEverything(engine: Engine): Promise<void> {
  const pull = (ref: string) => engine.docker(['pull', '-q', ref]);
  await publish(r('app:1'), 'x');
  await pull(r('app:1'));
  await publish(r('one:1'), 'twin');
  await publish(r('two:1'), 'twin');
  await pull(r('one:1'));
  await pull(r('two:1'));
  await pull(r(`tool@${made.tool!.digest}`));
  await pull(r('old:1'));
  await pull(r('repro:1'));
  await publish(r('app:1'), 'y');
  await publish(r('one:1'), 'other');
  await publish(r('two:1'), 'other');
  for (const ref of ['app:1', 'one:1', 'two:1']) await pull(r(ref));
}

describe('on dockerd, against docker image prune on a twin', () => {
  let twins: [Engine, Engine];
  beforeAll(async () => {
    twins = (await Promise.all([
      startEngine({ name: 'pulls-a' }),
      startEngine({ name: 'pulls-b' })
    ])) as [Engine, Engine];
  }, 120_000);
  afterAll(async () => Promise.all((twins ?? []).map((e) => e?.stop())), 120_000);

  const fill = async () => {
    for (const e of twins) {
      await resetEngine(e);
      await pullEverything(e);
    }
  };

  it('a moved tag and a pull by digest leave digest-only images, which Docker lists as dangling', async () => {
    await fill();
    const [a] = twins;
    const dangling = (await a.docker(['images', '-q', '--no-trunc', '-f', 'dangling=true'])).stdout;
    const listed = new Set(dangling.split('\n').filter(Boolean));
    expect(listed).toEqual(new Set([made.x!.id, made.tool!.id, made.twin!.id]));
    const x = (await inventory(a)).images.find((i) => i.id === made.x!.id)!;
    expect(x.tags).toEqual([]);
    expect(x.digests).toEqual([r(`app@${made.x!.digest}`)]);
  });

  it('the default run removes exactly what docker image prune -f removes', async () => {
    await fill();
    const [a, b] = twins;
    const run = await runAction({ env: { DOCKER_HOST: a.host }, tmpDir: a.dir });
    expect(run.code).toBe(0);
    await b.docker(['image', 'prune', '-f']);
    expect(holdings(await inventory(a))).toEqual(holdings(await inventory(b)));
    expect((json(run, 'deleted-images') as string[]).sort()).toEqual(
      [made.x!.id, made.tool!.id, made.twin!.id].sort()
    );
    // Every reference that went, the digests of the twin's two repositories included.
    expect((json(run, 'untagged') as string[]).sort()).toEqual(
      [
        r(`app@${made.x!.digest}`),
        r(`tool@${made.tool!.digest}`),
        r(`one@${made.twin!.digest}`),
        r(`two@${made.twin!.digest}`)
      ].sort()
    );
  });

  it('images: ** removes exactly what docker image prune -a -f removes', async () => {
    await fill();
    const [a, b] = twins;
    const run = await runAction({
      inputs: { images: '**' },
      env: { DOCKER_HOST: a.host },
      tmpDir: a.dir
    });
    expect(run.code).toBe(0);
    // dockerd's event feed vouches for the references (Podman's cannot, below).
    expect(run.stdout).toContain("Reference checks: the engine's event feed");
    await b.docker(['image', 'prune', '-a', '-f']);
    expect(holdings(await inventory(a))).toEqual(holdings(await inventory(b)));
    expect((await inventory(a)).images).toEqual([]);
    // A tag's digest goes with it, and is listed with it.
    const untagged = json(run, 'untagged') as string[];
    expect(untagged).toEqual(expect.arrayContaining([r('old:1'), r(`old@${made.old!.digest}`)]));
  });
});

describe('ages of pulled images on dockerd', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ name: 'pulls-age' });
  }, 120_000);
  afterAll(async () => engine?.stop(), 120_000);

  const reclaim = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runAction({
      inputs: { images: `${registry.host}/pulls/**`, 'older-than': '7d', ...inputs },
      env: { DOCKER_HOST: engine.host, ...env },
      tmpDir: engine.dir
    });

  it.each(['tagged', 'last-used'])(
    'under %s, images built in 2019 and in 1970 and pulled now are minutes old, by the pull event',
    async (basis) => {
      await resetEngine(engine);
      await pullEverything(engine);
      const run = await reclaim({ 'age-basis': basis });
      expect(run.code).toBe(0);
      expect(json(run, 'deleted-images')).toEqual([]);
      const why = skipped(run);
      expect(why[r('old:1')]).toMatch(
        /^too young: \S+ since it was pulled \(events\), minimum 7d$/
      );
      expect(why[r('repro:1')]).toMatch(/since it was pulled \(events\)/);
    }
  );

  it('under created, the build date decides: 2019 and 1970 are simply old', async () => {
    await resetEngine(engine);
    await pullEverything(engine);
    const run = await reclaim({ 'age-basis': 'created' });
    expect(run.code).toBe(0);
    expect(json(run, 'deleted-images')).toEqual(
      expect.arrayContaining([made.old!.id, made.repro!.id])
    );
  });

  it('the ledger keeps arrivals across runs and an engine restart, and ages them as time passes', async () => {
    await resetEngine(engine);
    await pullEverything(engine);
    const toolCache = join(engine.dir, 'tool-cache');
    const env = { RUNNER_TOOL_CACHE: toolCache };
    const first = await reclaim({}, env);
    expect(first.code).toBe(0);
    const dir = join(toolCache, 'docker-reclaim');
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const ledger = JSON.parse(readFileSync(join(dir, file!), 'utf8'));
    expect(ledger.images[made.old!.id].arrived.action).toBe('pull');

    // A restart empties the engine's event buffer: only the ledger still knows.
    await engine.restart();
    const second = await reclaim({}, env);
    expect(second.code).toBe(0);
    expect(json(second, 'deleted-images')).toEqual([]);
    expect(skipped(second)[r('old:1')]).toMatch(
      /since it was pulled \(events, kept by an earlier run\)/
    );

    // Ten days pass, and old:1 is old enough now.
    await shiftLedger(toolCache, -10 * 86_400_000);
    await engine.restart();
    const third = await reclaim({ images: r('old:*'), dangling: 'false' }, env);
    expect(third.code).toBe(0);
    expect(json(third, 'deleted-images')).toEqual([made.old!.id]);
    // The ledger forgets the image it saw go.
    const after = JSON.parse(readFileSync(join(dir, file!), 'utf8'));
    expect(Object.keys(after.images)).not.toContain(made.old!.id);
    expect(Object.keys(after.images)).toContain(made.repro!.id);
  });

  it('with no ledger and a restarted engine, an image counts from when docker-reclaim first sees it', async () => {
    await resetEngine(engine);
    await pullEverything(engine);
    await engine.restart();
    const run = await reclaim({});
    expect(run.code).toBe(0);
    expect(json(run, 'deleted-images')).toEqual([]);
    expect(skipped(run)[r('old:1')]).toBe(
      'too young: first seen by docker-reclaim just now (no record of its arrival), minimum 7d'
    );
  });
});

describe('on Podman, pulling from the same registry', () => {
  let podman: Engine;
  beforeAll(async () => {
    podman = await startPodman({ name: 'pulls-p', insecureRegistries: [registry.host] });
  }, 120_000);
  afterAll(async () => podman?.stop(), 120_000);

  it('digest-only images are dangling and the default run removes them', async () => {
    await pullEverything(podman);
    const before = await inventory(podman);
    expect(before.images.map((i) => i.id)).toEqual(
      expect.arrayContaining([made.x!.id, made.tool!.id])
    );
    const run = await runAction({ env: { DOCKER_HOST: podman.host }, tmpDir: podman.dir });
    expect(run.code).toBe(0);
    // Its event feed lags its answers, so it cannot vouch for the references.
    expect(run.stdout).toContain(
      'Reference checks: an inspect right before each call (Podman reports image events after its answers).'
    );
    const left = (await inventory(podman)).images.map((i) => i.id);
    expect(left).not.toContain(made.x!.id);
    expect(left).not.toContain(made.tool!.id);
    expect(left).toEqual(expect.arrayContaining([made.old!.id, made.repro!.id]));
  });
});
