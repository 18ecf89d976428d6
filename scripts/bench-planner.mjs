// npm run bench:planner: time plan() on large synthetic inventories and measure its memory.
// The planner is pure, so no engine is needed: src/**/*.ts is transpiled (types stripped, nothing
// rewritten) into .cache/bench-build/src/, inside the repository so that `minimatch` resolves from
// node_modules. Each measurement runs in a fresh Node 24 process (the action's runtime) with
// --expose-gc, so that one size's garbage and JIT state never colour the next.
//
//   node scripts/bench-planner.mjs [--sizes 10000,50000] [--profile] [--json]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';

// A child process imports only Node's modules and the planner, as the action's process does: the
// TypeScript compiler and the test harness, which the parent needs, added 76 MB to each child's
// RSS while they were imported here at the top.
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const ensureNode24 = async () => (await import('../__tests__/harness/action.mjs')).ensureNode24();

const SELF = fileURLToPath(import.meta.url);
const DAY = 86_400_000;
// Fixed, so that every run plans the same inventory.
const NOW = Date.parse('2026-01-01T00:00:00Z');
const CHILD_TIMEOUT_MS = 180_000;

/** The policies measured; `images` per scenario comes from SCENARIOS. */
const POLICIES = {
  // What the engine benchmark runs: everything goes.
  'select-all': {
    images: ['**'],
    exclude: [],
    olderThanMs: 0,
    ageBasis: 'last-used',
    keepLatest: 0,
    dangling: true,
    containers: ['*'],
    containersOlderThanMs: 0
  },
  // A typical cleanup: age, keep-latest, excludes and a container pattern.
  policy: {
    images: ['**'],
    exclude: ['org0/**', '*:build-1*'],
    olderThanMs: 7 * DAY,
    ageBasis: 'last-used',
    keepLatest: 3,
    dangling: true,
    containers: ['job-*'],
    containersOlderThanMs: DAY
  }
};

/**
 * Scenarios: a policy over an inventory shape. `repos` is how many repositories the tags spread
 * over (a function of the image count); `one-repo` puts every tag in one repository, as a runner
 * that builds `app:pr-N` for every PR would, which is the hard case for keep-latest's ranking.
 */
export const SCENARIOS = {
  'select-all': { policy: 'select-all', repos: (n) => Math.max(10, Math.round(n / 100)) },
  policy: { policy: 'policy', repos: (n) => Math.max(10, Math.round(n / 100)) },
  'one-repo keep-latest': { policy: 'policy', repos: () => 1 }
};

const hex = (s) => createHash('sha256').update(s).digest('hex');

// mulberry32: a small seeded PRNG, so the inventory is the same on every run.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An Inventory (src/plan/types.ts) of `n` images: 2% dangling, 5% untagged legacy parents (each with
 * one child), the rest with two tags (half of them across repositories, half in the same one) and a
 * digest on every third; one container per fifth image (90% exited, 5% created, 5% running), a few
 * owned by the runner. Each object comes out of JSON.parse, as the engine's answers do.
 */
