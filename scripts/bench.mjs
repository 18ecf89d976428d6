// npm run bench: the bundled action against `docker container prune -f && docker image prune -a -f`
// on identical engine states of several sizes; the engine's own concurrency curve for each kind of
// removal, and its time for the read's calls alone; the requests the action makes; its cold start;
// the least any client could take; and the planner alone. Writes
// docs/benchmarks.md. Never a timed assertion: these are measurements, read as ratios.
//
//   node scripts/bench.mjs [--images 1000,4000] [--rounds 9,5] [--sweep 1,8,16,32,64]
//                          [--skip-planner] [--out docs/benchmarks.md]
//
// Identical states: each size is built once on a private engine whose data root is then copied
// while dockerd is stopped; every timed run gets a fresh engine on its own copy (checked against
// the snapshot's IDs before the clock starts). Only the harness's private engines are used.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ensurePrerequisites,
  httpGet,
  loadImages,
  procs,
  readProc,
  run,
  startEngine
} from '../__tests__/harness/engine.mjs';
import {
  REPO_ROOT,
  actionEnv,
  ensureNode24,
  parseCommandFile
} from '../__tests__/harness/action.mjs';
import { OBJECTS_LABEL, benchPlanner, plannerTable, prng, sumOf } from './bench-planner.mjs';

// --- Options and small helpers

// Rounds per size, the last for every size after it. A 1000-image round is cheap and its ratio
// moved from 0.55 to 1.10 between rounds on 2026-12-01: five rounds left a 0.7 target undecided.
const opts = { sizes: [1000, 4000], rounds: [9, 5], sweep: [1, 8, 16, 32, 64], planner: true };
opts.out = join(REPO_ROOT, 'docs', 'benchmarks.md');
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i] ?? '';
  if (a === '--images') opts.sizes = v().split(',').map(Number);
  else if (a === '--rounds') {
    const raw = v();
    opts.rounds = raw.split(',').map(Number);
    if (!opts.rounds.every((r) => Number.isInteger(r) && r > 0)) {
      throw new Error(
        `--rounds ${JSON.stringify(raw)}: give whole numbers above 0, one per size, such as 9,5`
      );
    }
  } else if (a === '--sweep') opts.sweep = v().split(',').map(Number);
  else if (a === '--out') opts.out = v();
  else if (a === '--skip-planner') opts.planner = false;
  else throw new Error(`unknown option ${a}`);
}
const roundsAt = (si) => opts.rounds[Math.min(si, opts.rounds.length - 1)];

const loadAtStart = os.loadavg();
const T0 = performance.now();
const log = (m) =>
  console.log(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)}s] ${m}`);
const warnings = [];
const warn = (m) => (warnings.push(m), log(`WARNING: ${m}`));
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[s.length >> 1]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/**
 * A 90% interval for `stat`: each list of rounds resampled with replacement, 2000 times, and the
 * 5th and 95th percentiles of what `stat` gives. Seeded, so that the same rounds give the same
 * interval. On this machine a run is moved by its neighbours' disk and CPU, so a median alone
 * cannot say whether a target was missed or only this run's noise was.
 */
function interval(lists, stat, resamples = 2000) {
  const rand = prng(2026_12_02);
  const resample = (xs) => Array.from(xs, () => xs[Math.floor(rand() * xs.length)]);
  const values = Array.from({ length: resamples }, () => stat(...lists.map(resample)));
  values.sort((a, b) => a - b);
  return [values[Math.floor(0.05 * resamples)], values[Math.ceil(0.95 * resamples) - 1]];
}
const span = ([lo, hi], digits = 2) => `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
/** Met only when the whole interval is within the target; undecided when it spans it. */
const verdict = (atMost, [lo, hi]) =>
  hi <= atMost
    ? '**met**'
    : lo > atMost
      ? '**not met**'
      : '**not decided by this run** (its 90% interval spans the target)';
const sec = (x) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : '–');
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '–');
const lines = (t) => t.split('\n').filter(Boolean);
async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    })
  );
}

// --- The engine state: n images and a stopped container on every fifth

/**
 * 2% dangling, half with two tags (half of those in two repositories, half twice in one), the
 * rest with one, over 20 repositories; every image on one of 8 shared base layers.
 */
function stateSpecs(n) {
  const base = Date.parse('2025-01-01T00:00:00Z');
  const images = [];
  const containers = [];
  for (let i = 0; i < n; i++) {
    const repo = `team${i % 4}/svc${i % 20}`;
    const dangling = i % 100 === 45 || i % 100 === 99;
    const tags = dangling
      ? []
      : i % 4 === 0
        ? [`${repo}:v${i}`, `mirror.local:5000/${repo}:v${i}`]
        : i % 2 === 0
          ? [`${repo}:v${i}`, `${repo}:build-${i}`]
          : [`${repo}:v${i}`];
    images.push({
      tags,
      created: new Date(base - i * 3_600_000),
      sharedBase: `base${i % 8}`,
      ownLayer: i % 50 === 7
    });
    if (i % 5 === 0) containers.push({ image: i, name: `job-${String(i).padStart(5, '0')}` });
  }
  return { images, containers };
}

async function listIds(engine) {
  const [images, containers] = await Promise.all([
    engine.docker(['image', 'ls', '-aq', '--no-trunc']),
    engine.docker(['ps', '-aq', '--no-trunc'])
  ]);
  return {
    images: [...new Set(lines(images.stdout))].sort(),
    containers: lines(containers.stdout).sort()
  };
}

