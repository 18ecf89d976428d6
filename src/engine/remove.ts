// The only calls that remove anything. Never with force: the engine's refusals are our safety net.
import type Docker from 'dockerode';
import { describeError } from './connect.js';

export interface RemoveResult {
  /** References the engine reports as untagged. */
  untagged: string[];
  /** IDs the engine reports as deleted: images, and on the classic store also layer ChainIDs. */
  deleted: string[];
}

export interface Remover {
  removeContainer(id: string): Promise<void>;
  /** DELETE /images/{name}: by reference it untags (and deletes the image with its last reference); by ID it deletes. */
  removeImage(nameOrId: string): Promise<RemoveResult>;
}

/** An engine refusal or transport failure; `status` is the HTTP status when the engine answered. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message);
  }
}

function wrap(e: unknown): EngineError {
  const status = (e as { statusCode?: number }).statusCode;
  return new EngineError(describeError(e), typeof status === 'number' ? status : undefined);
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
          deleted: items.flatMap((i) => (i.Deleted ? [i.Deleted] : []))
        };
      } catch (e) {
        throw wrap(e);
      }
    }
  };
}
