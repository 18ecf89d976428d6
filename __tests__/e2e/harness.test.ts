import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import path from 'node:path';
import {
  busyboxImage,
  buildImage,
  inventory,
  loadImages,
  resetEngine,
  run,
  runContainer,
  startEngine,
  tag,
  type Engine
} from '../harness/engine.mjs';
import { leftovers } from '../harness/leftovers.js';

const DEFAULT_SOCKET = '/var/run/docker.sock';

async function inspect(engine: Engine, ref: string) {
  const [info] = JSON.parse((await engine.docker(['image', 'inspect', ref])).stdout);
  return info;
}

describe('harness against a private engine', () => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await startEngine({ name: 'harness' });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
  }, 120_000);

  it('talks only to its own socket, never the default one', async () => {
    expect(path.dirname(engine.socket)).toBe(engine.dir);
    expect(engine.host).toBe(`unix://${engine.socket}`);
    expect(engine.env.DOCKER_HOST).toBe(engine.host);
    expect(engine.env.DOCKER_CONFIG?.startsWith(`${engine.dir}/`)).toBe(true);
    expect(engine.env.DOCKER_BUILDKIT).toBeUndefined();
    expect(engine.socket).not.toBe(DEFAULT_SOCKET);
    expect(engine.socket.length).toBeLessThan(100);
    const info = JSON.parse((await engine.docker(['info', '--format', '{{json .}}'])).stdout);
    expect(info.DockerRootDir).toBe(engine.dataRoot);
  });

  it('builds a scratch image and a legacy child that records its Parent', async () => {
    const parent = await buildImage(engine, { tag: 'h/parent:1', bytes: 2048 });
    const child = await buildImage(engine, {
      tag: 'h/child:1',
      from: 'h/parent:1',
      extraTags: ['h/child:2']
    });
    expect(parent).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(child).not.toBe(parent);
    await tag(engine, 'h/child:1', 'h/child:3');

    const inv = await inventory(engine);
    expect(inv.images.find((i) => i.id === parent)).toEqual({
      id: parent,
      tags: ['h/parent:1'],
      digests: [],
      parent: ''
    });
    expect(inv.images.find((i) => i.id === child)).toEqual({
      id: child,
      tags: ['h/child:1', 'h/child:2', 'h/child:3'],
      digests: [],
      parent
    });
    // A build tags the image, so it has a LastTagTime, unlike a loaded one.
    expect((await inspect(engine, child)).Metadata.LastTagTime).not.toMatch(/^0001-/);
  });

  it('loads dated images, tagged and dangling, with a shared base layer and no LastTagTime', async () => {
    const ids = await loadImages(engine, [
      { tags: ['h/old:1', 'h/old:2'], created: '2019-03-04T05:06:07Z', sharedBase: 'h' },
      { tags: [], created: new Date('2019-06-01T00:00:00Z'), sharedBase: 'h' },
      { tags: ['h/thin:1'], created: '2019-07-01T00:00:00Z', sharedBase: 'h', ownLayer: false }
    ]);
    expect(new Set(ids).size).toBe(3);
    const [old, dangling, thin] = await Promise.all(ids.map((id) => inspect(engine, id)));
    expect(old.Id).toBe(ids[0]);
    expect(new Date(old.Created).toISOString()).toBe('2019-03-04T05:06:07.000Z');
    expect(new Date(dangling.Created).toISOString()).toBe('2019-06-01T00:00:00.000Z');
    for (const image of [old, dangling, thin]) {
      expect(image.Metadata.LastTagTime).toBe('0001-01-01T00:00:00Z');
      expect(image.Parent).toBe('');
    }
    expect(old.RepoTags.sort()).toEqual(['h/old:1', 'h/old:2']);
    expect(dangling.RepoTags).toEqual([]);
    expect(old.RootFS.Layers).toHaveLength(2);
    expect(dangling.RootFS.Layers[0]).toBe(old.RootFS.Layers[0]);
    expect(dangling.RootFS.Layers[1]).not.toBe(old.RootFS.Layers[1]);
    expect(thin.RootFS.Layers).toEqual([old.RootFS.Layers[0]]);
  });

  it('creates containers in each state', async () => {
    const bb = await busyboxImage(engine);
    expect(await busyboxImage(engine)).toBe(bb);
    const ids = {
      running: await runContainer(engine, { image: 'bb:latest', name: 'h-running' }),
      exited: await runContainer(engine, { image: bb, name: 'h-exited', state: 'exited' }),
      created: await runContainer(engine, { image: bb, name: 'h-created', state: 'created' }),
      paused: await runContainer(engine, { image: bb, name: 'h-paused', state: 'paused' })
    };
    const inv = await inventory(engine);
    for (const [state, id] of Object.entries(ids)) {
      expect(inv.containers).toContainEqual({ id, name: `h-${state}`, image: bb, state });
    }
    expect(inv.images.find((i) => i.id === bb)).toEqual({
      id: bb,
      tags: ['bb:latest'],
      digests: [],
      parent: ''
    });
  });

  it('runs a second engine beside it and cleans up after a crash', async () => {
    const other = await startEngine({ name: 'crash' });
    try {
      expect(other.dir).not.toBe(engine.dir);
      await busyboxImage(other);
      await runContainer(other, { image: 'bb:latest', name: 'c-running' });
      await runContainer(other, { image: 'bb:latest', name: 'c-paused', state: 'paused' });
      expect((await inventory(other)).containers).toHaveLength(2);
      expect((await inventory(engine)).containers).toHaveLength(4);
      expect(leftovers(other.dir).mounts.length).toBeGreaterThan(0);
      other.kill();
    } finally {
      await other.stop();
      await other.stop();
    }
    expect(leftovers(other.dir)).toEqual({ mounts: [], procs: [], dirExists: false });
    // The first engine is unaffected.
    expect((await inventory(engine)).containers).toHaveLength(4);
  }, 120_000);

  it('empties an engine that stops answering, and stops one without waiting on it', async () => {
    const other = await startEngine({ name: 'hung' });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await busyboxImage(other);
      await runContainer(other, { image: 'bb:latest', name: 'g-running' });
      await runContainer(other, { image: 'bb:latest', name: 'g-paused', state: 'paused' });
      // A stopped daemon still accepts connections on its socket and never answers: a hang.
      const frozen = other.pid!;
      process.kill(frozen, 'SIGSTOP');
      await resetEngine(other, { timeoutMs: 2000 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/hung while being emptied .*no answer in 2s/);
      expect(other.pid).not.toBe(frozen);
      expect(await inventory(other)).toEqual({ images: [], containers: [] });

      await busyboxImage(other);
      await runContainer(other, { image: 'bb:latest', name: 'g-again' });
      process.kill(other.pid!, 'SIGSTOP');
      await other.stop();
    } finally {
      warn.mockRestore();
      await other.stop();
    }
    expect(leftovers(other.dir)).toEqual({ mounts: [], procs: [], dirExists: false });
  }, 120_000);

  it('kills a command that outlives its timeout and says so', async () => {
    await expect(run('sleep', ['30'], { timeoutMs: 200 })).rejects.toMatchObject({
      message: 'sleep 30: no answer in 0.2s',
      timedOut: true
    });
    await expect(run('sleep', ['0'], { timeoutMs: 5000 })).resolves.toMatchObject({ code: 0 });
  });
});
