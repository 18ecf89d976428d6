// The planner: inventory + policy + now → plan. Pure: it makes no engine calls and reads no clock.
import type {
  ContainerId,
  FreeSpaceTarget,
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  Plan,
  PlannedImage,
  Policy,
  Reason,
  Reference,
  Skip,
  Step
} from './types.js';
import {
  compileImagePattern,
  compileNamePattern,
  familiarName,
  referenceMatcher,
  type ImagePattern
} from './patterns.js';
import { ageTime } from './age.js';
import { chooseUntilFree, estimateSpace, type Unit } from './space.js';

// Only these are stopped. Anything else — running, paused, restarting, removing, Podman's
// "stopping", a state not yet invented — holds its image and is never removed.
const STOPPED_STATES = new Set(['created', 'exited', 'dead']);
const isActive = (c: InventoryContainer) => !STOPPED_STATES.has(c.state);

/** The Actions runner labels its job and service containers with a 6-hex key and an empty value. */
export function isRunnerOwned(c: InventoryContainer): boolean {
  const labelled = Object.entries(c.labels).some(([k, v]) => /^[0-9a-f]{6}$/.test(k) && v === '');
  return labelled || c.networks.some((n) => n.startsWith('github_network_'));
}

interface Matchers {
  select: ImagePattern[];
  excludeRefs: ImagePattern[];
  excludeNames: { source: string; m: ReturnType<typeof compileNamePattern> }[];
  containerNames: NonNullable<ReturnType<typeof compileNamePattern>>[];
}

function compile(policy: Policy): Matchers {
  const defined = <T>(x: T | undefined): x is T => x !== undefined;
  return {
    select: policy.images.map(compileImagePattern).filter(defined),
    excludeRefs: policy.exclude.map(compileImagePattern).filter(defined),
    excludeNames: policy.exclude.map((source) => ({ source, m: compileNamePattern(source) })),
    containerNames: policy.containers.map(compileNamePattern).filter(defined)
  };
}

const isDigest = (ref: Reference) => ref.includes('@');

export const containerStepId = (id: ContainerId) => `container:${id}`;
export const imageStepId = (id: ImageId) => `image:${id}`;

