// The harness against a private Podman (`podman system service`): its helpers work through the
// docker CLI, nothing lands in the machine's own Podman or runtime paths, and nothing outlives stop().
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import {
  busyboxImage,
  buildImage,
  inventory,
  loadImages,
  runContainer,
  startPodman,
  tag,
  type Engine
} from '../harness/engine.mjs';
import { leftovers } from '../harness/leftovers.js';

// Where a rootful Podman with default settings would write: its storage and blob info cache, the
// shared runc state, netavark's run dir, the shm lock segment, and the machine's Docker socket.
const MACHINE_PATHS = [
  '/var/lib/containers',
  '/run/containers',
  '/run/runc',
  '/run/libpod',
  '/dev/shm/libpod_lock'
];

function snapshot(paths: string[]) {
  return paths.map((p) => {
    try {
      const st = fs.statSync(p);
      const entries = st.isDirectory() ? fs.readdirSync(p, { recursive: true }).sort() : [];
      return { p, mtime: st.mtimeMs, entries };
    } catch {
      return { p, missing: true };
    }
  });
}

async function inspect(engine: Engine, ref: string) {
  const [info] = JSON.parse((await engine.docker(['image', 'inspect', ref])).stdout);
  return info;
}

describe('harness against a private Podman', () => {
  let engine: Engine;
  let machineBefore: ReturnType<typeof snapshot>;

  beforeAll(async () => {
    machineBefore = snapshot(MACHINE_PATHS);
    engine = await startPodman({ name: 'harness' });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
  }, 120_000);

  it('serves the Docker API on its own socket, with its own storage', async () => {
    expect(engine.kind).toBe('podman');
    expect(path.dirname(engine.socket)).toBe(engine.dir);
    expect(engine.host).toBe(`unix://${engine.socket}`);
    expect(engine.env.DOCKER_HOST).toBe(engine.host);
    expect(engine.env.DOCKER_CONFIG?.startsWith(`${engine.dir}/`)).toBe(true);
    expect(engine.socket.length).toBeLessThan(100);
    const info = JSON.parse((await engine.docker(['info', '--format', '{{json .}}'])).stdout);
    expect(info.DockerRootDir).toBe(engine.dataRoot);
    expect(info.DockerRootDir.startsWith(`${engine.dir}/`)).toBe(true);
    expect(info.Driver).toBe('vfs');
    expect(info.CgroupDriver).toBe('cgroupfs');
    const version = JSON.parse((await engine.docker(['version', '--format', '{{json .}}'])).stdout);
    expect(version.Server.Components.map((c: { Name: string }) => c.Name)).toContain(
      'Podman Engine'
    );
  });

  it('builds under docker.io/ names, and reports a local base as Parent', async () => {
    const base = await buildImage(engine, { tag: 'h/base:1' });
    const child = await buildImage(engine, {
      tag: 'h/child:1',
      from: 'h/base:1',
      extraTags: ['h/child:2']
    });
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(child).toMatch(/^sha256:[0-9a-f]{64}$/);
    await tag(engine, 'h/child:1', 'single:1');
    const inv = await inventory(engine);
    expect(inv.images.find((i) => i.id === child)).toEqual({
      id: child,
      tags: ['docker.io/h/child:1', 'docker.io/h/child:2', 'docker.io/library/single:1'],
      // Podman gives every local image a digest per repository.
      digests: [
        expect.stringMatching(/^docker\.io\/h\/child@sha256:/),
        expect.stringMatching(/^docker\.io\/library\/single@sha256:/)
      ],
      parent: base
    });
    // Podman keeps no tag time.
    expect((await inspect(engine, child)).Metadata.LastTagTime).toBe('0001-01-01T00:00:00Z');
  });

  it('loads dated images under localhost/ names, tagged and dangling', async () => {
    const [old, dangling] = await loadImages(engine, [
      { tags: ['h/old:1'], created: '2019-03-04T05:06:07Z', sharedBase: 'h' },
      { tags: [], created: '2019-06-01T00:00:00Z', sharedBase: 'h' }
    ]);
    const inv = await inventory(engine);
    expect(inv.images.find((i) => i.id === old)?.tags).toEqual(['localhost/h/old:1']);
    expect(inv.images.find((i) => i.id === dangling)?.tags).toEqual([]);
    const info = await inspect(engine, old!);
    expect(new Date(info.Created).toISOString()).toBe('2019-03-04T05:06:07.000Z');
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
    expect(inv.images.find((i) => i.id === bb)?.tags).toEqual(['docker.io/library/bb:latest']);
    const limits = JSON.parse(
      (await engine.docker(['inspect', '--format', '{{json .HostConfig.Ulimits}}', ids.running]))
        .stdout
    );
    expect(limits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Name: 'RLIMIT_NOFILE', Soft: 1024, Hard: 1024 }),
        expect.objectContaining({ Name: 'RLIMIT_NPROC', Soft: 1024, Hard: 1024 })
      ])
    );
  });

  it('keeps its containers across a restart', async () => {
    const before = await inventory(engine);
    await engine.restart();
    expect(await inventory(engine)).toEqual(before);
  }, 60_000);

  it('runs a second Podman beside it and cleans up after a crash', async () => {
    const other = await startPodman({ name: 'crash' });
    try {
      expect(other.dir).not.toBe(engine.dir);
      await busyboxImage(other);
      await runContainer(other, { image: 'bb:latest', name: 'c-running' });
      await runContainer(other, { image: 'bb:latest', name: 'c-paused', state: 'paused' });
      expect((await inventory(other)).containers).toHaveLength(2);
      expect((await inventory(engine)).containers).toHaveLength(4);
      other.kill();
    } finally {
      await other.stop();
      await other.stop();
    }
    expect(leftovers(other.dir)).toEqual({ mounts: [], procs: [], dirExists: false });
    expect((await inventory(engine)).containers).toHaveLength(4);
  }, 120_000);

  it("never writes to the machine's Podman or runtime paths", () => {
    expect(snapshot(MACHINE_PATHS)).toEqual(machineBefore);
  });
});
