// Reading the engine's state into an Inventory: a fixed number of list calls, then inspects in parallel.
import type Docker from 'dockerode';
import type {
  ContainerId,
  ContainerState,
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  Reference
} from '../plan/types.js';
import { mapPool } from '../pool.js';
import {
  chainIds,
  deriveMissingSizes,
  layerSizesFromHistory,
  type HistoryEntry
} from './layers.js';

// Reads run side by side in the engine, unlike untags: 32 at a time halves the inventory's time
// against 8 (docs/benchmarks.md).
const INSPECT_CONCURRENCY = 32;

/**
 * An image ID as the plan writes it, `sha256:…`: Podman leaves the algorithm off some IDs (its
 * deleted images, Parent), where the classic store and containerd include it.
 */
export function imageId(id: string): ImageId {
  return (/^[0-9a-f]{64}$/.test(id) ? `sha256:${id}` : id) as ImageId;
}

/** Go's zero time (0001-01-01) and unparsable values mean "never". */
export function timeOf(value: string | number | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = typeof value === 'number' ? value * 1000 : Date.parse(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

const realRefs = (refs: string[] | null | undefined) =>
  (refs ?? []).filter((r) => !r.startsWith('<none>')) as Reference[];

const present = <T>(x: T | undefined): x is T => x !== undefined;

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/**
 * The answer, or undefined if the object is gone. Another process removing it between our list
 * and this call can also surface as a 500 ("layer does not exist"): ask once more whether it still
 * exists before calling that an error.
 */
async function unlessGone<T>(
  call: Promise<T>,
  stillThere: () => Promise<unknown>
): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    try {
      await stillThere();
    } catch (again) {
      if (statusOf(again) === 404) return undefined;
    }
    throw e;
  }
}

/**
 * `mayFree` says which images the plan could delete, from their references alone: only their
 * layers need sizes. Every image needs its layers, to know what it holds. Containers are inspected
 * only for their start and finish times, which only an age needs (`containerTimes`); their
 * writable layers' sizes come from /system/df (usage.ts).
 */
export async function readInventory(
  docker: Docker,
  mayFree: (refs: string[]) => boolean = () => true,
  { containerTimes = true }: { containerTimes?: boolean } = {}
): Promise<Inventory> {
  const [listedImages, listedContainers] = await Promise.all([
    docker.listImages({ all: true }),
    docker.listContainers({ all: true })
  ]);

  const layerSizes: Record<string, number> = {};
  // Each with the ID as the engine listed it: Podman leaves the algorithm off some.
  const needSizes: { image: InventoryImage; listedId: string }[] = [];
  const images = await mapPool(listedImages, INSPECT_CONCURRENCY, async (listed) => {
    const handle = docker.getImage(listed.Id);
    const refs = [...realRefs(listed.RepoTags), ...realRefs(listed.RepoDigests)];
    const info = await unlessGone(handle.inspect(), () => handle.inspect());
    if (!info) return undefined;
    const lastTag = (info as { Metadata?: { LastTagTime?: string } }).Metadata?.LastTagTime;
    // Docker 29's containerd store lists digest names (repo@sha256:…) among RepoTags too.
    const names = realRefs(listed.RepoTags);
    const image: InventoryImage = {
      id: imageId(listed.Id),
      tags: names.filter((r) => !r.includes('@')),
      digests: [
        ...new Set([...names.filter((r) => r.includes('@')), ...realRefs(listed.RepoDigests)])
      ],
      created: timeOf(info.Created) ?? timeOf(listed.Created) ?? 0,
      size: listed.Size
    };
    const parent = info.Parent || listed.ParentId;
    if (parent) image.parent = imageId(parent);
    const tagged = timeOf(lastTag);
    if (tagged !== undefined) image.lastTagTime = tagged;
    const diffIds = info.RootFS?.Layers;
    if (diffIds && diffIds.length > 0) {
      image.layers = chainIds(diffIds);
      if (mayFree(refs)) {
        // A single layer is the whole image.
        if (image.layers.length === 1) layerSizes[image.layers[0]!] ??= image.size;
        else needSizes.push({ image, listedId: listed.Id });
      }
    }
    return image;
  });
  await sizeLayersFromHistory(docker, needSizes, layerSizes);

  const containers = await mapPool(listedContainers, INSPECT_CONCURRENCY, async (listed) => {
    const container: InventoryContainer = {
      id: listed.Id as ContainerId,
      names: (listed.Names ?? []).map((n) => n.replace(/^\//, '')),
      image: imageId(listed.ImageID),
      state: listed.State as ContainerState,
      created: timeOf(listed.Created) ?? 0,
      labels: listed.Labels ?? {},
      networks: Object.keys(listed.NetworkSettings?.Networks ?? {}),
      volumes: (listed.Mounts ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : []))
    };
    if (!containerTimes) return container;
    // Start and finish times are only in the inspect answer.
    const handle = docker.getContainer(listed.Id);
    const info = await unlessGone(handle.inspect(), () => handle.inspect());
    if (!info) return undefined;
    const started = timeOf(info.State?.StartedAt);
    const finished = timeOf(info.State?.FinishedAt);
    if (started !== undefined) container.startedAt = started;
    if (finished !== undefined) container.finishedAt = finished;
    return container;
  });

  // Something removed between the list and the inspect is simply not in the snapshot.
  const found = images.filter(present);
  deriveMissingSizes(found, layerSizes);
  return { images: found, containers: containers.filter(present), layerSizes };
}

/**
 * Fills `sizes` for the layers of `images` from their histories. A layer has one size in every
 * image that holds it, so each round asks only images that hold a layer no answer has sized yet,
 * those with the most layers first: images that share their layers (rebuilds, tags pulled again,
 * one base under many) then cost one history call between them. An image that is gone, or whose
 * history cannot be read as layers, leaves its layers to the next round and another image.
 */
async function sizeLayersFromHistory(
  docker: Docker,
  images: readonly { image: InventoryImage; listedId: string }[],
  sizes: Record<string, number>
): Promise<void> {
  const unsized = (layer: string) => sizes[layer] === undefined;
  const asked = new Set<InventoryImage>();
  const byLayerCount = [...images].sort((a, b) => b.image.layers!.length - a.image.layers!.length);
  for (;;) {
    const claimed = new Set<string>();
    const round = byLayerCount.filter(({ image }) => {
      if (asked.has(image) || !image.layers!.some((l) => unsized(l) && !claimed.has(l))) {
        return false;
      }
      image.layers!.forEach((l) => claimed.add(l));
      return true;
    });
    if (round.length === 0) return;
    await mapPool(round, INSPECT_CONCURRENCY, async ({ image, listedId }) => {
      asked.add(image);
      const handle = docker.getImage(listedId);
      const history = await unlessGone(handle.history() as Promise<HistoryEntry[]>, () =>
        handle.inspect()
      );
      const found = layerSizesFromHistory(history ?? [], image.layers!.length, image.size);
      found?.forEach((size, n) => (sizes[image.layers![n]!] ??= size));
    });
  }
}