export function syntheticInventory(n, repoCount) {
  const rand = prng(n * 7919 + repoCount);
  // The action's inventory is parsed from the engine's JSON answers, so every string in it is flat.
  // Strings made by templates are ropes, which each first read (hashing, matching) flattens again.
  const asAnswered = (x) => JSON.parse(JSON.stringify(x));
  const images = [];
  const containers = [];
  const ids = Array.from({ length: n }, (_, i) => `sha256:${hex(`image-${i}`)}`);
  for (let i = 0; i < n; i++) {
    const created = NOW - Math.floor(rand() * 365 * DAY);
    const image = { id: ids[i], tags: [], digests: [], created, size: 1_000_000 + i };
    const kind = i % 50 === 49 ? 'dangling' : i % 20 === 10 ? 'parent' : 'tagged';
    if (kind === 'tagged') {
      const r = i % repoCount;
      const repo = `org${r % 10}/app${r}`;
      image.tags.push(`${repo}:v${i}`);
      image.tags.push(i % 2 ? `mirror.example.com/${repo}:v${i}` : `${repo}:build-${i}`);
      image.tags.sort();
      if (i % 3 === 0) image.digests.push(`${repo}@sha256:${hex(`digest-${i}`)}`);
      if (rand() < 0.5) image.lastTagTime = created + Math.floor(rand() * 30 * DAY);
    }
    // The legacy builder's chain: the image after an untagged parent is its child.
    if (i % 20 === 11) image.parent = ids[i - 1];
    images.push(asAnswered(image));
    if (i % 5 === 0) {
      const roll = rand();
      const state = roll < 0.05 ? 'running' : roll < 0.1 ? 'created' : 'exited';
      const cCreated = created + Math.floor(rand() * 10 * DAY);
      const container = {
        id: hex(`container-${i}`),
        names: [`job-${i}`],
        image: ids[i],
        state,
        created: cCreated,
        labels: i % 500 === 0 ? { a1b2c3: '' } : { 'com.example.job': String(i) },
        networks: ['none']
      };
      if (state !== 'created') container.startedAt = cCreated + 1000;
      if (state === 'exited') container.finishedAt = cCreated + 60_000;
      containers.push(asAnswered(container));
    }
  }
  return { images, containers };
}

/** The planner as the working tree has it, transpiled by scripts/transpile.mjs. */
async function buildPlanner() {
  const { transpileSources } = await import('./transpile.mjs');
  return join(await transpileSources('bench-build'), 'plan', 'planner.js');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MB = 1024 * 1024;
export const sumOf = (xs) => xs.reduce((a, b) => a + b, 0);

/**
 * The work that any planner returning select-all's plan does, and no decision: sort the image IDs,
 * split every reference once into its repository, and make one step per container, reference and
 * image and one entry per image. That is a few more objects than the plan holds (it keeps the
 * images of running containers), so its time is close to, and a little above, a floor under
 * plan()'s on the same inventory.
 */
function objectsOnly({ images, containers }) {
  const byId = new Map(images.map((image) => [image.id, image]));
  const repositories = new Map();
  const steps = containers.map((c) => ({
    id: `container:${c.id}`,
    kind: 'remove-container',
    container: c.id,
    name: c.names[0],
    image: c.image,
    requires: { kind: 'stopped' },
    dependsOn: []
  }));
  const deleteImages = [];
  for (const id of [...byId.keys()].sort()) {
    const image = byId.get(id);
    const references = image.tags.concat(image.digests);
    let previous;
    for (const ref of references) {
      const at = ref.indexOf('@');
      const name = ref.slice(0, at >= 0 ? at : ref.lastIndexOf(':'));
      if (!repositories.has(name)) repositories.set(name, { n: repositories.size, name });
      const step = `untag:${ref}`;
      steps.push({
        id: step,
        kind: 'untag',
        reference: ref,
        image: id,
        digests: [],
        requires: { kind: 'names-image', image: id },
        dependsOn: previous ? [previous] : []
      });
      previous = step;
    }
    steps.push({
      id: `image:${id}`,
      kind: 'delete-image',
      image: id,
      requires: { kind: 'unreferenced' },
      dependsOn: previous ? [previous] : []
    });
    deleteImages.push({
      id,
      references,
      size: image.size,
      basisTime: image.created,
      freedBytes: 0
    });
  }
  return { steps, deleteImages };
}

/**
 * The child: builds the inventory, then (unless --no-plan) plans it `runs` times. The first run is
 * what the action does (once, cold JIT); the later ones show the warmed-up cost.
 */
async function child({ images, scenario, runs, planner, noPlan, objects, profileFile }) {
  const { plan: planOf } = await import(pathToFileURL(planner).href);
  // Node and the planner, before any inventory: what the action's bundle adds instead is measured
  // by bench.mjs, on an empty engine.
  const startRssMb = process.memoryUsage().rss / MB;
  const plan = objects ? objectsOnly : planOf;
  const sc = SCENARIOS[scenario];
  const inventory = syntheticInventory(images, sc.repos(images));
  const policy = POLICIES[sc.policy];
  globalThis.gc();
  const before = process.memoryUsage();
  const result = {
    images,
    scenario,
    startRssMb,
    references: inventory.images.reduce((n, i) => n + i.tags.length + i.digests.length, 0),
    containers: inventory.containers.length,
    baseRssMb: before.rss / MB,
    baseHeapMb: before.heapUsed / MB
  };
  if (!noPlan) {
    const times = [];
    let first;
    // Garbage collections during the first call: how much churn plan() causes.
    const gcs = [];
    const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
    // A call that takes seconds is not repeated, to keep the benchmark bounded.
    for (let r = 0; r < runs && !(r >= 1 && sumOf(times) > 5_000); r++) {
      globalThis.gc();
      const h0 = v8.getHeapStatistics();
      if (r === 0) observer.observe({ entryTypes: ['gc'] });
      const session = r === 0 && profileFile ? await startProfiler() : undefined;
      const t0 = performance.now();
      const p = plan(inventory, policy, NOW);
      const t1 = performance.now();
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        await writeFile(profileFile, JSON.stringify(profile));
        session.disconnect();
      }
      times.push(t1 - t0);
      if (r === 0) {
        const h1 = v8.getHeapStatistics();
        const peakRssAfterFirstMb = process.resourceUsage().maxRSS / 1024;
        await new Promise((resolve) => setTimeout(resolve, 50)); // GC entries arrive asynchronously
        observer.disconnect();
        const during = gcs.filter((g) => g.startTime >= t0 - 1 && g.startTime <= t1);
        if (process.env.BENCH_DEBUG)
          console.error(
            gcs.map((g) => [g.startTime, g.duration]),
            t0,
            t1
          );
        globalThis.gc();
        const h2 = v8.getHeapStatistics();
        const t2 = performance.now();
        const json = JSON.stringify(p);
        first = {
          peakRssAfterFirstMb,
          steps: p.steps.length,
          deleteImages: p.deleteImages.length,
          skipped: p.skipped?.length ?? 0,
          // How far the heap had to grow during the call (garbage included).
          heapGrowthMb: (h1.total_heap_size - h0.total_heap_size) / MB,
          // What the plan itself keeps alive.
          heapRetainedMb: (h2.used_heap_size - h0.used_heap_size) / MB,
          gcCount: during.length,
          gcMs: during.reduce((n, g) => n + g.duration, 0),
          stringifyMs: performance.now() - t2,
          planJsonMb: Buffer.byteLength(json) / MB
        };
      }
    }
    Object.assign(result, first, {
      firstMs: times[0],
      // undefined when the first call was too slow to repeat
      warmMedianMs: times.length > 1 ? median(times.slice(1)) : undefined,
      runs: times.length
    });
  }
  result.peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify(result));
}

