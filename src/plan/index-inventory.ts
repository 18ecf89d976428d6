// Lookups that every planner phase needs, built once from the inventory. Read-only after that.
import { ageTime, type AgeTime } from './age.js';
import type { AgeBasis, ImageId, Inventory, InventoryContainer, InventoryImage } from './types.js';

export interface InventoryIndex {
  /** The inventory with images and containers in ID order: the same state gives the same plan. */
  inventory: Inventory;
  images: ReadonlyMap<ImageId, InventoryImage>;
  containersOf: ReadonlyMap<ImageId, readonly InventoryContainer[]>;
  /** Legacy-builder children of each image that has any. */
  childrenOf: ReadonlyMap<ImageId, readonly ImageId[]>;
  /** Every image ID, each child before its parent. */
  childrenFirst: readonly ImageId[];
  /** An image's age under the policy's basis; computed on first use. */
  ageOf(image: InventoryImage): AgeTime;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function indexInventory(snapshot: Inventory, basis: AgeBasis, now: number): InventoryIndex {
  // The engine lists in no stable order.
  const inventory: Inventory = {
    ...snapshot,
    images: [...snapshot.images].sort(byId),
    containers: [...snapshot.containers].sort(byId)
  };
  const images = new Map(inventory.images.map((i) => [i.id, i]));
  const containersOf = new Map<ImageId, InventoryContainer[]>();
  for (const c of inventory.containers) push(containersOf, c.image, c);
  const childrenOf = new Map<ImageId, ImageId[]>();
  for (const i of inventory.images) {
    if (i.parent && images.has(i.parent)) push(childrenOf, i.parent, i.id);
  }
  const ages = new Map<ImageId, AgeTime>();
  return {
    inventory,
    images,
    containersOf,
    childrenOf,
    childrenFirst: topologicalChildrenFirst(inventory.images, childrenOf),
    ageOf(image) {
      let age = ages.get(image.id);
      if (!age) {
        age = ageTime(image, containersOf.get(image.id) ?? [], basis, now);
        ages.set(image.id, age);
      }
      return age;
    }
  };
}

/** Image IDs ordered so that every child comes before its parent; ties keep inventory order. */
function topologicalChildrenFirst(
  images: readonly InventoryImage[],
  childrenOf: ReadonlyMap<ImageId, readonly ImageId[]>
): ImageId[] {
  const out: ImageId[] = [];
  const done = new Set<ImageId>();
  const walk = (id: ImageId) => {
    if (done.has(id)) return;
    done.add(id);
    for (const c of childrenOf.get(id) ?? []) walk(c);
    out.push(id);
  };
  images.forEach((i) => walk(i.id));
  return out;
}
