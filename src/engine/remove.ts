// The only calls that remove anything. Never with force: the engine's refusals are our safety net.
import type Docker from 'dockerode';
import { describeError } from './connect.js';
import { EngineError, isTransportFailure } from './errors.js';
import { imageId } from './inventory.js';

export { EngineError } from './errors.js';

export interface RemoveResult {
  /** References the engine reports as untagged. */
  untagged: string[];
  /**
   * IDs the engine reports as deleted, as `sha256:…`: images, and on the classic store also layer
   * ChainIDs.
   */
  deleted: string[];
}

/** An image as a precondition check sees it. */
export interface ImageNow {
  id: string;
  /** Its tag and digest references. */
  references: string[];
}

/** A container as a precondition check sees it. */
export interface ContainerNow {
  state: string;
  image: string;
}

export interface Remover {
  removeContainer(id: string): Promise<void>;
  /** DELETE /images/{name}: by reference it untags (and deletes the image with its last reference); by ID it deletes. */
  removeImage(nameOrId: string): Promise<RemoveResult>;
  /** The image a reference or ID names now; undefined when it names none. */
  inspectImage(nameOrId: string): Promise<ImageNow | undefined>;
  /** The container now; undefined when it no longer exists. */
  inspectContainer(id: string): Promise<ContainerNow | undefined>;
  /** DELETE /volumes/{name}, which the engine refuses while any container uses it. */
  removeVolume(name: string): Promise<void>;
  /** The IDs of the containers, in any state, that use the volume now. */
  volumeUsers(name: string): Promise<string[]>;
  /** POST /build/prune for exactly these records: the IDs BuildKit removed, and the bytes it says. */
  pruneBuildCache(ids: readonly string[]): Promise<{ deleted: string[]; reclaimed: number }>;
}

/** One anchored alternation: BuildKit reads the `id` filter as a regexp and takes one value. */
export function buildCacheFilter(ids: readonly string[]): string {
  const escaped = ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `^(${escaped.join('|')})$`;
}

// Podman's Docker-compatible API answers some refusals to remove without force with 500, where
// Docker answers 409: a running or paused container ("… cannot be removed without force: container
// state improper") and an image deleted by ID that has several tags ("… by ID with more than one
// tag (…): please force removal").
const PODMAN_CONFLICT = /container state improper|please force removal/;

/** An engine call's failure as an EngineError; anything that is neither is rethrown as it is. */
export function wrap(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const raw = (e as { statusCode?: number }).statusCode;
  const transport = isTransportFailure(e);
  if (typeof raw !== 'number' && !transport) throw e;
  const message = describeError(e);
  let status = typeof raw === 'number' ? raw : undefined;
  if (status === 500 && PODMAN_CONFLICT.test(message)) status = 409;
  return new EngineError(message, status, transport);
}

export function dockerRemover(docker: Docker): Remover {
  return {
    async removeContainer(id) {
      try {
        await docker.getContainer(id).remove({ force: false, v: false });
      } catch (e) {
        throw wrap(e);
      }
    },
    async inspectContainer(id) {
      try {
        const info = await docker.getContainer(id).inspect();
        return { state: info.State?.Status ?? '', image: imageId(info.Image ?? '') };
      } catch (e) {
        const err = wrap(e);
        if (err.status === 404) return undefined;
        throw err;
      }
    },
    async inspectImage(nameOrId) {
      try {
        const info = await docker.getImage(nameOrId).inspect();
        const references = [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])].filter(
          (r) => !r.startsWith('<none>')
        );
        return { id: imageId(info.Id), references };
      } catch (e) {
        const err = wrap(e);
        if (err.status === 404) return undefined;
        throw err;
      }
    },
    async removeVolume(name) {
      try {
        await docker.getVolume(name).remove({ force: false });
      } catch (e) {
        throw wrap(e);
      }
    },
    async volumeUsers(name) {
      try {
        const users = await docker.listContainers({ all: true, filters: { volume: [name] } });
        return users.map((c) => c.Id);
      } catch (e) {
        throw wrap(e);
      }
    },
    async pruneBuildCache(ids) {
      // dockerode's pruneBuilder sends no query, so the call is made through its modem.
      const answer = await new Promise<{
        CachesDeleted?: string[] | null;
        SpaceReclaimed?: number;
      }>((resolve, reject) =>
        docker.modem.dial(
          {
            path: '/build/prune?',
            method: 'POST',
            // `all`: without it BuildKit skips some record types even when named.
            options: { all: true, filters: { id: [buildCacheFilter(ids)] } },
            statusCodes: { 200: true, 400: 'bad request', 404: 'not found', 500: 'server error' }
          },
          (err, data) => (err ? reject(wrap(err)) : resolve(data as never))
        )
      );
      return { deleted: answer.CachesDeleted ?? [], reclaimed: answer.SpaceReclaimed ?? 0 };
    },
    async removeImage(nameOrId) {
      try {
        const items = (await docker
          .getImage(nameOrId)
          .remove({ force: false, noprune: false })) as {
          Untagged?: string;
          Deleted?: string;
        }[];
        return {
          untagged: items.flatMap((i) => (i.Untagged ? [i.Untagged] : [])),
          deleted: items.flatMap((i) => (i.Deleted ? [imageId(i.Deleted)] : []))
        };
      } catch (e) {
        throw wrap(e);
      }
    }
  };
}
