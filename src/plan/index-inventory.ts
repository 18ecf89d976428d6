// Lookups that every planner phase needs, built once from the inventory. Read-only after that.
//
// The phases walk the images in ID order, which is no order the inventory's objects lie in
// memory. So the index parses each reference once, and keeps what the phases look up in entries
// and nodes made in ID order, and in arrays by position rather than maps keyed by ID: on 50,000
// images, re-reading and re-hashing the inventory's strings in every phase was most of the time.
import { ageTime, type AgeTime } from './age.js';
import { referenceParser, type ParsedRef } from './patterns.js';
import type {
  AgeBasis,
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  Reference
} from './types.js';

/** An image as the inventory lists it, with its references parsed. */
export interface ImageEntry {
  readonly image: InventoryImage;
  readonly node: ImageNode;
  /** `image.tags`, parsed, at the same positions. */
  readonly tags: readonly ParsedRef[];
  /** `image.digests`, parsed, at the same positions. */
  readonly digests: readonly ParsedRef[];
}

/**
 * One image ID of the inventory, with what the phases look up about it. The phases keep their
 * per-image results in arrays indexed by `n` rather than in maps keyed by the 71-character ID.
 */
export interface ImageNode {
  /** Its position in `InventoryIndex.nodes`. */
  readonly n: number;
  readonly id: ImageId;
  /** The image decided on: the last one listed with this ID (the engine lists each once). */
  readonly entry: ImageEntry;
  /** The containers that use it, in ID order. */
  readonly containers: readonly InventoryContainer[];
  /** Legacy-builder children: one for each listed image whose parent it is. */
  readonly children: readonly ImageNode[];
  /** Its image's legacy-builder parent, when that is in the inventory. */
  readonly parent: ImageNode | undefined;
}

export interface InventoryIndex {
  /** The inventory with images and containers in ID order: the same state gives the same plan. */
  inventory: Inventory;
  /** Each image of `inventory.images`, at the same position. */
  entries: readonly ImageEntry[];
  /** One node per image ID, in ID order. */
  nodes: readonly ImageNode[];
  byId: ReadonlyMap<ImageId, ImageNode>;
  /** Every image node, each child before its parent. */
  childrenFirst: readonly ImageNode[];
  /**
   * An image's age under the policy's basis; computed on first use, from the entry asked about
   * first should the engine list an ID twice.
   */
  ageOf(entry: ImageEntry): AgeTime;
}

interface NodeUnderConstruction {
  n: number;
  id: ImageId;
  /** The image listed first with this ID. */
  first: InventoryImage;
  entry: ImageEntry;
  containers: InventoryContainer[];
  children: ImageNode[];
  parent: ImageNode | undefined;
}

// Most images have no digest, no container or no child: they share these instead of an empty
// array each.
const NO_REFS: ParsedRef[] = [];
const NO_CONTAINERS: InventoryContainer[] = [];
const NO_CHILDREN: ImageNode[] = [];

const inIdOrder = <T extends { id: string }>(a: T, b: T) =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export function indexInventory(snapshot: Inventory, basis: AgeBasis, now: number): InventoryIndex {
  const nodeById = new Map<ImageId, NodeUnderConstruction>();
  // References are parsed in listed order, the order their strings lie in memory: parsed in ID
  // order, which jumps about, indexing 50,000 images took 20 ms more.
  const parse = referenceParser();
  const parseAll = (refs: readonly Reference[]) => (refs.length === 0 ? NO_REFS : refs.map(parse));
  // The engine lists each ID once; should it list one again, the later listings wait here.
  const relisted = new Map<ImageId, InventoryImage[]>();
  for (let i = 0; i < snapshot.images.length; i++) {
    const image = snapshot.images[i]!;
    if (nodeById.has(image.id)) {
      const later = relisted.get(image.id);
      if (later) later.push(image);
      else relisted.set(image.id, [image]);
    } else {
      const node: NodeUnderConstruction = {
        n: -1,
        id: image.id,
        first: image,
        entry: undefined as unknown as ImageEntry, // made next: it names the node
        containers: NO_CONTAINERS,
        children: NO_CHILDREN,
        parent: undefined
      };
      node.entry = { image, node, tags: parseAll(image.tags), digests: parseAll(image.digests) };
      nodeById.set(image.id, node);
    }
  }
  const containers = [...snapshot.containers].sort(inIdOrder);
  for (let i = 0; i < containers.length; i++) {
    const c = containers[i]!;
    const node = nodeById.get(c.image);
    if (!node) continue;
    if (node.containers === NO_CONTAINERS) node.containers = [c];
    else node.containers.push(c);
  }
  // The engine lists in no stable order. Sorting the IDs alone, without a comparator, compares
  // them natively: with one, Array#sort calls back into JavaScript 800,000 times for 50,000
  // images. An ID listed twice keeps its listed order.
  const ids = [...nodeById.keys()].sort();
  const images: InventoryImage[] = [];
  const entries: ImageEntry[] = [];
  const nodes: NodeUnderConstruction[] = [];
  const list = (image: InventoryImage, node: NodeUnderConstruction) => {
    if (image !== node.first) {
      node.entry = { image, node, tags: parseAll(image.tags), digests: parseAll(image.digests) };
    }
    images.push(image);
    entries.push(node.entry);
    const parent = image.parent ? nodeById.get(image.parent) : undefined;
    node.parent = parent;
    if (!parent) return;
    if (parent.children === NO_CHILDREN) parent.children = [node];
    else parent.children.push(node);
  };
  for (let i = 0; i < ids.length; i++) {
    const node = nodeById.get(ids[i]!)!;
    node.n = nodes.length;
    nodes.push(node);
    list(node.first, node);
    if (relisted.size > 0) relisted.get(node.id)?.forEach((image) => list(image, node));
  }
  const ages = new Array<AgeTime | undefined>(nodes.length).fill(undefined);
  return {
    inventory: { ...snapshot, images, containers },
    entries,
    nodes,
    byId: nodeById,
    childrenFirst: topologicalChildrenFirst(nodes),
    ageOf: ({ image, node }) => (ages[node.n] ??= ageTime(image, node.containers, basis, now))
  };
}

/** Image nodes ordered so that every child comes before its parent; ties keep ID order. */
function topologicalChildrenFirst(nodes: readonly ImageNode[]): ImageNode[] {
  const out: ImageNode[] = [];
  const done = new Array<boolean>(nodes.length).fill(false);
  const walk = (node: ImageNode) => {
    if (done[node.n]) return;
    done[node.n] = true;
    for (let i = 0; i < node.children.length; i++) walk(node.children[i]!);
    out.push(node);
  };
  nodes.forEach(walk);
  return out;
}
