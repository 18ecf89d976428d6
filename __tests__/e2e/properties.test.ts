// Issue #4, "Properties, on the real engine": the generated-state property of
// __tests__/unit/plan-properties.test.ts, but on a private dockerd instead of the fake engine.
// fast-check generates engine states and policies; each case is built on the engine, read with
// readInventory, planned with plan() and run with execute() from src/, and must show:
//   (a) not one refused or failed step (no 409, nothing blocked);
//   (b) exactly the planned removals: removed containers = plan.removeContainers, deleted images =
//       plan.deleteImages, removed references = the planned untag steps, and the engine's own
//       `Deleted` answers name exactly the planned images;
//   (c) nothing outside the selection changed, judged by oracles written here from the README (not
//       by the product's matcher): every removed reference is in the case's namespace, selected by
//       `images` and not excluded, and old enough by `created` (the youngest basis there is); every
//       removed container is stopped, not excluded, and selected by `containers` or held an image
//       that went; running and paused containers, their images, those images' references and
//       ancestors all stay; and every selected, non-excluded reference that stays is explained in
//       plan.skipped;
//   (d) the engine ends where the plan said: before minus the planned removals, references included.
//
// Setup is the cost, so a fast-check run is a BATCH of independent cases built together: one
// loadImages archive, the few legacy builds that parent chains need, and containers created through
// the API a few at a time. Case k owns repositories `c<k>/…` and containers `c<k>-…`, and its
// patterns are written inside that namespace, so its policy can only select its own things. Dangling
// images have no name and are global: a case with `dangling: true` may delete another case's dangling
// images (only those no container uses), which the checks allow; such cases run last in their batch.
//
// What the generated states do not have, and why:
// - Digest references (repo@sha256:…): the engine records one only on a push or a pull, and no
//   registry is reachable here, so RepoDigests stays empty (checked below). The fake engine's
//   property covers digests.
// - 'dead' containers: the engine marks a container dead only when its removal fails halfway, which
//   cannot be produced on purpose ('restarting' and 'removing' are as transient). Created, exited,
//   running and paused are all generated.
// - Container ages other than "just now": the engine stamps container times with its own clock, so
//   containers-older-than is either 0 or longer than the whole run.
//
// FC_SEED (and FC_PATH) replay a run; FC_RUNS and PROPS_BATCH change its size; FC_SHRINK=1 lets
// fast-check shrink a failure (each shrink step rebuilds a batch, so it is off by default).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import fc from 'fast-check';
import { connect } from '../../src/engine/connect.js';
import { readInventory } from '../../src/engine/inventory.js';
import { dockerRemover } from '../../src/engine/remove.js';
import { execute } from '../../src/execute.js';
import { plan } from '../../src/plan/planner.js';
import type { AgeBasis, Outcome, Plan, Policy } from '../../src/plan/types.js';
import {
  buildImage,
  loadImages,
  resetEngine,
  startEngine,
  type Engine,
  type ImageSpec
} from '../harness/engine.mjs';
import { deletedBy, fieldsOf } from '../../__fixtures__/outcome.js';
import { untagOnly } from '../../__fixtures__/plan.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const BATCH = Number(process.env.PROPS_BATCH ?? 10);
const RUNS = Number(process.env.FC_RUNS ?? 24);

// --- The vocabulary of a case. Repositories and tags are the suffixes after `c<k>/`.

const REPOS = ['a', 'b/x', 'c'] as const;
const TAGS = ['v1', 'v2', 'latest'] as const;
const PREFIXES = ['x', 'y', 'keep'] as const;
type Repo = (typeof REPOS)[number];
type Tag = (typeof TAGS)[number];
type Prefix = (typeof PREFIXES)[number];
/** 'dead' cannot be produced on purpose; see the top of the file. */
type State = 'created' | 'exited' | 'running' | 'paused';

/** A pattern template for namespace `ns`, with what it selects by the README's rules. */
interface RefTemplate {
  text: (ns: string) => string;
  ref: (repo: Repo, tag: Tag) => boolean;
}
interface ExcludeTemplate extends RefTemplate {
  name: (prefix: Prefix) => boolean;
}
interface NameTemplate {
  text: (ns: string) => string;
  name: (prefix: Prefix) => boolean;
}