// The V8 sampling profiler, started around the first plan() call only.
async function startProfiler() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}

function runChild(node, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(node, ['--expose-gc', SELF, '--child', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe']
    });
    const out = [];
    const err = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(JSON.parse(Buffer.concat(out).toString()));
      const why =
        signal === 'SIGKILL' ? `timed out after ${CHILD_TIMEOUT_MS / 1000}s` : `exit ${code}`;
      reject(new Error(`planner child ${args.join(' ')}: ${why}\n${Buffer.concat(err)}`));
    });
  });
}

/** A child's arguments: one planner, `images` images, one scenario, and any further flags. */
const childArgs = (planner, images, scenario, ...more) => [
  '--images',
  String(images),
  '--scenario',
  scenario,
  '--planner',
  planner,
  ...more
];

export const OBJECTS_LABEL = "select-all's objects only";
const OBJECTS_ONLY = { scenario: 'select-all', args: ['--objects-only'], label: OBJECTS_LABEL };

/**
 * Runs every scenario at every size, and objectsOnly on select-all's inventory; returns one row
 * per (size, scenario): that of the process whose first call was the median, with every process's
 * first call in `firstEachMs`.
 * @param {{ sizes?: number[], scenarios?: string[], log?: (s: string) => void }} [options]
 */
export async function benchPlanner({
  sizes = [10_000, 50_000],
  scenarios = Object.keys(SCENARIOS),
  log = (s) => console.error(s)
} = {}) {
  const node = await ensureNode24();
  const planner = await buildPlanner();
  log(`planner: ${relative(REPO_ROOT, planner)}, transpiled from the working tree`);
  const rows = [];
  for (const images of sizes) {
    const runs = images >= 50_000 ? 2 : 3;
    // A first call happens once per process, and one process's moved by half between runs on
    // this machine (650 and 1000 ms for the same code): the median of several says more.
    const processes = images >= 50_000 ? 5 : 3;
    // Same inventory without plan(): the RSS the inventory alone costs.
    const base = await runChild(node, childArgs(planner, images, 'select-all', '--no-plan'));
    // The select-all inventory once more, with objectsOnly in plan()'s place.
    const runsOf = [...scenarios.map((scenario) => ({ scenario, args: [] })), OBJECTS_ONLY];
    for (const { scenario, args, label = scenario } of runsOf) {
      log(`planner: ${images} images, ${label} …`);
      try {
        const each = [];
        for (let k = 0; k < processes; k++) {
          const more = ['--runs', String(runs), ...args];
          each.push(await runChild(node, childArgs(planner, images, scenario, ...more)));
        }
        const r = [...each].sort((a, b) => a.firstMs - b.firstMs)[each.length >> 1];
        r.firstEachMs = each.map((x) => x.firstMs);
        r.scenario = label;
        r.inventoryOnlyPeakRssMb = base.peakRssMb;
        r.planPeakRssMb = Math.max(0, r.peakRssAfterFirstMb - base.peakRssMb);
        rows.push(r);
        log(
          `planner: ${images} images, ${label}: first ${r.firstMs.toFixed(0)} ms ` +
            `(median of ${r.firstEachMs.map((x) => x.toFixed(0)).join(', ')}), ` +
            `warm ${r.warmMedianMs === undefined ? '(not repeated)' : `${r.warmMedianMs.toFixed(0)} ms`}, heap +${r.heapGrowthMb.toFixed(0)} MB ` +
            `(retained ${r.heapRetainedMb.toFixed(0)} MB), ${r.gcCount} GCs ${r.gcMs.toFixed(0)} ms, ` +
            `peak RSS ${r.peakRssAfterFirstMb.toFixed(0)} MB (+${r.planPeakRssMb.toFixed(0)} MB over the inventory alone)`
        );
      } catch (e) {
        log(`planner: ${images} images, ${label}: ${e.message.split('\n')[0]}`);
        rows.push({ images, scenario: label, error: e.message.split('\n')[0] });
      }
    }
  }
  return rows;
}