/** Stops dockerd cleanly, so that its data root can be copied. */
async function halt(engine) {
  const pid = engine.pid;
  process.kill(pid, 'SIGTERM');
  for (let t = 0; ; t += 20) {
    let alive = false;
    try {
      alive = !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      // gone
    }
    if (!alive) break;
    if (t > 30_000) throw new Error(`dockerd ${pid} did not stop within 30 s`);
    await sleep(20);
  }
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${engine.dataRoot} `);
  if (mounted) await run('umount', ['-l', engine.dataRoot]);
}

async function buildSnapshot(n) {
  const specs = stateSpecs(n);
  const engine = await startEngine({ name: `bench-${n}` });
  let t0 = performance.now();
  const ids = await loadImages(engine, specs.images);
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  await pool(specs.containers, 8, (c) =>
    engine.docker([
      'create',
      '--network',
      'none',
      '--name',
      c.name,
      ids[c.image],
      '/bin/busybox',
      'true'
    ])
  );
  const createMs = performance.now() - t0;
  const expected = await listIds(engine);
  const rows = lines(
    (
      await engine.docker([
        'image',
        'ls',
        '--no-trunc',
        '--format',
        '{{.ID}} {{.Repository}}:{{.Tag}}'
      ])
    ).stdout
  );
  const refs = new Map(expected.images.map((id) => [id, []]));
  for (const [id, ref] of rows.map((r) => r.split(' ')))
    if (!ref.includes('<none>')) refs.get(id)?.push(ref);
  const version = (
    await engine.docker(['version', '-f', '{{.Server.Version}} (API {{.Server.APIVersion}})'])
  ).stdout.trim();
  await halt(engine);
  const dir = join(engine.dir, 'snapshot');
  await run('cp', ['-a', engine.dataRoot, dir]);
  log(
    `${n} images: loaded in ${sec(loadMs)}, ${specs.containers.length} containers in ${sec(createMs)}`
  );
  return {
    n, engine, dir, expected, refs, version,
    references: [...refs.values()].reduce((s, r) => s + r.length, 0),
    containers: specs.containers.length
  }; // prettier-ignore
}

/** A fresh engine on a copy of the snapshot, checked to hold exactly its images and containers. */
async function restore(snapshot, name) {
  const engine = await startEngine({ name });
  try {
    await halt(engine);
    await run('rm', ['-rf', engine.dataRoot]);
    await run('cp', ['-a', snapshot.dir, engine.dataRoot]);
    await engine.restart();
    const now = await listIds(engine);
    if (
      now.images.join() !== snapshot.expected.images.join() ||
      now.containers.join() !== snapshot.expected.containers.join()
    ) {
      throw new Error(`the restored engine differs from the snapshot`);
    }
    return engine;
  } catch (e) {
    await engine.stop().catch(() => {});
    throw e;
  }
}

async function leftOn(engine) {
  const now = await listIds(engine);
  return now.images.length + now.containers.length;
}

// --- The runs compared

const ENTRY = join(REPO_ROOT, 'dist', 'index.js');
const INPUTS = { images: '**', containers: '*', dangling: 'true' };

const TIME = '/usr/bin/time';

/** The peak RSS of a running process so far, from /proc (where GNU time is not installed). */
function vmHwmMb(pid) {
  try {
    return (
      Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
    );
  } catch {
    return 0;
  }
}

/** Clock ticks a second in /proc/<pid>/stat: 100 on Linux everywhere this runs. */
const CLK_TCK = Number((await run('getconf', ['CLK_TCK'], { allowFail: true })).stdout) || 100;

/**
 * The CPU time, user and system, that a process and its direct children (dockerd's containerd)
 * have used so far, in ms; children that exit in between drop out of the sum.
 */
function cpuMsOf(pid) {
  let ticks = 0;
  for (const id of procs()) {
    const stat = readProc(id, 'stat');
    // After the command's ")": the parent's PID is field 1, the user and system ticks 11 and 12.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat !== '' && (id === String(pid) || f[1] === String(pid))) {
      ticks += Number(f[11]) + Number(f[12]);
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

/**
 * dist/index.js run once with `env`, as the runner runs it: its exit code, its log lines with
 * their arrival times, its wall time, its peak RSS and its CPU time. GNU time, where installed,
 * writes its report into `dir`.
 */
async function measuredRun(node, env, dir) {
  const timeFile = join(dir, `time-${Date.now()}.txt`);
  const gnuTime = existsSync(TIME);
  const [cmd, args] = gnuTime ? [TIME, ['-v', '-o', timeFile, node, ENTRY]] : [node, [ENTRY]];
  const out = [];
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let sampled = 0;
  const sampler = gnuTime
    ? undefined
    : setInterval(() => (sampled = Math.max(sampled, vmHwmMb(child.pid))), 10);
  createInterface({ input: child.stdout }).on('line', (text) =>
    out.push({ t: performance.now() - t0, text })
  );
  child.stderr.resume();
  const code = await new Promise((resolve) => child.on('close', resolve));
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  if (code !== 0) warn(`the action exited with ${code}`);
  const times = await readFile(timeFile, 'utf8').catch(() => '');
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(times);
  const peakRssMb = gnuTime ? (rss ? Number(rss[1]) / 1024 : NaN) : sampled;
  const seconds = (what) =>
    Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(times)?.[1]);
  const cpuMs = gnuTime ? (seconds('User') + seconds('System')) * 1000 : NaN;
  return { code, out, wallMs, peakRssMb, cpuMs };
}

/** dist/index.js as the runner runs it, with each log line's arrival time and its peak RSS. */
async function runTheAction(engine, node, host = engine.host) {
  const { files, env } = await actionEnv({
    inputs: INPUTS,
    env: { DOCKER_HOST: host },
    tmpDir: engine.dir
  });
  const { out, wallMs, peakRssMb, cpuMs } = await measuredRun(node, env, engine.dir);
  const outputs = parseCommandFile(await readFile(files.GITHUB_OUTPUT, 'utf8'));
  return { wallMs, peakRssMb, cpuMs, phases: phasesOf(out, wallMs), outputs };
}

/** Each `::group::` to its `::endgroup::`; start-up is spawn → first group. */
function phasesOf(out, wallMs) {
  const phases = {};
  let open;
  let last = 0;
  for (const { t, text } of out) {
    if (text.startsWith('::group::')) {
      open = { name: text.slice(9).split(' ')[0].toLowerCase(), t };
      if (phases.startup === undefined) phases.startup = t;
    } else if (text.startsWith('::endgroup::') && open) {
      phases[open.name] = (phases[open.name] ?? 0) + t - open.t;
      last = t;
      open = undefined;
    }
  }
  phases.exit = wallMs - last;
  return phases;
}

async function runPrune(engine) {
  const t0 = performance.now();
  await engine.docker(['container', 'prune', '-f']);
  await engine.docker(['image', 'prune', '-a', '-f']);
  return { wallMs: performance.now() - t0 };
}

// --- Requests: a unix-socket proxy notes each request line and the status that answers it

function kindOf(method, path) {
  const p = path.replace(/^\/v\d+\.\d+/, '').replace(/\?.*$/, '');
  const generic = p.replace(
    /^\/(images|containers|volumes)\/.+?(\/json|\/history)?$/,
    (m, kind, tail) =>
      /^\/(images|containers|volumes)\/json$/.test(p) ? m : `/${kind}/{name}${tail ?? ''}`
  );
  return `${method} ${generic}`;
}

async function requestProfile(snapshot, node) {
  const engine = await restore(snapshot, 'bench-proxy');
  try {
    const socketPath = join(engine.dir, 'proxy.sock');
    const seen = new Map();
    const server = createServer((client) => {
      const up = createConnection(engine.socket);
      const pending = [];
      client.on('data', (buf) => {
        for (const m of buf
          .toString('latin1')
          .matchAll(/(?:^|\n)(GET|HEAD|POST|DELETE) (\S+) HTTP\/1\.1\r\n/g)) {
          pending.push({ kind: kindOf(m[1], m[2]), t: performance.now() });
        }
        up.write(buf);
      });
      up.on('data', (buf) => {
        const answers = buf.toString('latin1').match(/(?:^|\n)HTTP\/1\.1 \d{3}/g) ?? [];
        for (let i = 0; i < answers.length; i++) {
          const r = pending.shift();
          if (!r) continue;
          const k = seen.get(r.kind) ?? { count: 0, ms: 0 };
          k.count++;
          k.ms += performance.now() - r.t;
          seen.set(r.kind, k);
        }
        client.write(buf);
      });
      client.on('end', () => up.end());
      up.on('end', () => client.end());
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
    });
    await new Promise((resolve) => server.listen(socketPath, resolve));
    await runTheAction(engine, node, `unix://${socketPath}`);
    await new Promise((resolve) => server.close(resolve));
    return [...seen].map(([kind, k]) => ({ kind, ...k })).sort((a, b) => b.count - a.count);
  } finally {
    await engine.stop();
  }
}

