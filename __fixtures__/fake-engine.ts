// An in-memory engine that refuses deletions the way Docker's classic image store does
// (moby daemon/images/image_delete.go), so planner + executor can be checked without a daemon.
import type { ContainerNow, ImageNow, Remover, RemoveResult } from '../src/engine/remove.js';
import { EngineError } from '../src/engine/remove.js';
import { FakeVolumesAndCache } from './fake-volumes.js';
import { parseReference } from '../src/plan/patterns.js';
import type { ImageId, Inventory, InventoryContainer, InventoryImage } from '../src/plan/types.js';

const ACTIVE = new Set(['running', 'paused', 'restarting', 'removing']);

export class FakeEngine implements Remover {
  images: Map<string, InventoryImage>;
  containers: Map<string, InventoryContainer>;
  calls: string[] = [];
  /** Volumes and build cache records, and the calls that remove them. */
  store: FakeVolumesAndCache;
  removeVolume: Remover['removeVolume'];
  volumeUsers: Remover['volumeUsers'];
  pruneBuildCache: Remover['pruneBuildCache'];
  /** Test hook: runs before each call, e.g. to inject a race. */
  beforeCall?: (call: string) => void;
  /**
   * Other calls run while a parent is pruned: between reading what holds it, asking whether it
   * is dangling, and deleting it, as dockerd holds no lock across the three.
   */
  private readonly unlockedPrune: boolean;

  constructor(inventory: Inventory, { unlockedPrune = false }: { unlockedPrune?: boolean } = {}) {
    this.unlockedPrune = unlockedPrune;
    const copy = structuredClone(inventory);
    this.images = new Map(copy.images.map((i) => [i.id, i]));
    this.containers = new Map(copy.containers.map((c) => [c.id, c]));
    this.store = new FakeVolumesAndCache(
      inventory,
      () => this.containers,
      (c) => this.calls.push(c)
    );
    this.removeVolume = (name) => this.store.removeVolume(name);
    this.volumeUsers = (name) => this.store.volumeUsers(name);
    this.pruneBuildCache = (ids) => this.store.pruneBuildCache(ids);
  }

  snapshot(): Inventory {
    return structuredClone({
      images: [...this.images.values()],
      containers: [...this.containers.values()]
    });
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push(`rm ${id}`);
    this.beforeCall?.(`rm ${id}`);
    const c = this.containers.get(id);
    if (!c) throw new EngineError(`No such container: ${id}`, 404);
    if (ACTIVE.has(c.state)) {
      throw new EngineError(`You cannot remove a ${c.state} container ${id}`, 409);
    }
    this.containers.delete(id);
  }

  async inspectImage(nameOrId: string): Promise<ImageNow | undefined> {
    this.calls.push(`inspect ${nameOrId}`);
    this.beforeCall?.(`inspect ${nameOrId}`);
    const image =
      this.images.get(nameOrId) ??
      [...this.images.values()].find((i) => refsOf(i).includes(nameOrId));
    return image ? { id: image.id, references: refsOf(image) } : undefined;
  }

  async inspectContainer(id: string): Promise<ContainerNow | undefined> {
    this.calls.push(`inspect ${id}`);
    this.beforeCall?.(`inspect ${id}`);
    const c = this.containers.get(id);
    return c ? { state: c.state, image: c.image } : undefined;
  }