const never = () => false;
const IMAGE_PATTERNS: RefTemplate[] = [
  { text: (ns) => `${ns}/**`, ref: () => true },
  { text: (ns) => `${ns}/a`, ref: (r) => r === 'a' },
  { text: (ns) => `${ns}/a:*`, ref: (r) => r === 'a' },
  { text: (ns) => `${ns}/a:v1`, ref: (r, t) => r === 'a' && t === 'v1' },
  // `*` stays within one path segment: not b/x.
  { text: (ns) => `${ns}/*:latest`, ref: (r, t) => r !== 'b/x' && t === 'latest' },
  { text: (ns) => `${ns}/b/*`, ref: (r) => r === 'b/x' },
  { text: (ns) => `${ns}/{a,c}:v{1,2}`, ref: (r, t) => r !== 'b/x' && t !== 'latest' },
  // The fully qualified form of a Docker Hub name selects what the engine lists as c<k>/c.
  { text: (ns) => `docker.io/${ns}/c`, ref: (r) => r === 'c' },
  { text: (ns) => `${ns}/?:v2`, ref: (r, t) => r !== 'b/x' && t === 'v2' },
  { text: (ns) => `${ns}/**:l*`, ref: (_r, t) => t === 'latest' }
];
// Each exclude pattern applies to references and to container names alike.
const EXCLUDE_PATTERNS: ExcludeTemplate[] = [
  { text: (ns) => `${ns}/a:v1`, ref: (r, t) => r === 'a' && t === 'v1', name: never },
  { text: (ns) => `${ns}/*:latest`, ref: (r, t) => r !== 'b/x' && t === 'latest', name: never },
  { text: (ns) => `${ns}/c`, ref: (r) => r === 'c', name: never },
  { text: (ns) => `${ns}/b/**`, ref: (r) => r === 'b/x', name: never },
  { text: (ns) => `${ns}-keep*`, ref: never, name: (p) => p === 'keep' },
  { text: (ns) => `${ns}-x?`, ref: never, name: (p) => p === 'x' },
  { text: (ns) => `${ns}-*`, ref: never, name: () => true }
];
const CONTAINER_PATTERNS: NameTemplate[] = [
  { text: (ns) => `${ns}-*`, name: () => true },
  { text: (ns) => `${ns}-x*`, name: (p) => p === 'x' },
  { text: (ns) => `${ns}-y?`, name: (p) => p === 'y' },
  { text: (ns) => `${ns}-{x,keep}*`, name: (p) => p === 'x' || p === 'keep' }
];

// --- Generated cases.

interface CaseSpec {
  ns: string;
  /** `parent`: built FROM that earlier image with the legacy builder (created now); else loaded. */
  images: { refs: string[]; parent?: number; ageDays?: number }[];
  containers: { name: string; image: number; state: State }[];
  policy: Policy;
  /** Indices into the template lists, for the oracles. */
  picks: { images: number[]; exclude: number[]; containers: number[] };
  concurrency: number;
}

const AGE_DAYS = [0, 2, 10, 100];
const OLDER_THAN_DAYS = [0, 0, 0, 1, 7, 30];

