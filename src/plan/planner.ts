// The planner: inventory + policy + now → plan. Pure: it makes no engine calls and reads no clock.
// Each phase takes the earlier phases' results as read-only values and returns its own.
//
// A plan is made once per run, so most of it runs before V8 has optimised it. There, `for … of`
// makes an iterator result for every element, and a closure that names a function's variables
// makes that function's scope anew on every call. So the passes over images, references and steps
// loop by index, and keep such closures out of what they call per image: at 50,000 images, a
// first plan allocated about 200 MB before this and 120 MB after.
import { decideBuildCache } from './build-cache.js';
import { decideContainers } from './containers.js';
import { decideImages } from './images.js';
import { indexInventory } from './index-inventory.js';
import { rankKeepLatest } from './keep-latest.js';
import { measureLeftovers } from './leftovers.js';
import { compileMatchers } from './matchers.js';
import { decideReferences } from './references.js';
import { deletedImages } from './selection.js';
import { estimateFreed } from './space.js';
import { buildSteps } from './steps.js';
import type { Inventory, Plan, Policy } from './types.js';
import { narrowUntilFree } from './until-free.js';
import { decideVolumes } from './volumes.js';

export { mayFree } from './matchers.js';
export { stepId } from './steps.js';

export function plan(snapshot: Inventory, policy: Policy, now: number): Plan {
  const index = indexInventory(snapshot, policy.ageBasis, now);
  const match = compileMatchers(policy);
  const containers = decideContainers(index, policy, match, now);
  const keptByRank = rankKeepLatest(index, policy, match);
  const references = decideReferences(index, policy, match, containers, keptByRank, now);
  const images = decideImages(index, references, containers);
  const volumes = decideVolumes(index, policy, match, images.selection.containers);
  const buildCache = decideBuildCache(
    index.inventory.buildCache,
    policy.job ? 0 : policy.buildCacheOlderThanMs,
    now,
    match.job && { only: match.job.buildCache }
  );
  const untilFree = narrowUntilFree(index, policy, {
    ...images.selection,
    volumes: volumes.remove,
    buildCache: buildCache.remove
  });
  const selection = untilFree.selection;
  const space = estimateFreed(
    index.inventory,
    index.entries.map(({ node }) => selection.images[node.n] !== undefined),
    selection.containers,
    selection.volumes.values(),
    selection.buildCache.values()
  );
  const { steps, removeContainers } = buildSteps(index, selection);
  return {
    now,
    steps,
    // decideImages leaves freedBytes at 0: only an image that frees a layer of its own needs a copy.
    deleteImages: deletedImages(index, selection).map((img) => {
      const freedBytes = space.perImage.get(img.id) ?? 0;
      return freedBytes === img.freedBytes ? img : { ...img, freedBytes };
    }),
    removeContainers,
    removeVolumes: [...selection.volumes.values()],
    pruneBuildCache: [...selection.buildCache.values()],
    skipped: [
      ...containers.skipped,
      ...references.skipped,
      ...images.skipped,
      ...volumes.skipped,
      ...buildCache.skipped,
      ...untilFree.skipped
    ],
    space: {
      bytes: space.bytes,
      exact: space.exact,
      containerBytes: space.containerBytes,
      volumeBytes: space.volumeBytes,
      buildCacheBytes: space.buildCacheBytes,
      sharedBytes: space.sharedBytes,
      layers: space.layers
    },
    ...(untilFree.target ? { target: untilFree.target } : {}),
    leftovers: measureLeftovers(index, policy, selection, now)
  };
}
