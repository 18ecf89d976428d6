// npm run bench: how fast the bundled action empties an engine, compared with `docker prune` and a
// naive CLI loop, each from an identical engine state; where the action's time goes; its cold start;
// and the planner alone on large synthetic inventories. Writes docs/benchmarks.md.
//
//   node scripts/bench.mjs [--images 1000] [--rounds 3] [--out docs/benchmarks.md]
//                          [--planner-sizes 10000,50000] [--skip-planner] [--sweep 1,8,16]
//
// Identical state: the images and containers are made once on a private engine, whose data-root is
// then copied while dockerd is stopped. Every timed run gets a fresh engine started on its own copy
// of that snapshot (checked against the snapshot's image and container IDs before the clock starts),
// so every variant removes exactly the same images, and setup never counts in the compared times.
// Only private engines from scripts/lib/engine.mjs are used; the machine's own engine is never touched.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import {
  Agent as HttpAgent,
  createServer as createHttpServer,
  request as httpRequest
} from 'node:http';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensurePrerequisites, loadImages, run, startEngine } from './lib/engine.mjs';
import {
  REPO_ROOT,
  actionEnv as runnerEnv,
  ensureNode24,
  parseCommandFile,
  runAction
} from './lib/action.mjs';
import { benchPlanner, plannerTable, profilePlanner, profileTable } from './bench-planner.mjs';

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const opts = {
    images: 1000,
    rounds: 3,
    out: join(REPO_ROOT, 'docs', 'benchmarks.md'),
    plannerSizes: [10_000, 50_000],
    planner: true,
    sweep: [1, 8, 16]
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--images') opts.images = Number(value());
    else if (a === '--rounds') opts.rounds = Number(value());
    else if (a === '--out') opts.out = value();
    else if (a === '--planner-sizes') opts.plannerSizes = value().split(',').map(Number);
    else if (a === '--skip-planner') opts.planner = false;
    else if (a === '--sweep') opts.sweep = value().split(',').map(Number);
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node scripts/bench.mjs [--images N] [--rounds R] [--out FILE] [--planner-sizes 10000,50000] [--skip-planner] [--sweep 1,8,16]'
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.images) || opts.images < 10) throw new Error('--images: at least 10');
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new Error('--rounds: at least 1');
  if (opts.sweep.length === 0 || opts.sweep.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('--sweep: concurrencies, comma-separated, such as 1,8,16');
  }
  if (opts.plannerSizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('--planner-sizes: whole numbers, comma-separated');
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
// Other work on the machine (tests, other engines) moves the numbers: note the load around the run.
const loadStart = os.loadavg();
const T0 = performance.now();
const log = (msg) =>
  console.log(`[bench ${((performance.now() - T0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const warnings = [];
const warn = (msg) => {
  warnings.push(msg);
  console.log(`[bench] WARNING: ${msg}`);
};

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '–');
const sec = (x) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : '–');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
const lines = (text) => text.split('\n').filter(Boolean);
const unique = (xs) => [...new Set(xs)];

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool(items, limit, fn) {
  let next = 0;
  const out = new Array(items.length);
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const n = next++;
        out[n] = await fn(items[n], n);
      }
    })
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// The engine state

const CREATE_CONCURRENCY = 8;

/**
 * n images: 2% dangling (a few of them with a container), half with two tags (half of those in two
 * repositories, half twice in one), the rest with one tag, over 20 repositories; every image on one of
 * 8 shared base layers, 2% with a layer of their own; a stopped (created) container on every fifth.
 */
function stateSpecs(n) {
  const base = Date.parse('2025-01-01T00:00:00Z');
  const images = [];
  const containers = [];
  for (let i = 0; i < n; i++) {
    const repo = `team${i % 4}/svc${i % 20}`;
    const dangling = i % 100 === 45 || i % 100 === 99;
    let tags;
    if (dangling) tags = [];
    else if (i % 4 === 0) tags = [`${repo}:v${i}`, `mirror.local:5000/${repo}:v${i}`];
    else if (i % 2 === 0) tags = [`${repo}:v${i}`, `${repo}:build-${i}`];
    else tags = [`${repo}:v${i}`];
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
  const [images, containers, refs] = await Promise.all([
    engine.docker(['image', 'ls', '-aq', '--no-trunc']),
    engine.docker(['ps', '-aq', '--no-trunc']),
    engine.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
  ]);
  return {
    images: unique(lines(images.stdout)).sort(),
    containers: unique(lines(containers.stdout)).sort(),
    references: lines(refs.stdout).filter((r) => !r.includes('<none>')).length
  };
}

/** Stops dockerd with SIGTERM (a clean shutdown, so its data-root can be copied) and waits for it. */
async function halt(engine) {
  const pid = engine.pid;
  const alive = () => {
    try {
      return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`dockerd ${pid} did not stop within 30 s of SIGTERM`);
    }
    await sleep(20);
  }
  // dockerd bind-mounts its data-root onto itself and unmounts it on a clean shutdown.
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === engine.dataRoot);
  if (mounted) await run('umount', ['-l', engine.dataRoot]);
}

/** Builds the state on a private engine and snapshots its data-root; returns the snapshot. */
async function buildSnapshot(n) {
  const specs = stateSpecs(n);
  const engine = await startEngine({ name: 'bench-src' });
  const t = {};
  let t0 = performance.now();
  const ids = await loadImages(engine, specs.images);
  t.loadMs = performance.now() - t0;
  log(`setup: docker load of ${n} images in ${sec(t.loadMs)}`);
  t0 = performance.now();
  await pool(specs.containers, CREATE_CONCURRENCY, (c) =>
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
  t.createMs = performance.now() - t0;
  log(
    `setup: ${specs.containers.length} containers created (${CREATE_CONCURRENCY} at a time) in ${sec(t.createMs)}`
  );
  const expected = await listIds(engine);
  if (expected.images.length !== n || expected.containers.length !== specs.containers.length) {
    throw new Error(
      `setup: expected ${n} images and ${specs.containers.length} containers, the engine has ${expected.images.length} and ${expected.containers.length}`
    );
  }
  // Which references each image has, for the direct API sweep.
  const refRows = lines(
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
  for (const row of refRows) {
    const [id, ref] = row.split(' ');
    if (!ref.includes('<none>')) refs.get(id)?.push(ref);
  }
  const [server, api] = lines(
    (await engine.docker(['version', '-f', '{{.Server.Version}}\n{{.Server.APIVersion}}'])).stdout
  );
  const storage = (await engine.docker(['info', '-f', '{{.Driver}}'])).stdout.trim();
  t0 = performance.now();
  await halt(engine);
  const dir = join(engine.dir, 'snapshot');
  await run('cp', ['-a', engine.dataRoot, dir]);
  t.snapshotMs = performance.now() - t0;
  log(`setup: data-root snapshot in ${sec(t.snapshotMs)}`);
  const dangling = specs.images.filter((s) => s.tags.length === 0).length;
  return {
    engine,
    dir,
    expected,
    refs,
    times: t,
    docker: { server, api, storage },
    shape: {
      images: n,
      twoTags: specs.images.filter((s) => s.tags.length === 2).length,
      acrossRepos: specs.images.filter((s) => s.tags.length === 2 && s.tags[1].startsWith('mirror'))
        .length,
      dangling,
      ownLayers: specs.images.filter((s) => s.ownLayer).length,
      bases: 8,
      containers: specs.containers.length,
      references: expected.references
    }
  };
}

/** A fresh private engine on a copy of the snapshot, checked to hold exactly the snapshot's state. */
async function restore(snapshot, name) {
  const t0 = performance.now();
  const engine = await startEngine({ name });
  try {
    await halt(engine);
    await run('rm', ['-rf', engine.dataRoot]);
    await run('cp', ['-a', snapshot.dir, engine.dataRoot]);
    await engine.restart();
    const now = await listIds(engine);
    const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
    if (
      !same(now.images, snapshot.expected.images) ||
      !same(now.containers, snapshot.expected.containers)
    ) {
      throw new Error(
        `restored engine differs from the snapshot: ${now.images.length} images, ${now.containers.length} containers`
      );
    }
  } catch (e) {
    await engine.stop().catch(() => {});
    throw e;
  }
  return { engine, ms: performance.now() - t0 };
}

/** What a run removed, from the engine's IDs before (the snapshot) and after. */
async function removedBy(engine, snapshot) {
  const after = await listIds(engine);
  const left = new Set(after.images);
  const leftC = new Set(after.containers);
  return {
    images: snapshot.expected.images.filter((id) => !left.has(id)),
    containers: snapshot.expected.containers.filter((id) => !leftC.has(id)),
    leftImages: after.images,
    leftContainers: after.containers
  };
}

// ---------------------------------------------------------------------------------------------
// Running the action

const ENTRY = join(REPO_ROOT, 'dist', 'index.js');
const INPUTS = { images: '**', containers: '*', dangling: 'true' };
const TIME = '/usr/bin/time';

/** The environment runAction gives the action (scripts/lib/action.mjs), in a folder under `dir`. */
const actionEnv = (dir, inputs, env) => runnerEnv({ inputs, env, tmpDir: dir });

function vmHwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs dist/index.js once as the runner would (runAction's environment), timestamping each stdout
 * line as it arrives, and measures the process's peak RSS with GNU time (or, without it, by
 * sampling VmHWM).
 */
async function timedAction({ node, host, tmpDir, inputs = INPUTS }) {
  const dir = await mkdtemp(join(tmpDir, 'action-'));
  try {
    const { files, env } = await actionEnv(dir, inputs, { DOCKER_HOST: host });
    const timeFile = join(dir, 'time.txt');
    const useTime = existsSync(TIME);
    const [cmd, args] = useTime ? [TIME, ['-v', '-o', timeFile, node, ENTRY]] : [node, [ENTRY]];
    const out = [];
    const err = [];
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let hwm = 0;
    const sampler = useTime
      ? undefined
      : setInterval(() => (hwm = Math.max(hwm, vmHwmKb(child.pid))), 10);
    const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
    rl.on('line', (text) => out.push({ t: performance.now() - t0, text }));
    child.stderr.on('data', (d) => err.push(d));
    const done = new Promise((resolve) => rl.once('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 128));
    });
    const wallMs = performance.now() - t0;
    clearTimeout(timer);
    if (sampler) clearInterval(sampler);
    await done;
    let peakRssKb = hwm;
    if (useTime) {
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(
        await readFile(timeFile, 'utf8')
      );
      peakRssKb = m ? Number(m[1]) : NaN;
    }
    return {
      code,
      wallMs,
      lines: out,
      stderr: Buffer.concat(err).toString(),
      outputs: parseCommandFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
      peakRssKb,
      phases: phasesOf(out, wallMs)
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const PHASE_NAMES = [
  [/^Connect/, 'connect'],
  [/^Read inventory/, 'inventory'],
  [/^Plan/, 'plan'],
  [/^(Remove|Dry run)/, 'execute'],
  [/^Report/, 'report']
];

/**
 * Phase durations from the `::group::` / `::endgroup::` lines: start-up is spawn → first group; each
 * group runs from its line to its endgroup; `between` is any time outside groups after start-up, and
 * `exit` is the last endgroup → the process's end. Groups the action gains later keep their names.
 */
function phasesOf(out, wallMs) {
  const groups = [];
  for (const { t, text } of out) {
    if (text.startsWith('::group::')) {
      const title = text.slice('::group::'.length);
      const name = PHASE_NAMES.find(([re]) => re.test(title))?.[1] ?? title.toLowerCase();
      groups.push({ name, title, start: t, end: undefined });
    } else if (text.startsWith('::endgroup::') && groups.length) {
      groups[groups.length - 1].end = t;
    }
  }
  const phases = { startup: groups[0]?.start ?? NaN };
  let last = groups[0]?.start ?? 0;
  let between = 0;
  for (const g of groups) {
    between += g.start - last;
    const end = g.end ?? g.start;
    phases[g.name] = (phases[g.name] ?? 0) + (end - g.start);
    last = end;
  }
  phases.between = between;
  phases.exit = wallMs - last;
  const firstLine = out[0]?.t ?? NaN;
  return {
    phases,
    order: ['startup', ...unique(groups.map((g) => g.name)), 'between', 'exit'],
    firstLine
  };
}

// ---------------------------------------------------------------------------------------------
// The variants

async function variantAction(engine, ctx) {
  const r = await timedAction({ node: ctx.node, host: engine.host, tmpDir: engine.dir });
  if (r.code !== 0) {
    warn(
      `(a) the action exited with ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`
    );
  }
  for (const l of r.lines.filter((x) => /^::(warning|error)/.test(x.text)).slice(0, 5)) {
    warn(`(a) the action logged: ${l.text.slice(0, 200)}`);
  }
  let deleted = [];
  let removedContainers = [];
  try {
    deleted = JSON.parse(r.outputs['deleted-images'] ?? '[]');
    removedContainers = JSON.parse(r.outputs['removed-containers'] ?? '[]');
  } catch {
    warn('(a) outputs deleted-images / removed-containers are not JSON');
  }
  return { ...r, reported: { deleted, removedContainers } };
}

async function variantPrune(engine) {
  const t0 = performance.now();
  await engine.docker(['container', 'prune', '-f']);
  const t1 = performance.now();
  const images = await engine.docker(['image', 'prune', '-a', '-f']);
  const wallMs = performance.now() - t0;
  const reclaimed = /Total reclaimed space:\s*(.+)/.exec(images.stdout)?.[1]?.trim();
  return {
    wallMs,
    containerPruneMs: t1 - t0,
    imagePruneMs: wallMs - (t1 - t0),
    reclaimed,
    calls: 2
  };
}

async function variantNaive(engine) {
  const t0 = performance.now();
  // What a shell script would do: list, then one CLI call per container, tag and dangling image.
  const [cs, refs, dangling] = await Promise.all([
    engine.docker([
      'ps',
      '-aq',
      '--no-trunc',
      '--filter',
      'status=created',
      '--filter',
      'status=exited',
      '--filter',
      'status=dead'
    ]),
    engine.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']),
    engine.docker(['image', 'ls', '-q', '--no-trunc', '--filter', 'dangling=true'])
  ]);
  let calls = 3;
  let failures = 0;
  const one = async (args) => {
    calls++;
    const r = await engine.docker(args, { allowFail: true });
    if (r.code !== 0) failures++;
  };
  for (const id of lines(cs.stdout)) await one(['rm', id]);
  for (const ref of lines(refs.stdout).filter((r) => !r.includes('<none>')))
    await one(['rmi', ref]);
  for (const id of unique(lines(dangling.stdout))) await one(['rmi', id]);
  return { wallMs: performance.now() - t0, calls, failures };
}

const VARIANTS = {
  a: { label: '(a) docker-reclaim (dist/index.js)', run: variantAction },
  b: { label: '(b) docker container prune -f && docker image prune -a -f', run: variantPrune },
  c: { label: '(c) naive loop: docker rm / docker rmi, one call each', run: variantNaive }
};

// ---------------------------------------------------------------------------------------------
// Instrumented run: a proxy between the action and the engine records every request

const KINDS = [
  [/^GET \/_ping$/, 'GET /_ping'],
  [/^HEAD \/_ping$/, 'HEAD /_ping'],
  [/^GET \/images\/json$/, 'GET /images/json (list)'],
  [/^GET \/containers\/json$/, 'GET /containers/json (list)'],
  [/^GET \/images\/.+\/json$/, 'GET /images/{id}/json (inspect)'],
  [/^GET \/images\/.+\/history$/, 'GET /images/{id}/history'],
  [/^GET \/containers\/.+\/json$/, 'GET /containers/{id}/json (inspect)'],
  [/^DELETE \/containers\/.+$/, 'DELETE /containers/{id}'],
  [/^DELETE \/images\/.+$/, 'DELETE /images/{name}']
];

function kindOf(method, path) {
  const p = path.replace(/^\/v\d+\.\d+/, '').replace(/\?.*$/, '');
  const key = `${method} ${p}`;
  return (
    KINDS.find(([re]) => re.test(key))?.[1] ?? `${method} ${p.replace(/[0-9a-f]{12,}/g, '{id}')}`
  );
}

/** A unix-socket proxy to the engine that notes each request line and the status line answering it. */
async function startProxy(upstream, socketPath) {
  const requests = [];
  let connections = 0;
  const server = createServer((client) => {
    connections++;
    const up = createConnection(upstream);
    const pending = [];
    client.on('data', (buf) => {
      for (const m of buf
        .toString('latin1')
        .matchAll(/(?:^|\n)(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.[01]\r\n/g)) {
        const r = { kind: kindOf(m[1], m[2]), start: performance.now() };
        requests.push(r);
        pending.push(r);
      }
      up.write(buf);
    });
    up.on('data', (buf) => {
      for (const m of buf.toString('latin1').matchAll(/(?:^|\n)HTTP\/1\.[01] (\d{3})/g)) {
        const r = pending.shift();
        if (r) Object.assign(r, { status: Number(m[1]), end: performance.now() });
      }
      client.write(buf);
    });
    client.on('end', () => up.end());
    up.on('end', () => client.end());
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    requests,
    get connections() {
      return connections;
    },
    close: () => new Promise((resolve) => server.close(resolve))
  };
}

async function instrumentedRun(snapshot, ctx) {
  const { engine } = await restore(snapshot, 'bench-proxy');
  try {
    const proxy = await startProxy(engine.socket, join(engine.dir, 'proxy.sock'));
    const t0 = performance.now();
    // Through the harness's own runAction, as the e2e tests run the action.
    const res = await runAction({
      inputs: INPUTS,
      env: { DOCKER_HOST: `unix://${join(engine.dir, 'proxy.sock')}` },
      node: ctx.node,
      tmpDir: engine.dir,
      timeoutMs: 600_000
    });
    const wallMs = performance.now() - t0;
    await proxy.close();
    if (res.code !== 0) warn(`instrumented run: the action exited with ${res.code}`);
    const kinds = new Map();
    for (const r of proxy.requests) {
      const k = kinds.get(r.kind) ?? { kind: r.kind, count: 0, latencies: [], statuses: new Map() };
      k.count++;
      if (r.end !== undefined) k.latencies.push(r.end - r.start);
      k.statuses.set(r.status ?? '?', (k.statuses.get(r.status ?? '?') ?? 0) + 1);
      kinds.set(r.kind, k);
    }
    const byKind = [...kinds.values()].map((k) => ({
      kind: k.kind,
      count: k.count,
      meanMs: sum(k.latencies) / (k.latencies.length || 1),
      p50Ms: quantile(k.latencies, 0.5),
      p95Ms: quantile(k.latencies, 0.95),
      totalMs: sum(k.latencies),
      statuses: Object.fromEntries(k.statuses)
    }));
    // The action's own view: each step's time in the JSON report.
    const report = res.report ?? {};
    const stepKind = new Map((report.plan?.steps ?? []).map((s) => [s.id, s.kind]));
    const steps = new Map();
    for (const r of report.outcome?.results ?? []) {
      const kind = stepKind.get(r.step) ?? '?';
      const s = steps.get(kind) ?? { kind, count: 0, ms: [], statuses: {} };
      s.count++;
      if (typeof r.ms === 'number') s.ms.push(r.ms);
      s.statuses[r.status] = (s.statuses[r.status] ?? 0) + 1;
      steps.set(kind, s);
    }
    const removed = await removedBy(engine, snapshot);
    await res.cleanup();
    return {
      wallMs,
      code: res.code,
      requests: proxy.requests.length,
      connections: proxy.connections,
      byKind,
      steps: [...steps.values()].map((s) => ({
        kind: s.kind,
        count: s.count,
        meanMs: sum(s.ms) / (s.ms.length || 1),
        p95Ms: quantile(s.ms, 0.95),
        statuses: s.statuses
      })),
      executeMs: report.outcome?.ms,
      left: removed.leftImages.length + removed.leftContainers.length
    };
  } finally {
    await engine.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Removal concurrency: the action's DELETE calls, made directly, at several concurrencies

/** One Engine API call over the unix socket, on a keep-alive agent. */
function apiCall(socketPath, agent, method, path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The removals the action makes for this state (every container, then every reference but each
 * image's last, then the last ones and the dangling IDs), sent straight to the engine `limit` at a
 * time with no planning, inspecting or logging: what the engine itself allows at that concurrency.
 */
async function removalSweep(snapshot, limits) {
  const rows = [];
  for (const limit of limits) {
    const { engine } = await restore(snapshot, `bench-sweep${limit}`);
    try {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: limit });
      const phases = [
        snapshot.expected.containers.map((id) => ['DELETE', `/containers/${id}`]),
        [...snapshot.refs.values()].flatMap((refs) =>
          refs.slice(0, -1).map((r) => ['DELETE', `/images/${r}`])
        ),
        [...snapshot.refs].map(([id, refs]) => ['DELETE', `/images/${refs.at(-1) ?? id}`])
      ];
      let failed = 0;
      const times = [];
      const t0 = performance.now();
      for (const calls of phases) {
        const p0 = performance.now();
        await pool(calls, limit, async ([method, path]) => {
          const status = await apiCall(engine.socket, agent, method, path);
          if (status >= 300) failed++;
        });
        times.push(performance.now() - p0);
      }
      const wallMs = performance.now() - t0;
      agent.destroy();
      const removed = await removedBy(engine, snapshot);
      const objects = removed.images.length + removed.containers.length;
      if (removed.leftImages.length || removed.leftContainers.length || failed) {
        warn(
          `sweep at ${limit}: ${failed} calls failed, ${removed.leftImages.length} images and ${removed.leftContainers.length} containers left`
        );
      }
      rows.push({
        limit,
        wallMs,
        containersMs: times[0],
        imagesMs: times[1] + times[2],
        calls: sum(phases.map((x) => x.length)),
        imageCalls: phases[1].length + phases[2].length,
        objects,
        failed
      });
      log(
        `sweep: ${limit} at a time: containers ${sec(times[0])}, images ${sec(times[1] + times[2])}, ${(objects / (wallMs / 1000)).toFixed(0)} removed/s`
      );
    } finally {
      await engine.stop();
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Cold start: a stand-in engine that records when the first request arrives

async function coldStart(ctx, reps = 7) {
  const dir = await mkdtemp(join('/tmp', 'dr-cold-'));
  const socketPath = join(dir, 'fake.sock');
  let firstRequest;
  const server = createHttpServer((req, res) => {
    firstRequest ??= performance.now();
    const path = req.url.replace(/^\/v\d+\.\d+/, '').replace(/\?.*$/, '');
    const json = (code, body) => {
      res.writeHead(code, { 'Content-Type': 'application/json', 'Api-Version': '1.41' });
      res.end(JSON.stringify(body));
    };
    if (path === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
    } else if (path === '/images/json' || path === '/containers/json') json(200, []);
    else if (path === '/version') json(200, { Version: '20.10.24', ApiVersion: '1.41' });
    else if (path === '/info') json(200, { DockerRootDir: '/var/lib/docker', Driver: 'overlay2' });
    else if (path === '/system/df')
      json(200, { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] });
    else json(404, { message: 'not found' });
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  const spawnTimed = async (args, env) => {
    const t0 = performance.now();
    const child = spawn(ctx.node, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstLine;
    child.stdout.once('data', () => (firstLine = performance.now() - t0));
    child.stderr.resume();
    const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
    return { t0, code, exitMs: performance.now() - t0, firstLine };
  };
  const node = [];
  const action = [];
  let startupProfile;
  try {
    for (let i = 0; i < reps; i++) {
      node.push(await spawnTimed(['-e', '0'], { PATH: process.env.PATH }));
      const adir = await mkdtemp(join(dir, 'run-'));
      const { env } = await actionEnv(
        adir,
        { dangling: 'true' },
        { DOCKER_HOST: `unix://${socketPath}` }
      );
      firstRequest = undefined;
      const r = await spawnTimed([ENTRY], env);
      if (r.code !== 0)
        warn(`cold start: the action exited with ${r.code} against the stand-in engine`);
      action.push({ ...r, firstRequestMs: firstRequest === undefined ? NaN : firstRequest - r.t0 });
    }
    // One more run under the V8 profiler (not timed above): what the start-up CPU time is made of.
    const pdir = await mkdtemp(join(dir, 'prof-'));
    const { env } = await actionEnv(
      await mkdtemp(join(dir, 'run-')),
      { dangling: 'true' },
      { DOCKER_HOST: `unix://${socketPath}` }
    );
    await spawnTimed(
      ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', pdir, ENTRY],
      env
    );
    startupProfile = await profileCategories(pdir);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
  // What loading each dependency costs on its own, from node_modules (not the bundle), fresh each time.
  const modules = [
    '@actions/core',
    'minimatch',
    'docker-modem',
    'ssh2',
    '@grpc/grpc-js',
    '@grpc/proto-loader',
    'dockerode'
  ];
  const imports = [];
  for (const m of modules) {
    const times = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(
        ctx.node,
        [
          '--input-type=module',
          '-e',
          'const t = performance.now(); await import(process.env.MOD); process.stdout.write(String(performance.now() - t));'
        ],
        { cwd: REPO_ROOT, env: { PATH: process.env.PATH, MOD: m }, allowFail: true }
      );
      if (r.code === 0) times.push(Number(r.stdout));
    }
    imports.push({ module: m, ms: median(times) });
  }
  const bundle = await stat(ENTRY);
  return {
    nodeBareMs: median(node.map((r) => r.exitMs)),
    firstLineMs: median(action.map((r) => r.firstLine)),
    firstRequestMs: median(action.map((r) => r.firstRequestMs)),
    exitMs: median(action.map((r) => r.exitMs)),
    firstRequestAll: action.map((r) => r.firstRequestMs),
    imports,
    startupProfile,
    bundleBytes: bundle.size,
    reps
  };
}

/**
 * The CPU samples of a --cpu-prof run of the bundle, in categories: V8 compiling the bundle's
 * source text (it is one ES module, parsed as a whole), running code of the bundle (module
 * evaluation and the action's own work), garbage collection, and Node's own code.
 */
async function profileCategories(dir) {
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return undefined;
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = { compile: 0, bundle: 0, gc: 0, node: 0, idle: 0 };
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const self = nodes.get(id).callFrame.functionName;
    let kind =
      self === '(garbage collector)' ? 'gc' : /^\((idle|program)\)$/.test(self) ? 'idle' : 'node';
    for (let n = id; n !== undefined && kind === 'node'; n = parent.get(n)) {
      const f = nodes.get(n).callFrame;
      if (/^compile(SourceTextModule|FunctionForCJSLoader)$/.test(f.functionName)) kind = 'compile';
      else if (f.url.endsWith('dist/index.js')) kind = 'bundle';
    }
    totals[kind] += ms;
  });
  return totals;
}

// ---------------------------------------------------------------------------------------------
// Machine

async function machine(ctx, docker) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const cli = await run('docker', ['version', '-f', '{{.Client.Version}}'], {
    env: { PATH: process.env.PATH, DOCKER_HOST: 'unix:///nonexistent' },
    allowFail: true
  });
  const git = async (args) =>
    (await run('git', args, { cwd: REPO_ROOT, allowFail: true })).stdout.trim();
  const node24 = (await run(ctx.node, ['--version'])).stdout.trim();
  const dist = createHash('sha256').update(readFileSync(ENTRY)).digest('hex').slice(0, 12);
  return {
    cpu: model,
    cores: os.cpus().length,
    memoryGb: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    dockerd: `${docker.server} (API ${docker.api}, storage driver ${docker.storage})`,
    dockerCli: cli.stdout.trim() || 'unknown',
    nodeBench: process.version,
    nodeAction: node24,
    timeTool: existsSync(TIME)
      ? 'GNU time -v (maximum resident set size)'
      : 'VmHWM sampled every 10 ms',
    date: new Date().toISOString(),
    commit: (await git(['rev-parse', '--short', 'HEAD'])) || 'unknown',
    dirty: (await git(['status', '--porcelain', '--', 'dist', 'src'])) !== '',
    distSha: dist
  };
}

// ---------------------------------------------------------------------------------------------
// Main

await ensurePrerequisites();
const ctx = { node: await ensureNode24() };
log(
  `${opts.images} images, ${opts.rounds} rounds; action runs on Node ${(await run(ctx.node, ['--version'])).stdout.trim()}`
);

log('cold start: the action against a stand-in engine that records its first request …');
const cold = await coldStart(ctx);
log(
  `cold start: node -e 0 ${ms(cold.nodeBareMs)}, first log line ${ms(cold.firstLineMs)}, first engine request ${ms(cold.firstRequestMs)}, exit ${ms(cold.exitMs)}`
);

log(`setup: building the state (${opts.images} images) on a private engine …`);
const snapshot = await buildSnapshot(opts.images);
const info = await machine(ctx, snapshot.docker);
log(
  `setup: ${snapshot.expected.images.length} images, ${snapshot.expected.references} references, ${snapshot.expected.containers.length} containers`
);

const rounds = [];
const restoreTimes = [];
let instrumented;
let sweep;
try {
  for (let r = 0; r < opts.rounds; r++) {
    // Rotate the order, so that no variant always runs first or last.
    const order = ['a', 'b', 'c'].map((_, i, a) => a[(i + r) % a.length]);
    const round = {};
    for (const v of order) {
      const { engine, ms: restoreMs } = await restore(snapshot, `bench-${v}`);
      restoreTimes.push(restoreMs);
      try {
        const res = await VARIANTS[v].run(engine, ctx);
        const removed = await removedBy(engine, snapshot);
        round[v] = { ...res, removed };
        const objects = removed.images.length + removed.containers.length;
        log(
          `round ${r + 1}/${opts.rounds} ${VARIANTS[v].label}: ${sec(res.wallMs)}, removed ${removed.images.length} images and ${removed.containers.length} containers (${(objects / (res.wallMs / 1000)).toFixed(0)}/s)` +
            (res.peakRssKb ? `, peak RSS ${(res.peakRssKb / 1024).toFixed(0)} MB` : '') +
            (res.failures ? `, ${res.failures} failed calls` : '')
        );
        if (removed.leftImages.length || removed.leftContainers.length) {
          warn(
            `${VARIANTS[v].label} left ${removed.leftImages.length} images and ${removed.leftContainers.length} containers (expected none: nothing is running)`
          );
        }
      } finally {
        await engine.stop();
      }
    }
    const a = new Set(round.a.removed.images);
    const b = round.b.removed.images;
    if (a.size !== b.length || b.some((id) => !a.has(id))) {
      warn(`round ${r + 1}: (a) removed ${a.size} images, (b) ${b.length}; the sets differ`);
    }
    const reported = new Set(round.a.reported.deleted);
    if (round.a.removed.images.some((id) => !reported.has(id))) {
      warn(`round ${r + 1}: (a) removed images that its deleted-images output does not list`);
    }
    if (round.a.reported.removedContainers.length !== round.a.removed.containers.length) {
      warn(
        `round ${r + 1}: (a) reports ${round.a.reported.removedContainers.length} removed containers, the engine lost ${round.a.removed.containers.length}`
      );
    }
    rounds.push(round);
  }

  log(
    `sweep: the same DELETE calls straight to the engine at ${opts.sweep.join(', ')} at a time …`
  );
  sweep = await removalSweep(snapshot, opts.sweep);

  log('instrumented run: the action through a recording proxy (not timed against the others) …');
  instrumented = await instrumentedRun(snapshot, ctx);
  log(
    `instrumented run: ${instrumented.requests} engine requests over ${instrumented.connections} connections in ${sec(instrumented.wallMs)}`
  );
} finally {
  await snapshot.engine.stop();
}

let planner;
let profile;
if (opts.planner) {
  log(`planner: ${opts.plannerSizes.join(', ')} synthetic images …`);
  planner = await benchPlanner({ sizes: opts.plannerSizes, log });
  const biggest = Math.max(...opts.plannerSizes);
  log(`planner: CPU profile of one plan() of ${biggest} images (policy scenario) …`);
  profile = await profilePlanner({ images: biggest, scenario: 'policy' }).catch((e) => {
    warn(`planner profile failed: ${e.message.split('\n')[0]}`);
    return undefined;
  });
}

// ---------------------------------------------------------------------------------------------
// Summary

const wall = (v) => rounds.map((r) => r[v].wallMs);
const objects = (v) =>
  rounds.map((r) => r[v].removed.images.length + r[v].removed.containers.length);
const summary = {
  a: median(wall('a')),
  b: median(wall('b')),
  c: median(wall('c')),
  ab: median(rounds.map((r) => r.a.wallMs / r.b.wallMs)),
  ac: median(rounds.map((r) => r.a.wallMs / r.c.wallMs)),
  ca: median(rounds.map((r) => r.c.wallMs / r.a.wallMs)),
  rssMb: median(rounds.map((r) => r.a.peakRssKb / 1024)),
  rate: Object.fromEntries(
    ['a', 'b', 'c'].map((v) => [
      v,
      median(rounds.map((r, i) => objects(v)[i] / (r[v].wallMs / 1000)))
    ])
  )
};
const phaseOrder = unique(rounds.flatMap((r) => r.a.phases.order));
const phaseMedian = Object.fromEntries(
  phaseOrder.map((p) => [p, median(rounds.map((r) => r.a.phases.phases[p] ?? 0))])
);

console.log('');
console.log(`(a) ${sec(summary.a)}  (b) ${sec(summary.b)}  (c) ${sec(summary.c)}`);
console.log(
  `a/b ${ratio(summary.ab)}  a/c ${ratio(summary.ac)} (the action is ${ratio(summary.ca)} faster than the loop)`
);
console.log(
  `action peak RSS ${summary.rssMb.toFixed(0)} MB; phases: ${phaseOrder.map((p) => `${p} ${ms(phaseMedian[p])}`).join(', ')}`
);
console.log(`cold start to first engine request: ${ms(cold.firstRequestMs)}`);
if (warnings.length) console.log(`${warnings.length} warnings (see above)`);

let doc = renderDoc();
// Formatted as `npm run lint` (prettier --check .) expects, when prettier is installed.
try {
  const prettier = await import('prettier');
  const config = (await prettier.resolveConfig(opts.out)) ?? {};
  doc = await prettier.format(doc, { ...config, filepath: opts.out });
} catch (e) {
  warn(`could not format ${opts.out} with prettier: ${e.message}`);
}
await mkdir(join(opts.out, '..'), { recursive: true });
await writeFile(opts.out, doc);
log(`wrote ${relative(process.cwd(), opts.out) || opts.out}`);

// ---------------------------------------------------------------------------------------------
// docs/benchmarks.md

function renderDoc() {
  const s = snapshot.shape;
  const out = [];
  const p = (...xs) => out.push(...xs);
  const planner50 = planner?.filter((r) => !r.error && r.images === Math.max(...opts.plannerSizes));
  const worstPlan = planner50?.length
    ? planner50.reduce((a, b) => (b.firstMs > a.firstMs ? b : a))
    : undefined;
  const worstPlanRss = planner50?.length ? Math.max(...planner50.map((r) => r.planPeakRssMb)) : NaN;
  const worstPlanTotalRss = planner50?.length
    ? Math.max(...planner50.map((r) => r.peakRssAfterFirstMb))
    : NaN;
  const verdict = (ok) => (ok ? '**met**' : '**not met**');
  const inv = instrumented;
  const find = (k) => inv.byKind.find((x) => x.kind.startsWith(k));
  const reads = inv.byKind.filter((x) => x.kind.startsWith('GET'));
  const perImage = reads.filter((x) => /^GET \/images\/\{id\}/.test(x.kind));
  const deletes = inv.byKind.filter((x) => x.kind.startsWith('DELETE'));
  const share = (x) => `${((100 * x) / summary.a).toFixed(0)}%`;
  const sweepMin = sweep.reduce((a, b) => (b.limit < a.limit ? b : a));
  const sweepMax = sweep.reduce((a, b) => (b.limit > a.limit ? b : a));

  p(
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (\`node scripts/bench.mjs --images ${opts.images} --rounds ${opts.rounds}\`) on ${info.date.slice(0, 10)}. Re-run it to refresh this page. The machine is a shared 2-core virtual machine, and other jobs ran on it at the same time (see the load average below), so single runs move by 10–30%: read medians, ratios and orders of magnitude, not the last digit.`,
    '',
    '## Machine',
    '',
    '| | |',
    '| - | - |',
    `| CPU | ${info.cpu}, ${info.cores} cores |`,
    `| Memory | ${info.memoryGb.toFixed(1)} GB |`,
    `| Kernel | ${info.kernel} |`,
    `| dockerd | ${info.dockerd}, a private engine started by scripts/lib/engine.mjs |`,
    `| docker CLI | ${info.dockerCli} |`,
    `| Node | ${info.nodeAction} runs the action (action.yml: node24); the benchmark itself runs on ${info.nodeBench} |`,
    `| Peak RSS from | ${info.timeTool} |`,
    `| Code | commit ${info.commit}${info.dirty ? ' with uncommitted changes under src/ or dist/' : ''}; dist/index.js sha256 ${info.distSha}… (${(cold.bundleBytes / 1024 / 1024).toFixed(1)} MB) |`,
    `| Load average (1, 5, 15 min) | ${loadStart.map((x) => x.toFixed(2)).join(', ')} at the start; ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')} at the end |`,
    `| Date | ${info.date} |`,
    '',
    '## The state',
    '',
    `${s.images} images loaded with one \`docker load\`: ${s.twoTags} with two tags (${s.acrossRepos} of them in two repositories, the rest twice in one), ${s.images - s.twoTags - s.dangling} with one tag, ${s.dangling} dangling; ${s.references} references in all. Every image sits on one of ${s.bases} shared base layers, and ${s.ownLayers} also have a layer of their own. ${s.containers} stopped containers (\`docker create\`, state \`created\`), one on every fifth image, dangling ones included. Nothing runs, so every variant should leave the engine empty.`,
    '',
    `Setup, never part of a compared time: \`docker load\` ${sec(snapshot.times.loadMs)}, ${s.containers} \`docker create\` (${CREATE_CONCURRENCY} at a time) ${sec(snapshot.times.createMs)}, stopping dockerd and copying its data-root ${sec(snapshot.times.snapshotMs)}. Each timed run then gets a fresh dockerd on its own copy of that data-root (median ${sec(median(restoreTimes))} to start, stop, copy, restart and check that the image and container IDs are exactly the snapshot's), so all variants remove the very same images.`,
    '',
    '## Emptying the engine',
    '',
    `- **(a)** the bundled action, \`dist/index.js\` on ${info.nodeAction}, with the environment the runner gives it (inputs \`images: '**'\`, \`containers: '*'\`, \`dangling: true\`, the rest action.yml's defaults). Its time runs from spawning the process to its exit.`,
    '- **(b)** `docker container prune -f && docker image prune -a -f`, two CLI calls.',
    '- **(c)** a naive loop: list containers, tags and dangling images (3 CLI calls), then one `docker rm` per container, one `docker rmi` per tag by name and one `docker rmi` per dangling image by ID, in sequence.',
    '',
    `Medians of ${opts.rounds} round${opts.rounds > 1 ? 's' : ''}; the order of the variants rotates from round to round. "Removed/s" counts the images and containers that are gone afterwards.`,
    '',
    '| Variant | Median wall time | Range | Removed/s | Median ratio a/x |',
    '| ------- | ---------------: | ----- | --------: | ---------------: |'
  );
  for (const v of ['a', 'b', 'c']) {
    const w = wall(v);
    const rr = v === 'a' ? '1.00×' : ratio(v === 'b' ? summary.ab : summary.ac);
    p(
      `| ${VARIANTS[v].label} | ${sec(summary[v])} | ${sec(Math.min(...w))} – ${sec(Math.max(...w))} | ${summary.rate[v].toFixed(0)} | ${rr} |`
    );
  }
  p(
    '',
    `The naive loop made ${rounds[0].c.calls} CLI calls (${rounds[0].c.failures} failed). The action's peak RSS: median ${summary.rssMb.toFixed(0)} MB (range ${(Math.min(...rounds.map((r) => r.a.peakRssKb)) / 1024).toFixed(0)}–${(Math.max(...rounds.map((r) => r.a.peakRssKb)) / 1024).toFixed(0)} MB).`,
    '',
    'Per round:',
    '',
    '| Round | (a) | (b) | (c) | a/b | a/c | (a) peak RSS |',
    '| ----: | --: | --: | --: | --: | --: | -----------: |'
  );
  rounds.forEach((r, i) =>
    p(
      `| ${i + 1} | ${sec(r.a.wallMs)} | ${sec(r.b.wallMs)} | ${sec(r.c.wallMs)} | ${ratio(r.a.wallMs / r.b.wallMs)} | ${ratio(r.a.wallMs / r.c.wallMs)} | ${(r.a.peakRssKb / 1024).toFixed(0)} MB |`
    )
  );
  p(
    '',
    '## Where the action spends its time',
    '',
    'From the timestamps of its log lines as they arrive: start-up runs from spawning the process to the first `::group::` line; each phase from its `::group::` to its `::endgroup::`; "exit" from the last `::endgroup::` to the end of the process. Medians over the rounds.',
    '',
    '| Phase | Median | Share of (a) |',
    '| ----- | -----: | -----------: |'
  );
  for (const ph of phaseOrder) p(`| ${ph} | ${ms(phaseMedian[ph])} | ${share(phaseMedian[ph])} |`);
  p(
    `| **total** | ${ms(summary.a)} | 100% |`,
    '',
    `An extra run (not in the table above) went through a proxy that records every request between the action and the engine: ${inv.requests} requests over ${inv.connections} connection${inv.connections === 1 ? '' : 's'}, ${sec(inv.wallMs)} in all (the proxy adds a little to each request). Latency is from the request line to the status line, as the proxy saw them, with several requests in flight at a time, so latencies overlap and their sum exceeds the wall time.`,
    '',
    '| Request | Count | Mean latency | p50 | p95 | Sum of latencies | Statuses |',
    '| ------- | ----: | -----------: | --: | --: | ---------------: | -------- |'
  );
  for (const k of [...inv.byKind].sort((a, b) => b.totalMs - a.totalMs)) {
    const st = Object.entries(k.statuses)
      .map(([c, n]) => `${c}×${n}`)
      .join(', ');
    p(
      `| ${k.kind} | ${k.count} | ${k.meanMs.toFixed(1)} ms | ${k.p50Ms.toFixed(1)} ms | ${k.p95Ms.toFixed(1)} ms | ${ms(k.totalMs)} | ${st} |`
    );
  }
  p(
    '',
    "The same run, as the steps in the action's JSON report saw them:",
    '',
    '| Step kind | Count | Mean | p95 | Results |',
    '| --------- | ----: | ---: | --: | ------- |'
  );
  for (const st of inv.steps) {
    const res = Object.entries(st.statuses)
      .map(([c, n]) => `${c}×${n}`)
      .join(', ');
    p(
      `| ${st.kind} | ${st.count} | ${st.meanMs.toFixed(1)} ms | ${st.p95Ms.toFixed(1)} ms | ${res} |`
    );
  }
  const pruneC = median(rounds.map((r) => r.b.containerPruneMs));
  const pruneI = median(rounds.map((r) => r.b.imagePruneMs));
  p(
    '',
    '### How much concurrency the engine gives',
    '',
    `The removal calls the action makes for this state (${sweep[0].calls}: every container, every reference but each image's last, then the last references and the dangling IDs, in three waves), sent straight to the engine over a keep-alive connection pool with nothing else around them, at several concurrencies, once each from the snapshot. For comparison, (b)'s \`docker container prune\` took ${sec(pruneC)} and its \`docker image prune -a\` ${sec(pruneI)} (medians, CLI start-up included), and the action's own removal phase ${sec(phaseMedian.execute)} at 8 at a time.`,
    '',
    '| In flight | Containers | Images | Total | Removed/s |',
    '| --------: | ---------: | -----: | ----: | --------: |'
  );
  for (const r of sweep) {
    p(
      `| ${r.limit} | ${sec(r.containersMs)} | ${sec(r.imagesMs)} | ${sec(r.wallMs)} | ${(r.objects / (r.wallMs / 1000)).toFixed(0)} |`
    );
  }
  p(
    '',
    '## Cold start',
    '',
    `\`dist/index.js\` against a stand-in engine (a unix socket HTTP server in the benchmark that answers \`/_ping\` and empty lists and notes when the first request arrives), ${cold.reps} runs, medians:`,
    '',
    '| | Median |',
    '| - | -----: |',
    `| \`node -e 0\` (${info.nodeAction} alone) | ${ms(cold.nodeBareMs)} |`,
    `| spawn → first log line (bundle loaded and evaluated) | ${ms(cold.firstLineMs)} |`,
    `| spawn → first engine request | ${ms(cold.firstRequestMs)} |`,
    `| spawn → exit (nothing to do) | ${ms(cold.exitMs)} |`,
    '',
    `All runs, spawn → first request: ${cold.firstRequestAll.map((x) => x.toFixed(0)).join(', ')} ms.`,
    ...(cold.startupProfile
      ? [
          '',
          `One more run under the V8 CPU profiler (\`--cpu-prof\`, so a little slower): of its ${ms(sum(Object.values(cold.startupProfile)))} of samples, V8 compiling the bundle's source text (one ${(cold.bundleBytes / 1024 / 1024).toFixed(1)} MB ES module) took ${ms(cold.startupProfile.compile)}, running the bundle's code (module evaluation, then the action with nothing to do) ${ms(cold.startupProfile.bundle)}, Node's own code ${ms(cold.startupProfile.node)}, garbage collection ${ms(cold.startupProfile.gc)}, and idle or unattributed time ${ms(cold.startupProfile.idle)}.`
        ]
      : []),
    '',
    'What each dependency costs to import on its own from node_modules (a fresh process each, median of 3; these overlap, e.g. dockerode includes docker-modem, ssh2 and gRPC, and the bundle loads them from one file, so they are indications, not a breakdown):',
    '',
    '| Module | Import time |',
    '| ------ | ----------: |'
  );
  for (const m of cold.imports) p(`| ${m.module} | ${ms(m.ms)} |`);
  if (planner) {
    p(
      '',
      '## The planner alone',
      '',
      '`plan()` from src/plan (transpiled as it is in the working tree) on synthetic inventories in the shape of `Inventory`: two tags per tagged image (half across repositories), a digest on every third, 5% untagged legacy parents, 2% dangling, a container on every fifth image (5% of them running). Scenarios: **select-all** is what the engine benchmark does (`images: **`, `containers: *`); **policy** adds `older-than: 7d`, `keep-latest: 3`, two excludes and `containers: job-*`; **one-repo keep-latest** is that policy with every tag in one repository (a runner that builds `app:pr-N` for every PR). Each row is a fresh Node 24 process: the first call is what the action does (cold JIT), "warm" the median of the next ones. Peak RSS is the process\'s maximum right after the first call; "over inventory alone" subtracts the peak of the same process that only builds the inventory.',
      '',
      plannerTable(planner)
    );
    if (profile) {
      p(
        '',
        `Where one cold \`plan()\` of ${profile.images} images (${profile.scenario}) spends its time, from the V8 sampling profiler started just around the call (${ms(profile.totalMs)} sampled):`,
        '',
        profileTable(profile)
      );
    }
  }
  p('', '## Against the targets', '');
  const inventoryMs = phaseMedian.inventory;
  const executeMs = phaseMedian.execute;
  p(
    `- **Action ≤ 1.0× \`docker prune\` at ${opts.images} images** (a/b): ${ratio(summary.ab)}: ${verdict(summary.ab <= 1)} (the action was at least as fast as prune in ${rounds.filter((r) => r.a.wallMs <= r.b.wallMs).length} of ${rounds.length} rounds). The action took ${sec(summary.a)} against ${sec(summary.b)}.`,
    `- **Action ≥ 10× faster than the naive loop** (c/a): ${ratio(summary.ca)}: ${verdict(summary.ca >= 10)}.`
  );
  if (planner50?.length) {
    p(
      `- **Planner, ${Math.max(...opts.plannerSizes)} images, < 1 s**: the slowest scenario's cold call took ${ms(worstPlan.firstMs)} (${worstPlan.scenario}): ${verdict(worstPlan.firstMs < 1000)}. Per scenario: ${planner50.map((r) => `${r.scenario} ${ms(r.firstMs)}`).join(', ')}.`,
      `- **Planner, < 300 MB**: at most ${worstPlanRss.toFixed(0)} MB of peak RSS over the inventory alone (the whole process peaked at ${worstPlanTotalRss.toFixed(0)} MB, inventory included): ${verdict(worstPlanRss < 300)}.`
    );
  }
  p(
    `- **Cold start to the first engine call < 0.3 s**: ${ms(cold.firstRequestMs)} (median; ${cold.firstRequestAll.filter((x) => x < 300).length} of ${cold.reps} runs under 0.3 s): ${verdict(cold.firstRequestMs < 300)}. Node alone takes ${ms(cold.nodeBareMs)} of it; loading and evaluating the bundle up to its first log line ${ms(cold.firstLineMs - cold.nodeBareMs)} more.`,
    '',
    '## Reading',
    '',
    `- Of the action's ${sec(summary.a)}, start-up took ${ms(phaseMedian.startup)} (${share(phaseMedian.startup)}), reading the inventory ${ms(inventoryMs)} (${share(inventoryMs)}), planning ${ms(phaseMedian.plan)}, removing ${ms(executeMs)} (${share(executeMs)}) and the report ${ms(phaseMedian.report)}.`,
    `- Besides the removals, the action made ${sum(reads.map((k) => k.count))} GET requests (the inventory, and whatever it reads before and after removing): ${reads.map((k) => `${k.count} ${k.kind}`).join(', ')}; per image, ${(sum(perImage.map((k) => k.count)) / s.images).toFixed(2)} requests (${perImage.map((k) => `${k.kind.replace(/ \(.*\)$/, '')} at ${k.meanMs.toFixed(1)} ms`).join(', ')}).`,
    `- Removal is ${sum(deletes.map((d) => d.count))} DELETE requests (${deletes.map((d) => `${d.count} ${d.kind}`).join(', ')}), about ${(sum(deletes.map((d) => d.count)) / (s.images + s.containers)).toFixed(2)} per object removed, at most 8 in flight; mean latencies ${deletes.map((d) => `${d.meanMs.toFixed(1)} ms`).join(' and ')}. \`docker image prune\` does the same deletions inside the daemon without a round trip each.`,
    `- ${find('DELETE /images')?.count ?? 0} \`DELETE /images\` requests served ${inv.steps.find((x) => x.kind === 'untag')?.count ?? 0} untag steps and ${inv.steps.find((x) => x.kind === 'delete-image')?.count ?? 0} delete-image steps: a delete-image step whose image the last untag already deleted makes no call.`,
    `- From ${sweepMin.limit} to ${sweepMax.limit} in flight, image removals went from ${sec(sweepMin.imagesMs)} (${(sweepMin.imagesMs / sweepMin.imageCalls).toFixed(1)} ms a call) to ${sec(sweepMax.imagesMs)} (a speed-up of ${ratio(sweepMin.imagesMs / sweepMax.imagesMs)}) and container removals from ${sec(sweepMin.containersMs)} to ${sec(sweepMax.containersMs)} (${ratio(sweepMin.containersMs / sweepMax.containersMs)}). On the classic image store every untag takes the reference store's single lock and rewrites the whole repositories.json (moby reference/store.go: \`Delete\` → \`save\`), so the engine serialises untags, and each costs more the more references there are; \`docker image prune\` goes through the same code.`,
    `- Sent straight to the engine, the same removals took ${sweep.map((r) => `${sec(r.wallMs)} at ${r.limit} in flight`).join(', ')}, against the action's ${sec(executeMs)} removal phase at 8.`,
    `- The naive loop pays a CLI process per object: ${(summary.c / rounds[0].c.calls).toFixed(0)} ms a call.`
  );
  p('', '## Checks', '');
  if (warnings.length === 0) {
    p(
      `Every variant left the engine with no images and no containers in every round, and (a) removed exactly the images (b) removed (${s.images}), all of them listed in its \`deleted-images\` output.`
    );
  } else {
    p('The run printed these warnings:', '');
    for (const w of warnings) p(`- ${w}`);
  }
  return `${out.join('\n')}\n`;
}