const caseArb = fc.record({
  images: fc.array(
    fc.record({
      refs: fc.uniqueArray(fc.tuple(fc.constantFrom(...REPOS), fc.constantFrom(...TAGS)), {
        maxLength: 3,
        selector: ([r, t]) => `${r}:${t}`
      }),
      parent: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 2, arbitrary: fc.nat(11) }
      ),
      ageDays: fc.constantFrom(...AGE_DAYS)
    }),
    { minLength: 1, maxLength: 5 }
  ),
  containers: fc.array(
    fc.record({
      image: fc.nat(11),
      // Mostly stopped: an image that a running container uses is kept whatever the policy says.
      state: fc.constantFrom<State>('created', 'created', 'exited', 'exited', 'running', 'paused'),
      prefix: fc.constantFrom(...PREFIXES)
    }),
    { maxLength: 3 }
  ),
  imagePatterns: fc.subarray([...IMAGE_PATTERNS.keys()], { minLength: 1, maxLength: 3 }),
  exclude: fc.subarray([...EXCLUDE_PATTERNS.keys()], { maxLength: 2 }),
  containerPatterns: fc.subarray([...CONTAINER_PATTERNS.keys()], { maxLength: 2 }),
  olderThanDays: fc.constantFrom(...OLDER_THAN_DAYS),
  ageBasis: fc.constantFrom<AgeBasis>('created', 'tagged', 'last-used'),
  keepLatest: fc.constantFrom(0, 0, 1, 2),
  dangling: fc.boolean(),
  containersOlderThanMs: fc.constantFrom(0, 0, 0, HOUR),
  concurrency: fc.constantFrom(1, 8)
});
type RawCase = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** Puts a generated case into namespace c<k>: full references, names and patterns. */
function resolveCase(raw: RawCase, k: number): CaseSpec {
  const ns = `c${k}`;
  const taken = new Set<string>();
  const images = raw.images.map((img, i) => {
    // A reference names one image: the first image to claim it keeps it.
    const refs = img.refs
      .map(([r, t]) => `${ns}/${r}:${t}`)
      .filter((ref) => !taken.has(ref) && taken.add(ref));
    // Parents come earlier in the list, so chains never loop; the first image is always loaded.
    return img.parent === null || i === 0
      ? { refs, ageDays: img.ageDays }
      : { refs, parent: img.parent % i };
  });
  const containers = raw.containers.map((c, j) => ({
    name: `${ns}-${c.prefix}${j}`,
    image: c.image % images.length,
    state: c.state
  }));
  return {
    ns,
    images,
    containers,
    policy: {
      images: raw.imagePatterns.map((n) => IMAGE_PATTERNS[n]!.text(ns)),
      exclude: raw.exclude.map((n) => EXCLUDE_PATTERNS[n]!.text(ns)),
      olderThanMs: raw.olderThanDays * DAY,
      ageBasis: raw.ageBasis,
      keepLatest: raw.keepLatest,
      dangling: raw.dangling,
      containers: raw.containerPatterns.map((n) => CONTAINER_PATTERNS[n]!.text(ns)),
      containersOlderThanMs: raw.containersOlderThanMs
    },
    picks: { images: raw.imagePatterns, exclude: raw.exclude, containers: raw.containerPatterns },
    concurrency: raw.concurrency
  };
}

/** BATCH cases; those with `dangling: true` last, as they may take other cases' dangling images. */
const batchArb = fc
  .array(caseArb, { minLength: BATCH, maxLength: BATCH })
  .map((raws) =>
    raws.map(resolveCase).sort((a, b) => Number(a.policy.dangling) - Number(b.policy.dangling))
  );

// --- Building a batch on the engine.

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A container in any state on any image, through the API. The loaded images hold no executable, so
 * the host's static busybox is bind-mounted read-only at /bin/busybox (the same binary the harness's
 * busybox image holds); this keeps every generated image usable by a running container.
 */
async function makeContainer(docker: Docker, name: string, image: string, state: State) {
  const cmd = state === 'exited' ? ['true'] : ['sleep', '3600'];
  const c = await docker.createContainer({
    name,
    Image: image,
    Cmd: ['/bin/busybox', ...cmd],
    HostConfig: { NetworkMode: 'none', Binds: ['/bin/busybox:/bin/busybox:ro'] }
  });
  if (state === 'created') return c.id;
  await c.start();
  if (state === 'exited') await c.wait();
  if (state === 'paused') await c.pause();
  return c.id;
}

interface Built {
  spec: CaseSpec;
  imageIds: string[];
  containerIds: string[];
}