// --- The engine's concurrency curve: each kind of removal sent straight to it

function call(socketPath, agent, method, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The removal calls of a snapshot by kind: every reference but each image's last are untags. */
function removalCalls(snapshot) {
  return {
    containers: snapshot.expected.containers.map((id) => `/containers/${id}`),
    untags: [...snapshot.refs.values()].flatMap((refs) =>
      refs.slice(0, -1).map((r) => `/images/${r}`)
    ),
    deletes: [...snapshot.refs].map(([id, refs]) => `/images/${refs.at(-1) ?? id}`)
  };
}

/**
 * The calls sent straight to a fresh engine at `limit` in flight, in batches run one after the
 * other; the time of each batch.
 */
async function straightCalls(snapshot, limit, batches, label) {
  const engine = await restore(snapshot, `bench-sweep-${limit}`);
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: limit });
    const times = [];
    for (const paths of batches) {
      const t0 = performance.now();
      await pool(paths, limit, async (p) => {
        if ((await call(engine.socket, agent, 'DELETE', p)) >= 300)
          warn(`${label} at ${limit}: DELETE ${p} failed`);
      });
      times.push(performance.now() - t0);
    }
    agent.destroy();
    if ((await leftOn(engine)) > 0) warn(`${label} at ${limit}: the engine is not empty`);
    return times;
  } finally {
    await engine.stop();
  }
}

/**
 * Each kind alone (containers, then untags, then deletes), and the same calls with containers and
 * untags in one pool before the deletes, which need both: the engine then overlaps container
 * removals, which are disk work, with untags, which wait on the reference store's lock.
 */
async function sweep(snapshot, limits) {
  const calls = removalCalls(snapshot);
  const rows = [];
  for (const limit of limits) {
    const [containers, untags, deletes] = await straightCalls(
      snapshot,
      limit,
      [calls.containers, calls.untags, calls.deletes],
      'sweep'
    );
    const together = sumOf(await togetherCalls(snapshot, limit, calls));
    const row = { limit, containers, untags, deletes, together };
    for (const [kind, paths] of Object.entries(calls)) row[`${kind}Count`] = paths.length;
    rows.push(row);
    log(
      `sweep ${snapshot.n} at ${limit}: containers ${sec(containers)}, untags ${sec(untags)}, deletes ${sec(deletes)}; together ${sec(together)}`
    );
  }
  return rows;
}

const togetherCalls = (snapshot, limit, calls) =>
  straightCalls(
    snapshot,
    limit,
    [[...calls.containers, ...calls.untags], calls.deletes],
    'together'
  );

const kindsTotal = (x) => x.containers + x.untags + x.deletes;
const fastestOrder = (x) => Math.min(x.together, kindsTotal(x));

/**
 * The fastest way the sweep found to send the calls, run again until it has as many runs as the
 * action had: one lucky run would make a floor no client could reach twice.
 */
async function straightFloor(snapshot, curve, runs) {
  const best = curve.reduce((a, x) => (fastestOrder(a) <= fastestOrder(x) ? a : x));
  const together = best.together <= kindsTotal(best);
  const calls = removalCalls(snapshot);
  const times = [fastestOrder(best)];
  while (times.length < runs) {
    const t = together
      ? await togetherCalls(snapshot, best.limit, calls)
      : await straightCalls(snapshot, best.limit, Object.values(calls), 'floor');
    times.push(sumOf(t));
  }
  log(`floor ${snapshot.n}: ${times.map(sec).join(', ')} at ${best.limit}`);
  return { limit: best.limit, together, times, ms: median(times) };
}

// --- The read's floor: the inventory's calls sent straight to a fresh engine

const READ_LIMITS = [16, 32, 64];

async function getJson(socketPath, agent, path) {
  const { status, body } = await httpGet({ socketPath, agent, path });
  if (status >= 300) throw new Error(`GET ${path}: ${status} ${body.trim()}`);
  return JSON.parse(body);
}

/**
 * The calls no read of the inventory can do without, sent from this process (already running, so
 * no start-up) to a fresh copy of the state: the two lists, with /info and /system/df beside them,
 * then each image's inspect (its layers) at `limit` in flight, only drained. Its time.
 */
async function bareRead(snapshot, limit) {
  const engine = await restore(snapshot, `bench-read-${limit}`);
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: limit });
    const t0 = performance.now();
    const beside = Promise.all(
      ['/info', '/system/df'].map((p) => getJson(engine.socket, agent, p))
    );
    const [images] = await Promise.all([
      getJson(engine.socket, agent, '/images/json?all=1'),
      getJson(engine.socket, agent, '/containers/json?all=1')
    ]);
    await pool(images, limit, async (i) => {
      if ((await call(engine.socket, agent, 'GET', `/images/${i.Id}/json`)) >= 300)
        warn(`read at ${limit}: GET /images/${i.Id}/json failed`);
    });
    await beside;
    const took = performance.now() - t0;
    agent.destroy();
    return took;
  } finally {
    await engine.stop();
  }
}

