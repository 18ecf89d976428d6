// The engine's data disk and its own space totals, for predicting and measuring what a run frees.
// A path with the engine's root name proves nothing: an engine in a mount namespace of its own (a
// docker:dind sidecar) reports /var/lib/docker, and this machine may have a directory of that name
// on another disk. So a disk is used only once it is shown to hold this engine's data.
import fs from 'node:fs';
import path from 'node:path';
import type { Disk } from '../plan/types.js';
import type { Connection } from './connect.js';

export async function statDisk(dir: string): Promise<Disk> {
  const s = await fs.promises.statfs(dir);
  // bavail, not bfree: what a non-root writer (and the engine's quota-less default) can use.
  return { path: dir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** The parts of GET /info that say where and on what the engine keeps its data. */
export interface StorageInfo {
  DockerRootDir?: string;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
}

/** Some of the engine's own objects, to look for under a candidate path. */
export interface EngineObjects {
  imageIds: readonly string[];
  containerIds: readonly string[];
}

export type DiskFinding = { disk: Disk; how: string } | { refusal: string };

// statfs f_type → the name the engine gives its backing filesystem (moby's graphdriver FsNames).
const FILESYSTEMS: Record<number, string> = {
  0xef53: 'extfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x858458f6: 'ramfs',
  0x73717368: 'squashfs',
  0x4d44: 'msdos',
  0x5346544e: 'ntfs',
  0xf2f52010: 'f2fs'
};

const backingFilesystem = (info: StorageInfo) =>
  info.DriverStatus?.find(([k]) => k === 'Backing Filesystem')?.[1];

/** On Docker's containerd image store, image content lives in containerd's store, not the root. */
function isContainerdStore(info: StorageInfo): boolean {
  return Boolean(
    info.DriverStatus?.some(([k, v]) => k === 'driver-type' && v.includes('snapshotter'))
  );
}

/** Where the engine's image data is, as the engine names it (before any check). */
export function dataPaths(info: StorageInfo): string[] {
  const root = info.DockerRootDir;
  if (!root) return [];
  if (!isContainerdStore(info)) return [root];
  // The daemon's own containerd, or the system's.
  return [
    path.join(root, 'containerd', 'daemon', 'io.containerd.content.v1.content'),
    '/var/lib/containerd/io.containerd.content.v1.content'
  ];
}

/** Files that only an engine holding these objects has under `dir`, on each store's layout. */
function ownFiles(dir: string, info: StorageInfo, objects: EngineObjects): string[] {
  const hex = (id: string) => id.replace(/^sha256:/, '');
  const driver = info.Driver ?? '';
  if (isContainerdStore(info)) {
    // The image ID is the manifest digest, a blob of the content store.
    return objects.imageIds.map((id) => path.join(dir, 'blobs', 'sha256', hex(id)));
  }
  return [
    ...objects.imageIds.flatMap((id) => [
      path.join(dir, 'image', driver, 'imagedb', 'content', 'sha256', hex(id)),
      // Podman (containers/storage).
      path.join(dir, `${driver}-images`, hex(id))
    ]),
    ...objects.containerIds.flatMap((id) => [
      path.join(dir, 'containers', id),
      path.join(dir, `${driver}-containers`, id)
    ])
  ];
}

/** What this machine can tell about a candidate path without the engine's help. */
export interface PathFacts {
  dir: string;
  /** The filesystem type, as the engine names it; undefined when unknown. */
  filesystem?: string;
  /** Hard links of the folder: 2 plus its subfolders. */
  links: number;
  /** Whether this machine may list it (a runner that is not root may not: 0710, root's). */
  listable: boolean;
  /** The first of this engine's own files found under it, when it could look. */
  ownFile?: string;
  /** How many of the engine's objects it looked for. */
  lookedFor: number;
}

const ELSEWHERE =
  'so it is another disk that merely has that name (is the engine in a container of its own, such as a docker:dind sidecar?)';

/**
 * Whether the facts show this engine's data. Where the path can be read, files that only this
 * engine has decide; where it cannot, the filesystem type must be the one the engine reports, and
 * the folder must have the layout of a live data root (a dozen subfolders).
 */
export function judgeDataPath(
  facts: PathFacts,
  info: StorageInfo
): { how: string } | { refusal: string } {
  const { dir } = facts;
  if (facts.listable && facts.lookedFor > 0) {
    return facts.ownFile
      ? { how: `it holds this engine's ${path.relative(dir, facts.ownFile)}` }
      : {
          refusal: `${dir} exists here but holds none of this engine's images or containers, ${ELSEWHERE}`
        };
  }
  const claimed = backingFilesystem(info);
  if (claimed && facts.filesystem && claimed !== facts.filesystem) {
    return {
      refusal: `${dir} is on a ${facts.filesystem} filesystem here, but the engine keeps its data on ${claimed}, ${ELSEWHERE}`
    };
  }
  if (facts.links < 5) {
    return {
      refusal: `${dir} here has ${facts.links - 2} subfolders, which no live engine data root has`
    };
  }
  if (!claimed || !facts.filesystem) {
    return {
      refusal: `${dir} cannot be read here${claimed ? '' : ' and the engine names no backing filesystem'}, so nothing shows that it holds this engine's data`
    };
  }
  return {
    how: `its filesystem (${facts.filesystem}) and layout match the engine's, though it cannot be read here`
  };
}

/** Gathers the facts about `dir` and judges them; the disk's figures when it passes. */
export async function checkDataPath(
  dir: string,
  info: StorageInfo,
  objects: EngineObjects
): Promise<DiskFinding> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(dir);
  } catch (e) {
    return {
      refusal: `${dir} does not exist on this machine (${(e as NodeJS.ErrnoException).code ?? 'error'})`
    };
  }
  if (!stat.isDirectory()) return { refusal: `${dir} is not a folder on this machine` };
  let listable = true;
  try {
    await fs.promises.readdir(dir);
  } catch {
    listable = false;
  }
  const candidates = listable ? ownFiles(dir, info, objects) : [];
  const facts: PathFacts = {
    dir,
    filesystem: FILESYSTEMS[(await fs.promises.statfs(dir)).type],
    links: stat.nlink,
    listable,
    lookedFor: objects.imageIds.length + objects.containerIds.length,
    ...(() => {
      const found = candidates.find((f) => fs.existsSync(f));
      return found ? { ownFile: found } : {};
    })()
  };
  const verdict = judgeDataPath(facts, info);
  return 'how' in verdict ? { disk: await statDisk(dir), how: verdict.how } : verdict;
}

/**
 * The disk that holds the engine's image data, when it can be shown: `explicit` (the
 * engine-data-root input), else the paths the engine names, for an engine on this machine.
 */
export async function engineDisk(
  conn: Connection,
  info: StorageInfo,
  objects: EngineObjects,
  explicit: string | undefined
): Promise<{ root?: string; found: DiskFinding }> {
  const root = info.DockerRootDir;
  if (explicit !== undefined) return { root, found: await checkDataPath(explicit, info, objects) };
  if (!conn.local) {
    return {
      root,
      found: {
        refusal: `the engine at ${conn.address} is not on this machine; it keeps its data at ${root ?? 'an unknown path'} on its own`
      }
    };
  }
  const candidates = dataPaths(info);
  if (candidates.length === 0)
    return { root, found: { refusal: 'the engine does not say where it keeps its data' } };
  let first: DiskFinding | undefined;
  for (const dir of candidates) {
    const found = await checkDataPath(dir, info, objects);
    if ('disk' in found) return { root, found };
    first ??= found;
  }
  return { root, found: first! };
}
