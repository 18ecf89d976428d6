// Volumes and BuildKit records as both fake engines keep them: the engine refuses to remove a
// volume any container uses (moby volume/service), and BuildKit's prune removes the named records
// that nothing holds, children first, over and over within one call (moby builder-next, BuildKit
// cache manager), silently skipping the rest.
import { EngineError, type Remover } from '../src/engine/remove.js';
import type {
  BuildCacheRecord,
  Inventory,
  InventoryContainer,
  InventoryVolume
} from '../src/plan/types.js';

export class FakeVolumesAndCache implements Pick<
  Remover,
  'removeVolume' | 'volumeUsers' | 'pruneBuildCache'
> {
  volumes: Map<string, InventoryVolume>;
  buildCache?: Map<string, BuildCacheRecord>;
  constructor(
    inventory: Inventory,
    private readonly containers: () => ReadonlyMap<string, InventoryContainer>,
    private readonly log: (call: string) => void
  ) {
    const copy = structuredClone(inventory);
    this.volumes = new Map((copy.volumes ?? []).map((v) => [v.name, v]));
    if (copy.buildCache) this.buildCache = new Map(copy.buildCache.map((r) => [r.id, r]));
  }

  async volumeUsers(name: string): Promise<string[]> {
    this.log(`volume-users ${name}`);
    return [...this.containers().values()]
      .filter((c) => c.volumes?.includes(name))
      .map((c) => c.id);
  }

  async removeVolume(name: string): Promise<void> {
    this.log(`rm-volume ${name}`);
    if (!this.volumes.has(name)) throw new EngineError(`get ${name}: no such volume`, 404);
    const users = await this.volumeUsers(name);
    if (users.length > 0) {
      throw new EngineError(`remove ${name}: volume is in use - [${users.join(', ')}]`, 409);
    }
    this.volumes.delete(name);
  }

  async pruneBuildCache(ids: readonly string[]): Promise<{ deleted: string[]; reclaimed: number }> {
    this.log(`prune-build-cache ${ids.length}`);
    if (!this.buildCache) throw new EngineError('Not Found', 404);
    const named = new Set(ids);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (let progress = true; progress;) {
      progress = false;
      for (const r of [...this.buildCache.values()]) {
        if (!named.has(r.id) || r.inUse) continue;
        const held = [...this.buildCache.values()].some((c) => c.parents.includes(r.id));
        if (held) continue;
        this.buildCache.delete(r.id);
        deleted.push(r.id);
        reclaimed += r.size;
        progress = true;
      }
    }
    return { deleted, reclaimed };
  }
}
