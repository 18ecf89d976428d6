// The only calls that remove anything. Never with force: the engine's refusals are our safety net.
import type Docker from 'dockerode';
import { describeError } from './connect.js';

export interface RemoveResult {
  /** References the engine reports as untagged. */
  untagged: string[];
  /**
   * IDs the engine reports as deleted, as `sha256:…`: images, and on the classic store also layer
   * ChainIDs.
   */
  deleted: string[];
}

export interface Remover {
  removeContainer(id: string): Promise<void>;
  /** DELETE /images/{name}: by reference it untags (and deletes the image with its last reference); by ID it deletes. */
  removeImage(nameOrId: string): Promise<RemoveResult>;
  /** The image's tag and digest references now; undefined when it (or that reference) no longer exists. */
  imageReferences(nameOrId: string): Promise<string[] | undefined>;
  containerExists(id: string): Promise<boolean>;
}

/**
 * An engine refusal or transport failure; `status` is the HTTP status when the engine answered,
 * except that the refusals Podman answers with 500 carry 409, the status Docker gives them.
 */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message);
  }
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

export function wrap(e: unknown): EngineError {
  const raw = (e as { statusCode?: number }).statusCode;
  const message = describeError(e);
  let status = typeof raw === 'number' ? raw : undefined;
  if (status === 500 && PODMAN_CONFLICT.test(message)) status = 409;
  return new EngineError(message, status);
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
    async containerExists(id) {
      try {
        await docker.getContainer(id).inspect();
        return true;
      } catch (e) {
        const err = wrap(e);
        if (err.status === 404) return false;
        throw err;
      }
    },
    async imageReferences(id) {
      try {
        const info = await docker.getImage(id).inspect();
        return [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])].filter(
          (r) => !r.startsWith('<none>')
        );
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