/** `runs` bare reads at each of READ_LIMITS, taken in turn; the fastest limit's times. */
async function readFloor(snapshot, runs) {
  const byLimit = new Map(READ_LIMITS.map((l) => [l, []]));
  for (let r = 0; r < runs; r++) {
    for (const limit of READ_LIMITS) byLimit.get(limit).push(await bareRead(snapshot, limit));
  }
  const [limit, times] = [...byLimit].reduce((a, b) => (median(a[1]) <= median(b[1]) ? a : b));
  log(
    `read floor ${snapshot.n}: ${[...byLimit].map(([l, t]) => `${sec(median(t))} at ${l}`).join(', ')}`
  );
  return { limit, times, ms: median(times), byLimit };
}

// --- Cold start: a stand-in engine notes when the first request arrives

async function coldStart(node, reps = 7) {
  const dir = await mkdtemp('/tmp/dr-cold-');
  const socketPath = join(dir, 'fake.sock');
  let first;
  const server = createHttpServer((req, res) => {
    first ??= performance.now();
    const path = req.url.replace(/^\/v\d+\.\d+/, '').replace(/\?.*$/, '');
    const body = {
      '/images/json': [], '/containers/json': [], '/volumes': { Volumes: [] },
      '/info': { DockerRootDir: '/nonexistent', Driver: 'overlay2' },
      '/system/df': { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] }
    }[path]; // prettier-ignore
    res.writeHead(path === '/_ping' || body ? 200 : 404, {
      'Content-Type': 'application/json',
      'Api-Version': '1.41'
    });
    res.end(path === '/_ping' ? 'OK' : JSON.stringify(body ?? { message: 'not found' }));
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  const firsts = [];
  const idleRss = [];
  // Fresh runner files for each run, against the stand-in engine.
  const stepEnv = async () =>
    (
      await actionEnv({
        inputs: { dangling: 'true' },
        env: { DOCKER_HOST: `unix://${socketPath}` },
        tmpDir: dir
      })
    ).env;
  try {
    for (let i = 0; i < reps; i++) {
      const env = await stepEnv();
      first = undefined;
      const t0 = performance.now();
      const child = spawn(node, [ENTRY], { env, stdio: 'ignore' });
      await new Promise((resolve) => child.on('close', resolve));
      firsts.push(first === undefined ? NaN : first - t0);
    }
    // The same step, whole, for the memory the bundle itself takes before any inventory: what
    // the action's process holds beyond the planner's alone.
    for (let i = 0; i < 3; i++) {
      const env = await stepEnv();
      const idle = await measuredRun(node, env, dir);
      if (idle.code === 0 && Number.isFinite(idle.peakRssMb)) idleRss.push(idle.peakRssMb);
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
  return {
    median: median(firsts),
    all: firsts,
    // NaN when no run gave a number: the doc then leaves the bundle's share out.
    idleRssMb: idleRss.length > 0 ? median(idleRss) : NaN,
    idleRuns: idleRss.length,
    bundleBytes: (await stat(ENTRY)).size
  };
}

// --- The run

await ensurePrerequisites();
const node = await ensureNode24();
log(
  `sizes ${opts.sizes.join(', ')}; ${opts.sizes.map((n, si) => `${roundsAt(si)} rounds at ${n}`).join(', ')}`
);
const cold = await coldStart(node);
log(`cold start: ${ms(cold.median)} to the first engine request`);
// The planner first, before the engines load the machine: run after them on 2026-12-01 (load 2.1),
// its objects-only row took 321 ms against 201 ms in the run before.
const planner = opts.planner ? await benchPlanner({ sizes: [10_000, 50_000], log }) : undefined;

const results = [];
for (const [si, n] of opts.sizes.entries()) {
  const snapshot = await buildSnapshot(n);
  try {
    const rounds = [];
    // One round at a size says little here: a single pair of runs moved by 40% between rounds, and
    // three rounds of one run gave ratios from 0.67 to 1.07: several, and the doc shows each.
    for (let r = 0; r < roundsAt(si); r++) {
      const round = {};
      // The order alternates, so that neither always runs first.
      for (const v of r % 2 ? ['prune', 'action'] : ['action', 'prune']) {
        const engine = await restore(snapshot, `bench-${v}`);
        try {
          const engineCpuBefore = cpuMsOf(engine.pid);
          round[v] = v === 'action' ? await runTheAction(engine, node) : await runPrune(engine);
          round[v].engineCpuMs = cpuMsOf(engine.pid) - engineCpuBefore;
          if ((await leftOn(engine)) > 0) warn(`${v} at ${n} left the engine not empty`);
        } finally {
          await engine.stop();
        }
      }
      const deleted = JSON.parse(round.action.outputs['deleted-images'] ?? '[]').length;
      if (deleted !== n) warn(`the action at ${n} reported ${deleted} deleted images`);
      log(
        `${n} round ${r + 1}: action ${sec(round.action.wallMs)}, prune ${sec(round.prune.wallMs)}: ${(round.action.wallMs / round.prune.wallMs).toFixed(2)}×`
      );
      rounds.push(round);
    }
    const requests = si === 0 ? await requestProfile(snapshot, node) : undefined;
    const curve = await sweep(
      snapshot,
      si === 0 ? opts.sweep : [8, 16, 32, 64].filter((l) => opts.sweep.includes(l))
    );
    const floor =
      curve.length > 0 ? await straightFloor(snapshot, curve, rounds.length) : undefined;
    const read = await readFloor(snapshot, rounds.length);
    results.push({ snapshot, rounds, requests, curve, floor, read });
  } finally {
    await snapshot.engine.stop();
  }
}

const loadAtEnd = os.loadavg();

// --- docs/benchmarks.md

/** What the CPU table says, for the first and the last size. */
function cpuBullet() {
  const sizes = [...new Set([results[0], results.at(-1)])].map((r) => ({
    n: r.snapshot.n,
    c: cpuOf(r)
  }));
  const each = sizes.map(
    ({ n, c }) =>
      `at ${n} images the action's process used ${sec(c.actionCpu)} of CPU in its ${sec(c.action)} and the engine ${sec(c.engineInAction)}, together ${pct(c.actionBusy)} of the cores; in prune's run the engine used ${sec(c.engineInPrune)} in ${sec(c.prune)}, ${pct(c.pruneBusy)}`
  );
  // Below this share of the cores, most of a run is spent waiting rather than computing.
  const BUSY_PERCENT = 75;
  const idle = sizes.every(({ c }) => c.actionBusy < BUSY_PERCENT && c.pruneBusy < BUSY_PERCENT);
  return (
    `- **Where the CPU went** (the CPU table): ${each.join('; ')}.` +
    (idle
      ? " Neither run keeps the cores busy: the rest of each is waiting, on the engine's writes to its disk (each untag and delete syncs repositories.json) and on the lock they hold, which more requests in flight overlap and no client can shorten."
      : " The cores were busy for most of a run: the client's own work then competes with the engine for them.")
  );
}

const doc = [];
const p = (...xs) => doc.push(...xs);
const ratioIn = (rounds) => median(rounds.map((x) => x.action.wallMs / x.prune.wallMs));
const ratioOf = (r) => ratioIn(r.rounds);
const ratioInterval = (r) => interval([r.rounds], ratioIn);
const first = results[0];
const dist = createHash('sha256').update(readFileSync(ENTRY)).digest('hex').slice(0, 12);
const commit = (
  await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, allowFail: true })
).stdout.trim();
const load = (l) => l.map((x) => x.toFixed(2)).join(', ');
p(
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` (\`node scripts/bench.mjs --images ${opts.sizes.join(',')} --rounds ${opts.rounds.join(',')}\`) on ${new Date().toISOString().slice(0, 10)}, commit ${commit}, dist/index.js sha256 ${dist}… (${(cold.bundleBytes / 2 ** 20).toFixed(1)} MB). The machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB; dockerd ${first.snapshot.version}, a private engine of the test harness; the action on Node ${(await run(node, ['--version'])).stdout.trim()}. Load average (1, 5, 15 min): ${load(loadAtStart)} at the start, ${load(loadAtEnd)} at the end. A shared virtual machine moves single runs by 10–50% here: read medians, ratios and their intervals.`,
  '',
  '## The state',
  '',
  `n images loaded with one \`docker load\`: half with two tags (half of those in two repositories), 2% dangling, the rest with one tag, over 20 repositories, all on 8 shared base layers; a stopped container (\`docker create\`) on every fifth image. Each run gets a fresh dockerd on its own copy of the same data root, so both remove the very same images. The action runs with \`images: '**'\`, \`containers: '*'\` as the runner runs it, from spawning the process to its exit; prune is \`docker container prune -f && docker image prune -a -f\`.`,
  '',
  '## The action against prune',
  '',
  "The ratio is the median of the rounds' ratios (action ÷ prune, each round's two runs on the same state); its interval is the middle 90% of that median over the rounds resampled 2000 times.",
  '',
  '| Images | References | Containers | Rounds | Action | Prune | Ratio | 90% interval | Each round | Action per image | Prune per image | Peak RSS |',
  '| -----: | ---------: | ---------: | -----: | -----: | ----: | ----: | -----------: | ---------- | ---------------: | --------------: | -------: |'
);
for (const r of results) {
  const a = median(r.rounds.map((x) => x.action.wallMs));
  const b = median(r.rounds.map((x) => x.prune.wallMs));
  const s = r.snapshot;
  p(
    `| ${s.n} | ${s.references} | ${s.containers} | ${r.rounds.length} | ${sec(a)} | ${sec(b)} | ${ratioOf(r).toFixed(2)}× | ${span(ratioInterval(r))} | ${r.rounds.map((x) => (x.action.wallMs / x.prune.wallMs).toFixed(2)).join(', ')} | ${(a / s.n).toFixed(2)} ms | ${(b / s.n).toFixed(2)} ms | ${median(r.rounds.map((x) => x.action.peakRssMb)).toFixed(0)} MB |`
  );
}
const pct = (x) => (Number.isFinite(x) ? `${x.toFixed(0)}%` : '–');
const cpuOf = (r) => {
  const m = (f) => median(r.rounds.map(f));
  const action = m((x) => x.action.wallMs);
  const actionCpu = m((x) => x.action.cpuMs);
  const engineInAction = m((x) => x.action.engineCpuMs);
  const prune = m((x) => x.prune.wallMs);
  const engineInPrune = m((x) => x.prune.engineCpuMs);
  const busy = (cpu, wall) => (100 * cpu) / (wall * os.cpus().length);
  return {
    action, actionCpu, engineInAction, prune, engineInPrune,
    actionBusy: busy(actionCpu + engineInAction, action),
    pruneBusy: busy(engineInPrune, prune)
  }; // prettier-ignore
};
p(
  '',
  `The CPU time each run used, user and system (medians of the rounds): the action's own process, from GNU time, and the engine's (dockerd and its containerd), from /proc. Busy is that CPU time against what the machine's ${os.cpus().length} cores could give in the run's wall time; prune's docker CLI is left out, as it only waits.`,
  '',
  '| Images | Action | Its process | The engine | Busy | Prune | The engine | Busy |',
  '| -----: | -----: | ----------: | ---------: | ---: | ----: | ---------: | ---: |',
  ...results.map((r) => {
    const c = cpuOf(r);
    return `| ${r.snapshot.n} | ${sec(c.action)} | ${sec(c.actionCpu)} | ${sec(c.engineInAction)} | ${pct(c.actionBusy)} | ${sec(c.prune)} | ${sec(c.engineInPrune)} | ${pct(c.pruneBusy)} |`;
  })
);
const phaseNames = [...new Set(first.rounds.flatMap((x) => Object.keys(x.action.phases)))];
p(
  '',
  `Where the action's time goes at ${first.snapshot.n} images (medians of the log groups; start-up is spawn → first group):`,
  '',
  `| ${phaseNames.join(' | ')} |`,
  `| ${phaseNames.map(() => '---:').join(' | ')} |`,
  `| ${phaseNames.map((ph) => ms(median(first.rounds.map((x) => x.action.phases[ph] ?? 0)))).join(' | ')} |`,
  '',
  `The requests it made, through a recording proxy (one extra run):`,
  '',
  '| Request | Count | Mean latency |',
  '| ------- | ----: | -----------: |',
  ...first.requests.map((k) => `| ${k.kind} | ${k.count} | ${(k.ms / k.count).toFixed(1)} ms |`),
  '',
  '## How much concurrency the engine gives',
  '',
  "Each kind of removal the action makes, sent straight to the engine over keep-alive connections at a fixed number in flight, from the same state: the engine's own curve, with no client work around it. Total is each kind alone, one after the other; Together is the same calls with containers and untags in one pool, then the deletes (which need both), on a fresh copy of the state.",
  ''
);
for (const r of results) {
  const c = r.curve;
  if (c.length === 0) continue;
  p(
    `${r.snapshot.n} images (${c[0].containersCount} containers, ${c[0].untagsCount} untags, ${c[0].deletesCount} deletes):`,
    '',
    '| In flight | Containers | Untags | Deletes | Total | Together |',
    '| --------: | ---------: | -----: | ------: | ----: | -------: |',
    ...c.map(
      (x) =>
        `| ${x.limit} | ${sec(x.containers)} | ${sec(x.untags)} | ${sec(x.deletes)} | ${sec(kindsTotal(x))} | ${sec(x.together)} |`
    ),
    ''
  );
  const f = r.floor;
  if (f) {
    p(
      `The fastest of these, ${f.together ? 'together' : 'each kind alone'} at ${f.limit} in flight, run ${f.times.length === 1 ? 'once' : `${f.times.length} times`}: ${f.times.map(sec).join(', ')}${f.times.length > 1 ? `, median ${sec(f.ms)}` : ''}. Below, this is the floor for the removals.`,
      ''
    );
  }
}
p(
  "## The read's floor",
  '',
  `The calls that no read of the inventory can do without, sent straight to a fresh copy of each state from a process already running: the image and container lists, with \`/info\` and \`/system/df\` beside them, then each image's inspect (for its layers, which exact bytes need), whose answers are only drained. At ${READ_LIMITS.join(', ')} in flight, taken in turn, as many runs of each as the size had rounds (medians):`,
  '',
  `| Images | ${READ_LIMITS.map((l) => `At ${l}`).join(' | ')} |`,
  `| -----: | ${READ_LIMITS.map(() => '---:').join(' | ')} |`,
  ...results.map(
    (r) =>
      `| ${r.snapshot.n} | ${READ_LIMITS.map((l) => sec(median(r.read.byLimit.get(l)))).join(' | ')} |`
  ),
  '',
  "Below, the fastest limit's median is the floor for the read.",
  ''
);
p(
  '## Cold start',
  '',
  `Spawn → first engine request against a stand-in engine, ${cold.all.length} runs: median ${ms(cold.median)} (${cold.all.map((x) => x.toFixed(0)).join(', ')} ms).` +
    (Number.isFinite(cold.idleRssMb)
      ? ` The whole step against that engine, which lists nothing, peaked at ${cold.idleRssMb.toFixed(0)} MB of RSS (median of ${cold.idleRuns} runs): Node, the bundle and its modules.`
      : ''),
  ''
);
if (planner) p('## The planner alone', '', plannerTable(planner), '');
p('## Against the targets', '');
const met = (ok) => (ok ? '**met**' : '**not met**');
/** What the action spends outside its removals: start-up, reading, planning, reporting, exit. */
const besidesRemoval = (r) =>
  median(r.rounds.map((x) => x.action.wallMs - (x.action.phases.remove ?? NaN)));
/**
 * The least any client of this design could take: it reads the inventory, then removes (a plan
 * needs the whole of it), and it is a process that starts. So the read's floor, the removals'
 * floor and the cold start, against prune, with the rounds and runs of all four resampled.
 */
function boundText(r, target) {
  const boundOf = (rounds, floorTimes, readTimes, colds) =>
    (median(floorTimes) + median(readTimes) + median(colds)) /
    median(rounds.map((x) => x.prune.wallMs));
  const lists = [r.rounds, r.floor.times, r.read.times, cold.all];
  const [lo, hi] = interval(lists, boundOf);
  const what =
    lo > target
      ? `all of it above the target: no such client meets ${target}× on this engine and disk`
      : hi <= target
        ? "all of it within the target: what is left between the action and it is the action's own"
        : 'spanning the target: this run cannot say whether any client could meet it';
  return ` Any client that reads the inventory before it removes, as a plan needs, takes at least those removals, the read's floor (${sec(r.read.ms)}, at ${r.read.limit} in flight) and a cold start (${ms(cold.median)}): together ${boundOf(...lists).toFixed(2)}× prune (90% interval ${span([lo, hi])}), ${what}.`;
}
for (const [r, target] of results.map((x, i) => [x, i === 0 ? 0.7 : 0.75])) {
  const prune = median(r.rounds.map((x) => x.prune.wallMs));
  const remove = median(r.rounds.map((x) => x.action.phases.remove ?? NaN));
  const spread = ratioInterval(r);
  const f = r.floor;
  let why = '';
  if (f) {
    const floor = f.ms / prune;
    const atFloor = (f.ms + besidesRemoval(r)) / prune;
    why =
      ` The action's removals took ${sec(remove)}, ${(remove / f.ms).toFixed(2)}× the same calls sent straight at their fastest (above, ${sec(f.ms)}), which alone are ${floor.toFixed(2)}× prune.` +
      (floor > target
        ? ' That is already above the target: in this run, these calls alone, sent the fastest way the sweep found, do not meet it on this engine and disk.'
        : atFloor > target
          ? ` With its removals at that floor, the rest of the step (${sec(besidesRemoval(r))}) would still make it ${atFloor.toFixed(2)}× prune: both the removals and what surrounds them stand between it and the target.`
          : ` With its removals at that floor, the step would be ${atFloor.toFixed(2)}× prune: the gap is in the removals.`) +
      boundText(r, target);
  }
  p(
    `- **At most ${target}× prune at ${r.snapshot.n} images:** ${ratioOf(r).toFixed(2)}× (90% interval ${span(spread)}): ${verdict(target, spread)}.${why}`
  );
}
if (results.length > 1) {
  const [a, b] = [results[0], results.at(-1)];
  const perImage = (rounds, v, n) => median(rounds.map((x) => x[v].wallMs)) / n;
  const growthOf = (v, ra, rb) => perImage(rb, v, b.snapshot.n) / perImage(ra, v, a.snapshot.n);
  const growth = growthOf('action', a.rounds, b.rounds);
  const pruneGrowth = growthOf('prune', a.rounds, b.rounds);
  // The action's growth against prune's. The target is no faster than prune's, so 1 is the bound:
  // a tolerance here would call "met" a run whose interval says the action may grow faster.
  const relative = interval(
    [a.rounds, b.rounds],
    (ra, rb) => growthOf('action', ra, rb) / growthOf('prune', ra, rb)
  );
  let why = '';
  // Only a run that does not meet the target needs its why. The removal calls alone are no bound
  // on the whole step's growth: the start, the read and the plan weigh less per image at the
  // larger size, so a step can grow slower than its removals do.
  if (a.floor && b.floor && relative[1] > 1) {
    // The same question of the removal calls alone.
    const floorGrowth = (fa, fb) => median(fb) / b.snapshot.n / (median(fa) / a.snapshot.n);
    const lists = [a.floor.times, b.floor.times, a.rounds, b.rounds];
    const floorRelative = (fa, fb, ra, rb) => floorGrowth(fa, fb) / growthOf('prune', ra, rb);
    const [lo, hi] = interval(lists, floorRelative);
    why =
      ` The removals' floors (above) grow ×${floorGrowth(a.floor.times, b.floor.times).toFixed(2)} per image, ×${floorRelative(...lists).toFixed(2)} prune's growth (90% interval ${span([lo, hi])}): ` +
      (lo > 1
        ? 'all of it above the target: the removal calls alone, sent bare, slow per image faster than prune does, so a client meets the target only where what it spends besides them weighs less per image at the larger size.'
        : hi <= 1
          ? "within the target: what grows faster than prune is the action's own."
          : 'spanning the target: this run cannot say whether any client could meet it.');
  }
  p(
    `- **Time per image grows no faster than prune's** from ${a.snapshot.n} to ${b.snapshot.n} images: the action's ×${growth.toFixed(2)}, prune's ×${pruneGrowth.toFixed(2)}; the action's against prune's ×${(growth / pruneGrowth).toFixed(2)} (90% interval ${span(relative)}, each size's rounds resampled): ${verdict(1, relative)}.${why}`
  );
}
const plannerFailed = (planner ?? []).filter((x) => x.images === 50_000 && x.error);
// Whether the planner's first call met its target in this run: what the explanation says of it.
let plannerMet = false;
if (plannerFailed.length > 0) {
  p(
    `- **Planner, 50000 images:** not judged: ${plannerFailed.map((x) => x.scenario).join(', ')} failed (the planner table says why).`
  );
} else if (planner) {
  const big = planner.filter((x) => x.images === 50_000);
  const plans = big.filter((x) => x.scenario !== OBJECTS_LABEL);
  const objects = big.find((x) => x.scenario === OBJECTS_LABEL);
  const slowest = plans.reduce((x, y) => (x.firstMs >= y.firstMs ? x : y));
  const worst = slowest.firstMs;
  const worstInterval = interval([slowest.firstEachMs], median);
  plannerMet = worstInterval[1] <= 400;
  const peak = plans.reduce((x, y) => (x.peakRssAfterFirstMb >= y.peakRssAfterFirstMb ? x : y));
  const rss = peak.peakRssAfterFirstMb;
  // What the action's process holds beyond the planner's: the rest of the bundle, at least.
  const bundleExtra = cold.idleRssMb - peak.startRssMb;
  p(
    `- **Planner, 50000 images, cold, under 0.4 s:** slowest scenario (${slowest.scenario}) ${ms(worst)} (90% interval ${span(worstInterval, 0)} ms, over its processes): ${verdict(400, worstInterval)}.` +
      (objects
        ? ` Only making about as many objects as select-all's plan holds, with no decision (the "${OBJECTS_LABEL}" row), took ${ms(objects.firstMs)} on its first call: the target leaves about ${ms(Math.max(0, 400 - objects.firstMs))} for every decision.`
        : '')
  );
  p(
    `- **Planner process under 300 MB peak RSS, inventory included:** ${rss.toFixed(0)} MB (${peak.scenario}): ${met(rss < 300)}. That process holds Node, the planner, the inventory and the plan (it started at ${peak.startRssMb.toFixed(0)} MB, before the inventory). The action's own process at 50,000 images is not measured here, and would hold more: the rest of the bundle` +
      (Number.isFinite(bundleExtra)
        ? ` (its step on an empty engine peaked at ${cold.idleRssMb.toFixed(0)} MB, ${bundleExtra.toFixed(0)} MB above that start)`
        : '') +
      ", and beside the plan the engine's answers as read, the outcome and the report. So this peak is a floor under the action's." +
      (objects
        ? ` The inventory alone peaked at ${objects.inventoryOnlyPeakRssMb.toFixed(0)} MB, and with select-all's objects only, ${objects.peakRssAfterFirstMb.toFixed(0)} MB.`
        : '')
  );
}
const coldInterval = interval([cold.all], median);
p(
  `- **Cold start under 0.3 s to the first engine call:** ${ms(cold.median)} (90% interval ${span(coldInterval, 0)} ms): ${verdict(300, coldInterval)}.`,
  ''
);
p(
  '## Why the missed targets are where they are',
  '',
  "- **Prune works inside the daemon**: one loop over the images, with no HTTP, no JSON and no client. The engine's own cost is most of both runs: each untag and each image delete rewrites `repositories.json` (and syncs it to disk) under the reference store's one lock, and each container and layer removal is disk work, so the curve above flattens after 8–16 in flight and the cost per image grows with the number of references. The floor in each bullet above is that cost: the same removal calls with nothing around them, sent the fastest way the sweep found.",
  "- **What the action adds on top is what its safety needs.** Each step's precondition (issue #9) is answered without a request while the engine's event feed shows that nothing has named an image since the inventory was read, and a container's \"still stopped\" is left to the engine, which refuses a running one in the call itself: the requests table shows what remains. The rest is the inventory, the plan and the start of a Node process, against a daemon that holds its state in memory.",
  "- **Beside the removals** (the phases table): the start of a Node process and its bundle, the inventory, the plan and the report. The inventory's image inspects are most of the read: one per image, for the layers that exact bytes need, at 32 in flight. They take longer in the action than alone, and what differs is the client's own CPU. Measured on 2026-12-02 at 1000 images, in 7 rounds alternating on restored engines: the action's whole read group took a median of 0.82 s (0.69–0.95 s); the same lists and inspects with `/info` and `/system/df`, sent bare at 32 in flight from a process already running, 0.57 s (0.38–0.78 s); the action also reads the events, the volumes and 20 histories, and checks the data disk, about 40 ms of calls one after another. In two CPU profiles of the action, its process was busy for 81% of the time from the lists to the last inspect (693 of 857 ms, 660 of 818 ms): mostly Node's HTTP client (building and writing each request, reading its answer), then garbage collection (about 50 ms), parsing the answers' JSON (about 35 ms), and docker-modem formatting every request's options for a debug line that is off (25–39 ms). So the read is bound by the CPU of a process that has just started, beside an engine that needs the other core: a leaner client could take off it about the 0.25 s between the two, 4% of the step at 1000 images.",
  '- **Tried on 2026-12-01 and 2026-12-02 and not kept** (each as a patched bundle, in 4–6 rounds alternating with this one and prune, 1000 images): ordering the ready steps critical path first (containers and the untags that delete nothing before the ones that delete), median 5.31 s and 6.33 s in two series against 5.90 s and 5.96 s for the bundle as it is; a fixed 32 in flight, 6.69 s against 5.90 s; a fixed 64 (6 rounds, 2026-12-02), 5.97 s against 6.01 s, its removals 4.87 s against 4.95 s, with prune at 9.46 s. All are inside the spread of single runs here (prune alone took 5.3–11.6 s in the same series), so the executor keeps its order and its probing.',
  cpuBullet(),
  "- **Tried on 2026-12-01 at 4000 images, and not kept** (patched bundles, 3 rounds each, alternating with the bundle as it is and prune; the removals' time, medians). The bench at 4807b98 found its floor at a fixed 64 in flight (28.83 s). The action at a fixed 64 took 35.1 s against 33.4 s for the bundle as it is, and was slower in each of the 3 pairs; the bundle as it is held 16 most of the time, probing 32 and 64 now and then. In a second series, the steps that delete nothing first (containers and the untags that leave their image), as the floor sends them, took 37.2 s, and the same at a fixed 64 37.0 s, against 34.8 s. Neither the number in flight nor that order made the action's removals faster. Where they are slower than the floor, what differs is what the action does around each request, which the floor's bare calls do not: dockerode's handling of the request and its answer, the step's precondition and the record of its result (the CPU table gives the process's share).",
  "- **The inventory cannot be read with fewer calls and keep exact bytes.** `GET /images/json` has no layer IDs, so each image is inspected once for its RootFS; layer sizes come from `GET /images/{id}/history`, now only for images that hold a layer no other answer sized (20 calls for 1000 images here, against 1000 before). `/system/df` and `/images/json?shared-size=1` (API 1.42 and later; 20.10 has 1.41) give each image's `SharedSize`: the bytes it shares, not with which images, so the bytes that deleting some of the images frees cannot be derived from them.",
  "- **The planner at 50,000 images** is measured on an inventory whose strings come from `JSON.parse`, as the action's do (strings made by templates are ropes, and flattening them on first read cost it about a third more). Its first call spends the time over the phases rather than in one: the index parses 108,000 references and sorts 50,000 IDs, the steps phase makes one step object per container, reference and image (the Steps column), and the reference decisions visit every reference; the first run also pays for the young generation's scavenges as the heap grows (the GC column). The process's peak includes the inventory itself, which the planner does not make. The objects-only row is the plan's shape alone, an object per step and per deleted image (which the JSON report and the summary read), with no decision; the target bullet above says how much of the 0.4 s it leaves for the decisions." +
    (plannerMet
      ? ''
      : ' Reaching the target would take another data layout (arrays of numbers rather than objects per image and step) for the phases and the plan alike, which has not been done.'),
  "- **The planner on 2026-12-02.** Kept: the index parses each reference in the order the inventory lists its image, the order its strings lie in memory, where parsing in ID order jumped about (the index of 50,000 images took about 20 ms less); the steps phase walks ancestors for prune locks only from images with a parent, and finds the tags that carry an image's digests with loops rather than callbacks (at 50,000 images the steps phase allocated 50 MB rather than 60); keep-latest holds a candidate's listing rather than a list of one. On that day's machine (an Intel Xeon, 2 cores) select-all's first call at 50,000 images went from 408–410 ms to 348–356 ms and policy's from 404–431 ms to 347–388 ms (medians of five processes, over runs before and after). Tried and not kept: the container IDs sorted natively and looked up again (no change beyond noise), and every image's age computed up front in listed order (the time moved between phases with the collections, and the total did not change). With a young generation large enough that no collection ran, select-all's first call took about 310 ms: the collections are about 50 ms of it, and the rest is spread over the phases, each run once before V8 optimises it.",
  "- **The planner's memory on 2026-12-02.** Until then each planner process imported the TypeScript compiler and the test harness, which only the bench's parent needs, at the top of bench-planner.mjs. On this machine that was 124 MB of RSS at the child's start against 48 MB for Node and the planner alone, so each peak in the planner table was about 76 MB above what planning holds: the bench at 95e242e gave 333 MB for select-all at 50,000 images. They are imported only where the parent uses them now.",
  "- **The planner on 2026-12-01.** Kept, in two rounds. First: steps share their precondition where it names nothing of its own and one empty list, an image's untags share theirs, the reference decisions make a decision object only when they return one and look each reference's exclusion up once, and lists are joined by spreading rather than `concat` (in paired runs of the phases, the steps phase went from about 300 to 210 ms and select-all's first call from about 0.95 to 0.85 s). Then: the passes over images, references and steps loop by index rather than with `for … of`, and keep closures that name their variables out of what they call per image; age records that name nothing are shared; keep-latest's ranks are looked up by the parsed reference rather than by its text, which hashed every reference; a deleted image's references are the inventory's own list when it has tags only or digests only. A first select-all plan allocated about 200 MB before that round and 120 MB after (measured with a young generation large enough that no GC ran), and in 8 pairs of runs alternating the two, select-all's first call went from 869 to 709 ms and policy's from 905 to 832 ms (medians); the process's peak RSS came under 300 MB. Where a first select-all call spends its time now (phase medians of 7 processes, each phase with the GC that falls in it): the index about 230 ms, the steps about 230 ms, the reference decisions about 130 ms, the images about 60 ms, the rest about 70 ms. Measured and not kept: parsing the references in the order the engine lists the images, for memory locality (alone, 37 against 77 ms; in the whole index, within noise in 8 pairs); comparing a reference with the repository parsed just before, to skip a slice and a hash (within noise); sorting the IDs by a numeric key of their first hex digits, ties settled by the whole ID (the whole index took 207 against 220 ms, medians of 10 pairs, within noise); an inventory already in ID order made the index about 40 ms faster and no other phase faster. Why a first call costs what it does: `decideReferences` alone, over the same 50,000 images, took 94–126 ms on each of its first two calls and 36–62 ms from the third (5 processes): a pass that runs once runs mostly before V8 has optimised it, so the first-call target counts the engine's tiering as well as the work.",
  ''
);
if (warnings.length) p('## Warnings during the run', '', ...warnings.map((w) => `- ${w}`), '');

let text = doc.join('\n');
try {
  const prettier = await import('prettier');
  text = await prettier.format(text, {
    ...((await prettier.resolveConfig(opts.out)) ?? {}),
    filepath: opts.out
  });
} catch (e) {
  warn(`prettier: ${e.message}`);
}
await writeFile(opts.out, text);
log(`wrote ${relative(process.cwd(), opts.out)}`);