/**
 * One plan() of `images` images under the V8 CPU profiler (started just around the call): the
 * functions with the most self time, named as file:line of the transpiled sources (close to, but
 * not exactly, the lines in src/). Inlined functions count towards their caller.
 * @returns {Promise<{ totalMs: number, top: { name: string, ms: number, share: number }[] }>}
 */
export async function profilePlanner({ images = 50_000, scenario = 'policy', top = 10 } = {}) {
  const node = await ensureNode24();
  const planner = await buildPlanner();
  const dir = await mkdtemp(join(tmpdir(), 'dr-prof-'));
  try {
    const file = join(dir, 'plan.cpuprofile');
    await runChild(node, childArgs(planner, images, scenario, '--runs', '1', '--profile', file));
    const profile = JSON.parse(await readFile(file, 'utf8'));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Only samples inside plan(), and the collector's (it runs on plan()'s garbage): not the
    // profiler's own start and stop.
    const inPlan = (id) => {
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const f = nodes.get(n).callFrame;
        if (f.functionName === 'plan' && f.url.endsWith('plan/planner.js')) return true;
      }
      return nodes.get(id).callFrame.functionName === '(garbage collector)';
    };
    const self = new Map();
    profile.samples.forEach((id, i) => {
      if (!inPlan(id)) return;
      const { functionName, url, lineNumber } = nodes.get(id).callFrame;
      const where = url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : '';
      const name = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
      self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
    const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
    // Hot lines of the planner's own code (position ticks are per sample).
    const source = (await readFile(planner, 'utf8')).split('\n');
    const ticks = new Map();
    for (const n of profile.nodes) {
      if (!n.callFrame.url.endsWith('plan/planner.js')) continue;
      for (const t of n.positionTicks ?? []) ticks.set(t.line, (ticks.get(t.line) ?? 0) + t.ticks);
    }
    const msPerTick = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
    const lines = [...ticks]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([line, n]) => ({ line, ms: n * msPerTick, code: source[line - 1]?.trim() ?? '' }));
    return {
      images,
      scenario,
      totalMs,
      lines,
      top: [...self]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, ms]) => ({ name, ms, share: ms / totalMs }))
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A markdown table of benchPlanner's rows. */
export function plannerTable(rows) {
  const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : '–');
  const lines = [
    '| Images | References | Containers | Scenario | Steps | plan() first run (median of processes, range) | plan() warm (median) | GC during first run | Heap growth | Heap retained by the plan | Peak RSS after plan() | Peak RSS over inventory alone | Plan JSON | JSON.stringify |',
    '| -----: | ---------: | ---------: | -------- | ----: | --------------------------------------------: | -------------------: | ------------------: | ----------: | ------------------------: | -----------------: | ----------------------------: | --------: | -------------: |'
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.images} | | | ${r.scenario} | | ${r.error} | | | | | | | | |`);
      continue;
    }
    const firsts = r.firstEachMs ?? [r.firstMs];
    lines.push(
      `| ${r.images} | ${r.references} | ${r.containers} | ${r.scenario} | ${r.steps} | ${f(r.firstMs)} ms (${f(Math.min(...firsts))}–${f(Math.max(...firsts))}) | ${r.warmMedianMs === undefined ? 'not repeated' : `${f(r.warmMedianMs)} ms`} | ${r.gcCount} GCs, ${f(r.gcMs)} ms | ${f(r.heapGrowthMb)} MB | ${f(r.heapRetainedMb)} MB | ${f(r.peakRssAfterFirstMb)} MB | ${f(r.planPeakRssMb)} MB | ${f(r.planJsonMb, 1)} MB | ${f(r.stringifyMs)} ms |`
    );
  }
  return lines.join('\n');
}

/** A markdown table of profilePlanner's result. */
export function profileTable(p) {
  const lines = ['| Self time | Share | Function |', '| --------: | ----: | -------- |'];
  for (const t of p.top) {
    lines.push(`| ${t.ms.toFixed(0)} ms | ${(100 * t.share).toFixed(1)}% | \`${t.name}\` |`);
  }
  lines.push('', 'Hottest lines of planner.js (transpiled):', '');
  lines.push('| Self time | Line | Code |', '| --------: | ---: | ---- |');
  for (const l of p.lines) {
    const code = l.code.length > 100 ? `${l.code.slice(0, 97)}...` : l.code;
    lines.push(`| ${l.ms.toFixed(0)} ms | ${l.line} | \`${code.replace(/\|/g, '\\|')}\` |`);
  }
  return lines.join('\n');
}

function arg(argv, name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
}

if (process.argv[1] === SELF) {
  const argv = process.argv.slice(2);
  if (argv.includes('--child')) {
    await child({
      images: Number(arg(argv, '--images')),
      scenario: arg(argv, '--scenario'),
      runs: Number(arg(argv, '--runs', '1')),
      planner: arg(argv, '--planner'),
      noPlan: argv.includes('--no-plan'),
      objects: argv.includes('--objects-only'),
      profileFile: arg(argv, '--profile')
    });
  } else {
    const sizes = arg(argv, '--sizes', '10000,50000').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes: whole numbers');
    const rows = await benchPlanner({ sizes });
    const profile = argv.includes('--profile')
      ? await profilePlanner({ images: Math.max(...sizes) })
      : undefined;
    if (argv.includes('--json')) console.log(JSON.stringify({ rows, profile }, null, 2));
    else {
      console.log(`\n${plannerTable(rows)}`);
      if (profile) console.log(`\n${profileTable(profile)}`);
    }
  }
}
