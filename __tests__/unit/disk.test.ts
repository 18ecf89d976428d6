// Whether a path holds this engine's data: the check until-free makes before it trusts a disk.
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDataPath, dataPaths, judgeDataPath, type PathFacts } from '../../src/engine/disk.js';

const IMAGE = `sha256:${'ab'.repeat(32)}`;
const CONTAINER = 'cd'.repeat(32);
const overlay = {
  Driver: 'overlay2',
  DriverStatus: [['Backing Filesystem', 'extfs']] as [string, string][]
};
const objects = { imageIds: [IMAGE], containerIds: [CONTAINER] };
const fresh = () => mkdtempSync(join(tmpdir(), 'data-root-'));

describe('a path holds this engine’s data', () => {
  it('when this engine’s own image is in it (classic store)', async () => {
    const root = fresh();
    const dir = join(root, 'image', 'overlay2', 'imagedb', 'content', 'sha256');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ab'.repeat(32)), '{}');
    const found = await checkDataPath(root, { ...overlay, DockerRootDir: root }, objects);
    expect(found).toMatchObject({ disk: { path: root }, how: expect.stringContaining('imagedb') });
  });

  it('when one of its containers is in it', async () => {
    const root = fresh();
    mkdirSync(join(root, 'containers', CONTAINER), { recursive: true });
    expect(await checkDataPath(root, overlay, objects)).toHaveProperty('disk');
  });

  it('when its image’s manifest is a blob of the content store (containerd store)', async () => {
    const root = fresh();
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(root, 'blobs', 'sha256', 'ab'.repeat(32)), '{}');
    const c8d = {
      Driver: 'overlayfs',
      DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']] as [string, string][]
    };
    expect(await checkDataPath(root, c8d, objects)).toHaveProperty('disk');
  });
});

describe('a path that merely has the name is refused, and says why', () => {
  it('an empty folder where a dind sidecar’s data root would be', async () => {
    const found = await checkDataPath(fresh(), overlay, objects);
    expect(found).toEqual({
      refusal: expect.stringMatching(/holds none of this engine's images or containers.*dind/)
    });
  });

  it('a path that does not exist here', async () => {
    expect(await checkDataPath('/nonexistent/docker', overlay, objects)).toEqual({
      refusal: expect.stringMatching(/^\/nonexistent\/docker does not exist on this machine/)
    });
  });

  it('with nothing to look for, a filesystem that is not the engine’s', async () => {
    const found = await checkDataPath(
      fresh(),
      { Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'zfs']] },
      { imageIds: [], containerIds: [] }
    );
    expect(found).toEqual({
      refusal: expect.stringMatching(/filesystem here, but the engine keeps its data on zfs/)
    });
  });

  it('with nothing to look for, a folder without the subfolders of a live data root', async () => {
    const root = fresh();
    const found = await checkDataPath(root, { Driver: 'vfs' }, { imageIds: [], containerIds: [] });
    expect(found).toEqual({
      refusal: `${root} here has 0 subfolders, which no live engine data root has`
    });
  });
});

describe('where the engine keeps image data', () => {
  it('is the data root on the classic store, and the content store on the containerd one', () => {
    expect(dataPaths({ DockerRootDir: '/var/lib/docker', ...overlay })).toEqual([
      '/var/lib/docker'
    ]);
    expect(
      dataPaths({
        DockerRootDir: '/var/lib/docker',
        DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']]
      })
    ).toEqual([
      '/var/lib/docker/containerd/daemon/io.containerd.content.v1.content',
      '/var/lib/containerd/io.containerd.content.v1.content'
    ]);
  });
});

describe('a runner that is not root, and cannot read inside the data root', () => {
  const unreadable = (over: Partial<PathFacts> = {}): PathFacts => ({
    dir: '/var/lib/docker',
    filesystem: 'extfs',
    links: 14,
    listable: false,
    lookedFor: 2,
    ...over
  });

  it('accepts a folder on the engine’s filesystem with a live data root’s layout, and says how it knows', () => {
    expect(judgeDataPath(unreadable(), overlay)).toEqual({
      how: "its filesystem (extfs) and layout match the engine's, though it cannot be read here"
    });
  });

  it('refuses a folder on another filesystem than the engine reports', () => {
    const tmpfs = {
      ...overlay,
      DriverStatus: [['Backing Filesystem', 'tmpfs']] as [string, string][]
    };
    expect(judgeDataPath(unreadable(), tmpfs)).toEqual({
      refusal: expect.stringMatching(
        /^\/var\/lib\/docker is on a extfs filesystem here, but the engine keeps its data on tmpfs/
      )
    });
  });

  it('refuses an empty stand-in on the right filesystem', () => {
    expect(judgeDataPath(unreadable({ links: 2 }), overlay)).toEqual({
      refusal: '/var/lib/docker here has 0 subfolders, which no live engine data root has'
    });
  });

  it('refuses when the engine names no filesystem to compare with', () => {
    expect(judgeDataPath(unreadable(), { Driver: 'vfs' })).toEqual({
      refusal: expect.stringContaining(
        'cannot be read here and the engine names no backing filesystem'
      )
    });
  });
});