async function buildBatch(
  engine: Engine,
  docker: Docker,
  cases: CaseSpec[],
  now: number
): Promise<Built[]> {
  const built: Built[] = cases.map((spec) => ({ spec, imageIds: [], containerIds: [] }));
  // Every root image of every case from one archive; the shared layer keeps the load fast.
  const roots = built.flatMap((b) =>
    b.spec.images.flatMap((img, i) => (img.parent === undefined ? [{ b, i, img }] : []))
  );
  const specs: ImageSpec[] = roots.map(({ img }) => ({
    tags: img.refs,
    created: new Date(now - Math.max((img.ageDays ?? 0) * DAY, MINUTE)),
    sharedBase: 'props',
    ownLayer: false
  }));
  const ids = await loadImages(engine, specs);
  roots.forEach(({ b, i }, n) => (b.imageIds[i] = ids[n]!));
  // Parent chains with the legacy builder, which records Parent: in order within a case.
  await pool(built, 3, async (b) => {
    for (const [i, img] of b.spec.images.entries()) {
      if (img.parent === undefined) continue;
      b.imageIds[i] = await buildImage(engine, {
        from: b.imageIds[img.parent]!,
        tag: img.refs[0],
        extraTags: img.refs.slice(1),
        bytes: 64
      });
    }
  });
  const jobs = built.flatMap((b) => b.spec.containers.map((c, j) => ({ b, c, j })));
  await pool(jobs, 4, async ({ b, c, j }) => {
    b.containerIds[j] = await makeContainer(docker, c.name, b.imageIds[c.image]!, c.state);
  });
  return built;
}

// --- What the engine holds, read straight from the list endpoints (not through readInventory).

interface SnapImage {
  id: string;
  refs: string[];
  digests: string[];
  parent: string;
  /** ms since epoch, from the list's seconds. */
  created: number;
}
interface SnapContainer {
  id: string;
  name: string;
  image: string;
  state: string;
}
interface Snap {
  images: Map<string, SnapImage>;
  containers: Map<string, SnapContainer>;
}