/** When a container stopped: its finish time, or its creation if it never ran. */
const stoppedAt = (c: InventoryContainer) =>
  c.finishedAt && c.finishedAt > 0 ? c.finishedAt : c.created;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function repositoryOf(ref: Reference): string {
  // The repository ends at '@', or at the last ':' after the last '/' (before it: a port).
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/**
 * Whether an image with these references could be deleted under this policy: one a pattern
 * selects, or one without references (dangling, or an untagged parent pruned with its children).
 * The inventory reader fetches layer sizes only for these.
 */
export function mayFree(policy: Policy): (refs: string[]) => boolean {
  const selected = referenceMatcher(compile(policy).select);
  return (refs) => refs.length === 0 || refs.some((r) => selected(r) !== undefined);
}

export function plan(snapshot: Inventory, policy: Policy, now: number): Plan {
  // The engine lists in no stable order; the same state must give the same plan.
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const inventory: Inventory = {
    ...snapshot,
    images: [...snapshot.images].sort(byId),
    containers: [...snapshot.containers].sort(byId)
  };
  const match = compile(policy);
  const images = new Map(inventory.images.map((i) => [i.id, i]));
  const containersOf = new Map<ImageId, InventoryContainer[]>();
  for (const c of inventory.containers) push(containersOf, c.image, c);
  const childrenOf = new Map<ImageId, ImageId[]>();
  for (const i of inventory.images) {
    if (i.parent && images.has(i.parent)) push(childrenOf, i.parent, i.id);
  }
  const skipped: Skip[] = [];
  const skip = (target: string, reason: Reason) => skipped.push({ target, reason });

  // --- Containers: which stopped ones may go, and why the others stay.
  const excludedBy = (c: InventoryContainer) =>
    match.excludeNames.find((e) => e.m && c.names.some((n) => e.m!.match(n)))?.source;
  const containerProtection = (c: InventoryContainer): Reason | undefined => {
    if (isActive(c)) {
      return { kind: 'in-use-by-running-container', container: c.names[0] ?? c.id, state: c.state };
    }
    if (isRunnerOwned(c)) return { kind: 'runner-owned' };
    const pattern = excludedBy(c);
    if (pattern !== undefined) return { kind: 'excluded', pattern };
    if (now - stoppedAt(c) < policy.containersOlderThanMs) {
      return {
        kind: 'too-young',
        ageMs: now - stoppedAt(c),
        minMs: policy.containersOlderThanMs,
        basis: 'stopped'
      };
    }
    return undefined;
  };
  const removable = new Set<ContainerId>();
  for (const c of inventory.containers) {
    if (!match.containerNames.some((m) => c.names.some((n) => m.match(n)))) continue;
    const why = containerProtection(c);
    if (!why) removable.add(c.id);
    else if (why.kind === 'in-use-by-running-container') {
      skip(c.names[0] ?? c.id, { kind: 'container-running', state: c.state });
    } else skip(c.names[0] ?? c.id, why);
  }

  // --- References: what each image loses, decided per image (children do not matter yet).
  const ages = new Map<ImageId, ReturnType<typeof ageTime>>();
  const ageOf = (i: InventoryImage) => {
    let age = ages.get(i.id);
    if (!age) ages.set(i.id, (age = ageTime(i, containersOf.get(i.id) ?? [], policy.ageBasis)));
    return age;
  };
  const selectedRef = referenceMatcher(match.select);
  const excludedRef = referenceMatcher(match.excludeRefs);

  /** References that take a tag-less repository's digests with them are not separate choices. */
  const independentRefs = (i: InventoryImage): Reference[] => {
    if (i.digests.length === 0) return i.tags;
    const taggedRepos = new Set(i.tags.map(repositoryOf));
    return [...i.tags, ...i.digests.filter((d) => !taggedRepos.has(repositoryOf(d)))];
  };

  // keep-latest ranks, per repository, the images that carry selected, non-excluded tags there,
  // newest first; every such tag of a kept image stays (an image's tags share one age).
  const keptByRank = new Map<Reference, { rank: number }>();
  if (policy.keepLatest > 0) {
    const byRepo = new Map<
      string,
      Map<ImageId, { id: ImageId; refs: Reference[]; time: number }>
    >();
    for (const i of inventory.images) {
      for (const ref of i.tags) {
        if (selectedRef(ref) === undefined || excludedRef(ref) !== undefined) continue;
        const repo = familiarName(repositoryOf(ref));
        let entries = byRepo.get(repo);
        if (!entries) byRepo.set(repo, (entries = new Map()));
        const entry = entries.get(i.id);
        if (entry) entry.refs.push(ref);
        else entries.set(i.id, { id: i.id, refs: [ref], time: ageOf(i).time });
      }
    }
    for (const entries of byRepo.values()) {
      const list = [...entries.values()];
      list.sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
      list.slice(0, policy.keepLatest).forEach((e, n) => {
        for (const ref of e.refs) keptByRank.set(ref, { rank: n + 1 });
      });
    }
  }

  interface Decision {
    image: InventoryImage;
    untag: Reference[];
    /** References that stay on the image. */
    remaining: Reference[];
    /** Set when the image itself is a candidate for deletion (all references go, or dangling). */
    candidate: boolean;
  }
  const decisions = new Map<ImageId, Decision>();

  for (const image of inventory.images) {
    const refs = independentRefs(image);
    const selected = refs.filter((r) => selectedRef(r) !== undefined);
    const containers = containersOf.get(image.id) ?? [];
    const isDangling =
      image.tags.length === 0 && image.digests.length === 0 && !childrenOf.has(image.id);
    const danglingSelected = isDangling && policy.dangling;
    const decision: Decision = {
      image,
      untag: [],
      remaining: [...refs],
      candidate: false
    };
    decisions.set(image.id, decision);
    if (selected.length === 0 && !danglingSelected) continue;
    const targets: string[] = selected.length > 0 ? selected : [image.id];

    const running = containers.find(isActive);
    if (running) {
      const reason: Reason = {
        kind: 'in-use-by-running-container',
        container: running.names[0] ?? running.id,
        state: running.state
      };
      targets.forEach((t) => skip(t, reason));
      continue;
    }
    const age = ageOf(image);
    if (now - age.time < policy.olderThanMs) {
      const reason: Reason = {
        kind: 'too-young',
        ageMs: now - age.time,
        minMs: policy.olderThanMs,
        basis: age.basis
      };
      targets.forEach((t) => skip(t, reason));
      continue;
    }

    const untag: Reference[] = [];
    for (const ref of selected) {
      const pattern = excludedRef(ref);
      const kept = keptByRank.get(ref);
      if (pattern !== undefined) skip(ref, { kind: 'excluded', pattern });
      else if (kept)
        skip(ref, { kind: 'kept-by-keep-latest', rank: kept.rank, keep: policy.keepLatest });
      else untag.push(ref);
    }
    // An excluded digest is removed by the engine with the last tag of its repository.
    for (const digest of image.digests) {
      const pattern = excludedRef(digest);
      if (pattern === undefined) continue;
      const repo = repositoryOf(digest);
      for (const ref of untag.filter((r) => repositoryOf(r) === repo)) {
        skip(ref, { kind: 'excluded', pattern });
        untag.splice(untag.indexOf(ref), 1);
      }
    }
    decision.untag = untag;
    const going = new Set(untag);
    decision.remaining = refs.filter((r) => !going.has(r));
    if (decision.remaining.length > 0) {
      if (untag.length > 0) {
        skip(image.id, { kind: 'still-tagged', references: decision.remaining });
      }
      continue;
    }
    // Every reference goes: the image itself may go, if its containers can.
    const held = containers
      .map((c) => ({ c, why: containerProtection(c) }))
      .find((x) => x.why !== undefined);
    if (held) {
      const reason: Reason = {
        kind: 'held-by-kept-container',
        container: held.c.names[0] ?? held.c.id,
        because: held.why!
      };
      targets.forEach((t) => skip(t, reason));
      decision.untag = [];
      decision.remaining = refs;
      continue;
    }
    if (isDangling && containers.some((c) => !removable.has(c.id))) {
      // Dangling images are only taken when no container uses them, unless `containers` takes those.
      const c = containers.find((x) => !removable.has(x.id))!;
      skip(image.id, { kind: 'used-by-unselected-container', container: c.names[0] ?? c.id });
      continue;
    }
    decision.candidate = true;
  }

  // --- Images: children before parents. A kept child holds its parent (a hard conflict).
  const order = topologicalChildrenFirst(inventory.images, childrenOf);
  const deleted = new Map<ImageId, PlannedImage>();
  const removeContainers = new Set<ContainerId>(removable);
  for (const id of order) {
    const d = decisions.get(id)!;
    const children = childrenOf.get(id) ?? [];
    const keptChild = children.find((c) => !deleted.has(c));
    const containers = containersOf.get(id) ?? [];
    // An untagged parent is pruned by the engine with its last child, if nothing else holds it.
    const prunable =
      !d.candidate &&
      d.remaining.length === 0 &&
      children.length > 0 &&
      keptChild === undefined &&
      containers.every((c) => removable.has(c.id));
    if (!d.candidate && !prunable) continue;
    if (keptChild !== undefined) {
      skip(id, { kind: 'parent-of-kept-image', child: keptChild });
      // Its references can still go, leaving an untagged parent; but a container refuses the
      // removal of the last one, and removing containers is only for images that go.
      if (containers.length > 0) d.untag = [];
      continue;
    }
    const age = ageOf(d.image);
    deleted.set(id, {
      id,
      references: [...d.image.tags, ...d.image.digests],
      size: d.image.size,
      basisTime: age.time,
      basis: age.basis,
      prunedParent: prunable,
      freedBytes: 0
    });
    containers.forEach((c) => removeContainers.add(c.id));
  }

  // --- until-free: only the least recently used removals the target needs.
  let target: FreeSpaceTarget | undefined;
  if (policy.untilFreeBytes !== undefined) {
    const freeBytes = inventory.disk?.freeBytes ?? 0;
    const need = policy.untilFreeBytes - freeBytes;
    const units: Unit[] = [];
    const prunedParents = new Map<ImageId, ImageId[]>();
    const below = (id: ImageId): ImageId[] =>
      (childrenOf.get(id) ?? []).filter((c) => deleted.has(c)).flatMap((c) => [c, ...below(c)]);
    for (const [id, img] of deleted) {
      const group = [id, ...below(id)];
      if (img.prunedParent) prunedParents.set(id, childrenOf.get(id) ?? []);
      else {
        const containers = group.flatMap((g) => (containersOf.get(g) ?? []).map((c) => c.id));
        units.push({ images: group, containers, time: img.basisTime });
      }
    }
    for (const c of inventory.containers) {
      if (removeContainers.has(c.id) && !deleted.has(c.image)) {
        units.push({ images: [], containers: [c.id], time: stoppedAt(c) });
      }
    }
    const chosen =
      need > 0
        ? chooseUntilFree(inventory, units, need, prunedParents)
        : { images: new Set<ImageId>(), containers: new Set<ContainerId>() };
    const reason: Reason = { kind: 'free-space-target-met', targetBytes: policy.untilFreeBytes };
    const dropped = new Set<ImageId>();
    for (const id of [...deleted.keys()]) {
      if (chosen.images.has(id)) continue;
      if (!deleted.get(id)!.prunedParent) skip(id, reason);
      deleted.delete(id);
      dropped.add(id);
    }
    for (const c of inventory.containers) {
      if (removeContainers.has(c.id) && !chosen.containers.has(c.id)) {
        if (!deleted.has(c.image)) skip(c.names[0] ?? c.id, reason);
        removeContainers.delete(c.id);
      }
    }
    // Removing a reference from an image that stays frees nothing.
    for (const d of decisions.values()) {
      if (deleted.has(d.image.id)) continue;
      if (!dropped.has(d.image.id)) d.untag.forEach((ref) => skip(ref, reason));
      d.untag = [];
    }
    target = {
      targetBytes: policy.untilFreeBytes,
      freeBytes,
      predictedFreeBytes: freeBytes,
      alreadyMet: need <= 0
    };
  }
  const space = estimateSpace(inventory, new Set(deleted.keys()), removeContainers);
  for (const img of deleted.values()) img.freedBytes = space.perImage.get(img.id) ?? 0;
  if (target) target.predictedFreeBytes = target.freeBytes + space.bytes;

  // --- Steps as a dependency graph.
  const steps: Step[] = [];
  const containerStep = new Map<ContainerId, string>();
  const removedContainers: Plan['removeContainers'] = [];
  for (const c of inventory.containers) {
    if (!removeContainers.has(c.id)) continue;
    const id = containerStepId(c.id);
    containerStep.set(c.id, id);
    const name = c.names[0] ?? c.id;
    steps.push({
      id,
      kind: 'remove-container',
      container: c.id,
      name,
      image: c.image,
      dependsOn: []
    });
    removedContainers.push({ id: c.id, name, image: c.image, sizeRw: c.sizeRw ?? 0 });
  }
  const imageStep = imageStepId;
  const prunedAncestors = (id: ImageId): ImageId[] => {
    const parent = images.get(id)?.parent;
    return parent && deleted.get(parent)?.prunedParent ? [parent, ...prunedAncestors(parent)] : [];
  };
  const untagOnly: Reference[] = [];
  for (const id of order) {
    const d = decisions.get(id)!;
    const goes = deleted.has(id);
    if (!goes) {
      // Untagging one of several references, or the last one of a parent kept by its children,
      // leaves the image in place and is refused by nothing.
      for (const ref of d.untag) {
        steps.push({ id: `untag:${ref}`, kind: 'untag', reference: ref, image: id, dependsOn: [] });
        untagOnly.push(ref);
      }
      continue;
    }
    const holders = [
      ...(containersOf.get(id) ?? []).map((c) => containerStep.get(c.id)!),
      ...(childrenOf.get(id) ?? []).filter((c) => deleted.has(c)).map(imageStep),
      // The engine prunes untagged parents with their child, so their containers must be gone first.
      ...prunedAncestors(id).flatMap((a) =>
        (containersOf.get(a) ?? []).map((c) => containerStep.get(c.id)!)
      )
    ];
    // Digests first: the last reference removed must be the one whose removal deletes the image.
    const refs = [...d.untag].sort(
      (a, b) => Number(isDigest(b)) - Number(isDigest(a)) || (a < b ? -1 : a > b ? 1 : 0)
    );
    const earlier = refs.slice(0, -1).map((ref) => `untag:${ref}`);
    refs.forEach((ref, n) => {
      const last = n === refs.length - 1;
      steps.push({
        id: `untag:${ref}`,
        kind: 'untag',
        reference: ref,
        image: id,
        dependsOn: last ? [...earlier, ...holders] : []
      });
    });
    const lastUntag = refs.length > 0 ? [`untag:${refs[refs.length - 1]}`] : holders;
    steps.push({ id: imageStep(id), kind: 'delete-image', image: id, dependsOn: lastUntag });
  }

  return {
    now,
    steps,
    deleteImages: order.filter((id) => deleted.has(id)).map((id) => deleted.get(id)!),
    untagOnly,
    removeContainers: removedContainers,
    skipped,
    space: {
      bytes: space.bytes,
      exact: space.exact,
      containerBytes: space.containerBytes,
      sharedBytes: space.sharedBytes,
      layers: space.layers
    },
    ...(target ? { target } : {})
  };
}

/** Image IDs ordered so that every child comes before its parent; ties keep inventory order. */
function topologicalChildrenFirst(
  images: InventoryImage[],
  childrenOf: Map<ImageId, ImageId[]>
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