  async removeImage(name: string): Promise<RemoveResult> {
    this.calls.push(`rmi ${name}`);
    this.beforeCall?.(`rmi ${name}`);
    const result: RemoveResult = { untagged: [], deleted: [] };
    const byId = this.images.get(name);
    if (byId) {
      const repos = new Set(refsOf(byId).map((r) => parseReference(r).repository));
      if (byId.tags.length > 1 || repos.size > 1) {
        throw new EngineError(
          `conflict: unable to delete ${short(byId.id)} (must be forced) - image is referenced in multiple repositories`,
          409
        );
      }
      this.refuseIfHeld(byId);
      result.untagged.push(...refsOf(byId));
      byId.tags = [];
      byId.digests = [];
      await this.deleteAndPrune(byId, result);
      return result;
    }
    const image = [...this.images.values()].find((i) => refsOf(i).includes(name));
    if (!image) throw new EngineError(`No such image: ${name}`, 404);
    const { repository } = parseReference(name);
    const isTag = image.tags.includes(name as never);
    const tagsLeftInRepo = image.tags.filter(
      (t) => t !== name && parseReference(t).repository === repository
    );
    // Removing a repository's last tag takes that repository's digests with it.
    const goesWithIt =
      isTag && tagsLeftInRepo.length === 0
        ? image.digests.filter((d) => parseReference(d).repository === repository)
        : [];
    const remaining = refsOf(image).filter((r) => r !== name && !goesWithIt.includes(r as never));
    if (remaining.length === 0) {
      const user = [...this.containers.values()].find((c) => c.image === image.id);
      if (user) {
        throw new EngineError(
          `conflict: unable to remove repository reference "${name}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${short(image.id)}`,
          409
        );
      }
    }
    image.tags = image.tags.filter((t) => t !== name);
    image.digests = image.digests.filter((d) => d !== name && !goesWithIt.includes(d));
    result.untagged.push(name, ...goesWithIt);
    if (remaining.length > 0) return result;
    // The last reference is gone: delete unless something holds the image (quietly, no error).
    // dockerd reads the holders here without a lock too, but a plan never removes an image's last
    // reference while its children or containers may still go, so that race is not modelled.
    if (this.holder(image)) return result;
    await this.deleteAndPrune(image, result);
    return result;
  }

  private hasChild(image: InventoryImage): boolean {
    return [...this.images.values()].some((i) => i.parent === image.id);
  }

  private holder(image: InventoryImage): string | undefined {
    if (this.hasChild(image)) return 'child';
    if ([...this.containers.values()].some((c) => c.image === image.id)) return 'container';
    return undefined;
  }

  /** Refuses, as a delete by ID does, when a child or a container holds the image. */
  private refuseIfHeld(image: InventoryImage): void {
    if (this.hasChild(image)) {
      throw new EngineError(
        `conflict: unable to delete ${short(image.id)} (cannot be forced) - image has dependent child images`,
        409
      );
    }
    const user = [...this.containers.values()].find((c) => c.image === image.id);
    if (user) {
      const running = ACTIVE.has(user.state);
      throw new EngineError(
        `conflict: unable to delete ${short(image.id)} (${running ? 'cannot be forced' : 'must be forced'}) - image is being used by ${running ? 'running' : 'stopped'} container ${user.id.slice(0, 12)}`,
        409
      );
    }
  }

  /** Deletes the image, then prunes the untagged parents that nothing else holds. */
  private async deleteAndPrune(image: InventoryImage, result: RemoveResult): Promise<void> {
    this.images.delete(image.id);
    result.deleted.push(image.id);
    let parent = image.parent ? this.images.get(image.parent) : undefined;
    while (parent && refsOf(parent).length === 0) {
      const holder = this.holder(parent);
      if (this.unlockedPrune) await nextTurn();
      if (holder) {
        // Quiet when a container uses it or it is not dangling: what it sees now, not at the read.
        if (holder === 'container' || !this.dangling(parent)) return;
        throw new EngineError(
          `conflict: unable to delete ${short(parent.id)} (cannot be forced) - image has dependent child images`,
          409
        );
      }
      if (this.unlockedPrune) await nextTurn();
      if (!this.images.has(parent.id)) {
        throw new EngineError(`unrecognized image ID ${parent.id}`, 500);
      }
      this.images.delete(parent.id);
      result.deleted.push(parent.id);
      parent = parent.parent ? this.images.get(parent.parent) : undefined;
    }
  }

  private dangling(image: InventoryImage): boolean {
    return refsOf(image).length === 0 && !this.hasChild(image);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function refsOf(i: InventoryImage): string[] {
  return [...i.tags, ...i.digests];
}

function short(id: ImageId): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