async function snapshot(docker: Docker): Promise<Snap> {
  const [images, containers] = await Promise.all([
    docker.listImages({ all: true }),
    docker.listContainers({ all: true })
  ]);
  const real = (refs: string[] | null | undefined) =>
    (refs ?? []).filter((r) => !r.startsWith('<none>'));
  return {
    images: new Map(
      images.map((i) => [
        i.Id,
        {
          id: i.Id,
          refs: real(i.RepoTags).sort(),
          digests: real(i.RepoDigests),
          parent: i.ParentId ?? '',
          created: i.Created * 1000
        }
      ])
    ),
    containers: new Map(
      containers.map((c) => [
        c.Id,
        {
          id: c.Id,
          name: (c.Names[0] ?? '').replace(/^\//, ''),
          image: c.ImageID,
          state: c.State
        }
      ])
    )
  };
}

// --- The checks.

const sameSet = (what: string, actual: Iterable<string>, expected: Iterable<string>): string[] => {
  const a = new Set(actual);
  const e = new Set(expected);
  const extra = [...a].filter((x) => !e.has(x)).sort();
  const missing = [...e].filter((x) => !a.has(x)).sort();
  return [
    ...(extra.length ? [`${what}: unexpected ${extra.join(', ')}`] : []),
    ...(missing.length ? [`${what}: missing ${missing.join(', ')}`] : [])
  ];
};

/** `c3/b/x:v1` → case 3, repository b/x, tag v1; undefined for anything else. */
function parseRef(ref: string): { k: number; repo: Repo; tag: Tag } | undefined {
  const m = /^c(\d+)\/(.+):([^:/]+)$/.exec(ref);
  if (!m) return undefined;
  return { k: Number(m[1]), repo: m[2] as Repo, tag: m[3] as Tag };
}
/** `c3-keep1` → case 3, prefix keep. */
function parseName(name: string): { k: number; prefix: Prefix } | undefined {
  const m = /^c(\d+)-([a-z]+)\d+$/.exec(name);
  if (!m) return undefined;
  return { k: Number(m[1]), prefix: m[2] as Prefix };
}

interface Stats {
  cases: number;
  steps: Record<string, number>;
  statuses: Record<string, number>;
  deletedImages: number;
  prunedParents: number;
  deletedDangling: number;
  otherCasesDangling: number;
  untagOnly: number;
  removedContainers: number;
  skipped: Record<string, number>;
  /** Resetting the engine and building batches, of the whole run. */
  setupMs: number;
}

const bump = (rec: Record<string, number>, key: string, by = 1) =>
  (rec[key] = (rec[key] ?? 0) + by);

/** Everything that is wrong with one executed case; [] when it behaved. */
function problemsOf(
  b: Built,
  k: number,
  owner: Map<string, number>,
  p: Plan,
  outcome: Outcome,
  before: Snap,
  after: Snap,
  now: number,
  stats: Stats
): string[] {
  const problems: string[] = [];
  const { spec } = b;
  const { policy } = spec;

  // (a) No refusal, no failure, nothing blocked.
  for (const r of outcome.results) {
    bump(stats.statuses, r.status);
    if (r.status !== 'done' && r.status !== 'gone') {
      problems.push(
        `(a) step ${r.step} ${r.status}${fieldsOf(r).httpStatus ? ` (HTTP ${fieldsOf(r).httpStatus})` : ''}: ${fieldsOf(r).message ?? fieldsOf(r).blockedBy ?? ''}`
      );
    }
  }

  // (b) Exactly the planned removals.
  const deleted = [...before.images.keys()].filter((id) => !after.images.has(id));
  const removedContainers = [...before.containers.keys()].filter((id) => !after.containers.has(id));
  const removedRefs = new Map<string, string>(); // ref → image it was on
  for (const img of before.images.values()) {
    const left = after.images.get(img.id)?.refs ?? [];
    for (const ref of img.refs) if (!left.includes(ref)) removedRefs.set(ref, img.id);
  }
  const untagSteps = p.steps.flatMap((s) => (s.kind === 'untag' ? [s.reference as string] : []));
  problems.push(
    ...sameSet(
      '(b) deleted images vs plan.deleteImages',
      deleted,
      p.deleteImages.map((i) => i.id)
    ),
    ...sameSet(
      '(b) removed containers vs plan.removeContainers',
      removedContainers,
      p.removeContainers.map((c) => c.id)
    ),
    ...sameSet('(b) removed references vs planned untags', removedRefs.keys(), untagSteps),
    ...sameSet(
      '(b) outcome.deletedImages',
      outcome.deletedImages.map((i) => i.id),
      p.deleteImages.map((i) => i.id)
    ),
    ...sameSet('(b) outcome.untagged', outcome.untagged, untagSteps),
    ...sameSet(
      '(b) outcome.removedContainers',
      outcome.removedContainers.map((c) => c.id),
      p.removeContainers.map((c) => c.id)
    ),
    // The engine's own word: the images its DELETE answers list as Deleted (layers aside).
    ...sameSet(
      "(b) images in the engine's Deleted answers",
      outcome.results.flatMap((r) => deletedBy(r)).filter((id) => before.images.has(id)),
      p.deleteImages.map((i) => i.id)
    )
  );

  // (c) Nothing outside the selection changed.
  const selected = (repo: Repo, tag: Tag) =>
    spec.picks.images.some((n) => IMAGE_PATTERNS[n]!.ref(repo, tag));
  const excludedRef = (repo: Repo, tag: Tag) =>
    spec.picks.exclude.some((n) => EXCLUDE_PATTERNS[n]!.ref(repo, tag));
  const excludedName = (prefix: Prefix) =>
    spec.picks.exclude.some((n) => EXCLUDE_PATTERNS[n]!.name(prefix));
  const selectedName = (prefix: Prefix) =>
    spec.picks.containers.some((n) => CONTAINER_PATTERNS[n]!.name(prefix));
  const oldEnough = (img: SnapImage) => now - img.created >= policy.olderThanMs;
  const deletedSet = new Set(deleted);
  const children = (id: string) => [...before.images.values()].filter((i) => i.parent === id);

  for (const [ref, imageId] of removedRefs) {
    const r = parseRef(ref);
    const img = before.images.get(imageId)!;
    if (!r || r.k !== k) problems.push(`(c) removed ${ref}, which is not in namespace c${k}`);
    else if (!selected(r.repo, r.tag))
      problems.push(`(c) removed ${ref}, which no pattern selects`);
    else if (excludedRef(r.repo, r.tag)) problems.push(`(c) removed ${ref}, which is excluded`);
    if (!oldEnough(img)) problems.push(`(c) removed ${ref} of an image younger than older-than`);
  }
  // And the other way round: a reference that the case selects and does not exclude either went
  // or is explained in the plan's skipped list (by itself or by its image).
  const explained = new Set(p.skipped.map((x) => x.target));
  for (const img of before.images.values()) {
    for (const ref of img.refs) {
      const r = parseRef(ref);
      if (!r || r.k !== k || removedRefs.has(ref)) continue;
      if (!selected(r.repo, r.tag) || excludedRef(r.repo, r.tag)) continue;
      if (!explained.has(ref) && !explained.has(img.id)) {
        problems.push(`(c) ${ref} is selected, stays, and the plan does not say why`);
      }
    }
  }
  for (const id of removedContainers) {
    const c = before.containers.get(id)!;
    const n = parseName(c.name);
    if (!n || n.k !== k) problems.push(`(c) removed container ${c.name} of another namespace`);
    else {
      if (excludedName(n.prefix)) problems.push(`(c) removed excluded container ${c.name}`);
      if (!selectedName(n.prefix) && !deletedSet.has(c.image)) {
        problems.push(`(c) removed container ${c.name}: not selected, and its image stays`);
      }
    }
    if (!['created', 'exited'].includes(c.state)) {
      problems.push(`(c) removed container ${c.name}, which was ${c.state}`);
    }
    if (policy.containersOlderThanMs > 0) {
      problems.push(`(c) removed container ${c.name}, younger than containers-older-than`);
    }
  }
  for (const id of deleted) {
    const img = before.images.get(id)!;
    const kids = children(id);
    if (owner.get(id) !== k) {
      // Dangling images are global: another case's may go, with the untagged parents the engine
      // prunes along with them (its containers would show up above as another namespace's).
      stats.otherCasesDangling++;
      if (img.refs.length > 0 || !policy.dangling) {
        problems.push(`(c) deleted ${id} of case ${owner.get(id)}`);
      }
    }
    if (img.refs.length > 0) continue; // its references were checked above: all of them went
    if (kids.length === 0) {
      stats.deletedDangling++;
      if (!policy.dangling) problems.push(`(c) deleted dangling ${id} with dangling: false`);
      if (!oldEnough(img)) problems.push(`(c) deleted dangling ${id}, younger than older-than`);
    } else {
      stats.prunedParents++;
      const kept = kids.filter((c) => !deletedSet.has(c.id));
      if (kept.length) problems.push(`(c) deleted untagged parent ${id} of kept ${kept[0]!.id}`);
    }
  }
  for (const c of before.containers.values()) {
    if (c.state !== 'running' && c.state !== 'paused') continue;
    const still = after.containers.get(c.id);
    if (still?.state !== c.state) problems.push(`(c) ${c.state} container ${c.name} changed`);
    const img = before.images.get(c.image)!;
    if (after.images.get(img.id)?.refs.join() !== img.refs.join()) {
      problems.push(`(c) the image of ${c.state} container ${c.name} lost references`);
    }
    for (let a = img.parent; a; a = before.images.get(a)?.parent ?? '') {
      if (!after.images.has(a)) problems.push(`(c) deleted ${a}, an ancestor of ${c.name}'s image`);
    }
  }

  // (d) The predicted end state, references, parents and container states included.
  const keptImagesLose = new Set<string>(untagOnly(p));
  const predicted = [...before.images.values()]
    .filter((i) => !p.deleteImages.some((d) => d.id === i.id))
    .map((i) => `${i.id} [${i.refs.filter((r) => !keptImagesLose.has(r)).join(' ')}] ^${i.parent}`);
  const actual = [...after.images.values()].map(
    (i) => `${i.id} [${i.refs.join(' ')}] ^${i.parent}`
  );
  problems.push(...sameSet('(d) images after', actual, predicted));
  const gone = new Set<string>(p.removeContainers.map((c) => c.id));
  const describe = (c: SnapContainer) => `${c.name} ${c.id.slice(0, 12)} ${c.state} ${c.image}`;
  problems.push(
    ...sameSet(
      '(d) containers after',
      [...after.containers.values()].map(describe),
      [...before.containers.values()].filter((c) => !gone.has(c.id)).map(describe)
    )
  );
  for (const i of after.images.values()) {
    if (i.digests.length) problems.push(`digest references appeared on ${i.id}: no registry here`);
  }

  stats.cases++;
  for (const s of p.steps) bump(stats.steps, s.kind);
  stats.deletedImages += deleted.length;
  stats.untagOnly += untagOnly(p).length;
  stats.removedContainers += removedContainers.length;
  for (const s of p.skipped) bump(stats.skipped, s.reason.kind);
  return problems;
}

function describeCase(b: Built, p: Plan, outcome: Outcome, before: Snap): string {
  const steps = p.steps.map((s) => {
    const r = outcome.results.find((x) => x.step === s.id);
    const message = r && fieldsOf(r).message;
    return `  ${s.id} <- [${s.dependsOn.join(', ')}]: ${r?.status}${message ? ` ${message}` : ''}`;
  });
  const images = b.imageIds.map((id, i) => `  #${i} ${id} ${JSON.stringify(b.spec.images[i])}`);
  const containers = b.containerIds.map(
    (id, j) => `  ${b.spec.containers[j]!.name} ${id.slice(0, 12)} ${b.spec.containers[j]!.state}`
  );
  const engine = [...before.images.values()]
    .filter((i) => b.imageIds.includes(i.id) || i.refs.some((r) => r.startsWith(`${b.spec.ns}/`)))
    .map((i) => `  ${i.id} [${i.refs.join(' ')}] parent ${i.parent || '-'}`);
  return [
    `case ${b.spec.ns}: ${JSON.stringify(b.spec.policy)}`,
    'images:',
    ...images,
    'containers:',
    ...containers,
    "the case's images on the engine before:",
    ...engine,
    'steps:',
    ...steps,
    `skipped: ${JSON.stringify(p.skipped)}`
  ].join('\n');
}

describe('plans on generated states of a real engine', () => {
  let engine: Engine;
  let docker: Docker;

  beforeAll(async () => {
    engine = await startEngine({ name: 'props' });
    docker = connect(engine.host).docker;
  }, 120_000);
  afterAll(async () => engine?.stop(), 120_000);

  it(`run ${RUNS} batches of ${BATCH} cases without a refusal, ending where each plan said`, async () => {
    const stats: Stats = {
      cases: 0,
      steps: {},
      statuses: {},
      deletedImages: 0,
      prunedParents: 0,
      deletedDangling: 0,
      otherCasesDangling: 0,
      untagOnly: 0,
      removedContainers: 0,
      skipped: {},
      setupMs: 0
    };
    const started = Date.now();
    const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
    await fc.assert(
      fc.asyncProperty(batchArb, async (cases) => {
        const t0 = Date.now();
        await resetEngine(engine);
        const built = await buildBatch(engine, docker, cases, Date.now());
        stats.setupMs += Date.now() - t0;
        const owner = new Map<string, number>();
        const caseOf = (b: Built) => Number(b.spec.ns.slice(1));
        for (const b of built) b.imageIds.forEach((id) => owner.set(id, caseOf(b)));
        for (const b of built) {
          const k = caseOf(b);
          const before = await snapshot(docker);
          const inventory = await readInventory(docker);
          const now = Date.now();
          const p = plan(inventory, b.spec.policy, now);
          const outcome = await execute(p, dockerRemover(docker), {
            dryRun: false,
            concurrency: b.spec.concurrency
          });
          const after = await snapshot(docker);
          const problems = problemsOf(b, k, owner, p, outcome, before, after, now, stats);
          if (problems.length) {
            throw new Error(
              `${problems.join('\n')}\n\n${describeCase(b, p, outcome, before)}\n\nbatch spec:\n${JSON.stringify(cases)}`
            );
          }
        }
      }),
      {
        numRuns: RUNS,
        endOnFailure: process.env.FC_SHRINK !== '1',
        ...(seed === undefined ? {} : { seed }),
        ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {})
      }
    );
    console.log(
      `${stats.cases} cases in ${Math.round((Date.now() - started) / 1000)}s: ${JSON.stringify(stats)}`
    );
    expect(stats.cases).toBe(RUNS * BATCH);
  }, 1_800_000);
});
