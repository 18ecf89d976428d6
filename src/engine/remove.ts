// The only calls that remove anything. Never with force: the engine's refusals are our safety net.
import type Docker from 'dockerode';
import { describeError } from './connect.js';
import { EngineError, isTransportFailure } from './errors.js';

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
}

// Podman's Docker-compatible API answers some refusals to remove without force with 500, where
// Docker answers 409: a running or paused container ("… cannot be removed without force: container
// state improper") and an image deleted by ID that has several tags ("… by ID with more than one
// tag (…): please force removal").
const PODMAN_CONFLICT = /container state improper|please force removal/;

/** Podman reports deleted images by their bare hex ID; Docker, and the plan, write `sha256:…`. */
export function fullId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? `sha256:${id}` : id;
}

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
        return { state: info.State?.Status ?? '', image: fullId(info.Image ?? '') };
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
        return { id: fullId(info.Id), references };
      } catch (e) {
        const err = wrap(e);
        if (err.status === 404) return undefined;
        throw err;
      }
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
          deleted: items.flatMap((i) => (i.Deleted ? [fullId(i.Deleted)] : []))
        };
      } catch (e) {
        throw wrap(e);
      }
    }
  };
}
