// A private, throw-away Docker engine for tests, the demo and the benchmark.
// Every docker call goes to the engine's own socket: the machine's engine is never touched.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  readFileSync,
  readdirSync,
  openSync,
  closeSync,
  writeFileSync,
  rmdirSync,
  rmSync
} from 'node:fs';
import { mkdtemp, mkdir, writeFile, rm, open } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const APT_PACKAGES = ['docker.io', 'docker-registry', 'busybox-static', 'tar', 'podman', 'openssl'];
const BUSYBOX = '/bin/busybox';
// Debian's 20.10 CLI builds with BuildKit on its own; the newer CLI in /usr/local/bin needs buildx.
const BUILDKIT_CLI = '/usr/bin/docker';
const DOCKER = process.env.DOCKER_CLI ?? 'docker';
const PING_TIMEOUT_MS = 30_000;
// Far above any one CLI call here, far below jest's limits: a hung daemon fails the call that met it
// rather than waiting out the whole run.
const CLI_TIMEOUT_MS = 600_000;
const STOP_CLI_TIMEOUT_MS = 15_000;

/**
 * Runs a command without a shell; rejects with its stderr unless allowFail.
 * @returns {Promise<{stdout: string, stderr: string, code: number}>}
 */
export function run(
  cmd,
  args,
  { env = process.env, input, allowFail = false, cwd, timeoutMs = 0 } = {}
) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env,
      cwd,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
    });
    const out = [];
    const err = [];
    // A hung daemon leaves its client waiting for ever, and a waiting child keeps jest alive.
    let timedOut = false;
    const timer =
      timeoutMs > 0 &&
      setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const res = {
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        code: code ?? 128
      };
      if (timedOut) {
        const message = `${cmd} ${args.join(' ')}: no answer in ${timeoutMs / 1000}s`;
        reject(Object.assign(new Error(message), { timedOut: true }));
      } else if (res.code !== 0 && !allowFail) {
        const why = signal ? `killed by ${signal}` : `exit ${res.code}`;
        reject(new Error(`${cmd} ${args.join(' ')}: ${why}\n${res.stderr.trim()}`));
      } else resolve(res);
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

// dockerd lives in sbin, which a non-login PATH may lack.
function which(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

// A dynamically linked busybox would not run in a FROM-scratch image: look for an ELF PT_INTERP.
function isStaticElf(file) {
  try {
    const b = readFileSync(file);
    if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // 64-bit ELF only
    const phoff = Number(b.readBigUInt64LE(0x20));
    const size = b.readUInt16LE(0x36);
    for (let i = 0; i < b.readUInt16LE(0x38); i++)
      if (b.readUInt32LE(phoff + i * size) === 3) return false;
    return true;
  } catch {
    return false;
  }
}

function missingPrerequisites() {
  const missing = [];
  // BuildKit builds need Debian's own CLI: a docker CLI elsewhere on PATH may have no BuildKit.
  if (!which('dockerd') || !which(DOCKER) || !existsSync(BUILDKIT_CLI)) {
    missing.push(`docker.io (dockerd and the docker CLI at ${BUILDKIT_CLI})`);
  }
  if (!isStaticElf(BUSYBOX)) missing.push(`busybox-static (a static ${BUSYBOX})`);
  if (!which('tar')) missing.push('tar');
  if (!which('podman')) missing.push('podman');
  if (!which('openssl')) missing.push('openssl');
  if (!which('docker-registry')) missing.push('docker-registry');
  return missing;
}

/**
 * Makes sure dockerd, the docker CLI, podman, openssl, Debian's docker-registry, a static busybox and
 * tar exist, installing them with apt as root.
 */
export async function ensurePrerequisites() {
  let missing = missingPrerequisites();
  if (missing.length === 0) return;
  const canApt = process.getuid?.() === 0 && which('apt-get');
  if (!canApt) {
    throw new Error(
      `docker-reclaim's tests need private engines; missing: ${missing.join(', ')}.\n` +
        `Install them with: sudo apt-get install -y ${APT_PACKAGES.join(' ')}`
    );
  }
  console.error(
    `docker-reclaim's tests need private engines; installing ${APT_PACKAGES.join(' ')} with apt-get (missing: ${missing.join(', ')})`
  );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...APT_PACKAGES], { env });
  missing = missingPrerequisites();
  if (missing.length) throw new Error(`still missing after apt-get install: ${missing.join(', ')}`);
}

let ip6tablesFlag;
function supportsIp6tables(dockerd) {
  ip6tablesFlag ??= execFileSync(dockerd, ['--help'], { encoding: 'utf8' }).includes('--ip6tables');
  return ip6tablesFlag;
}

/** A GET (on a socket, or a host and port) and its answer: the status and the body. */
export function httpGet(options) {
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () =>
      req.destroy(new Error(`GET ${options.path} had no answer in ${options.timeout} ms`))
    );
    req.on('error', reject);
    req.end();
  });
}

/** Whether a GET answers 200, false for any failure: for waiting until a server is up. */
const answers200 = (options) =>
  httpGet({ ...options, timeout: 1000 }).then(
    ({ status }) => status === 200,
    () => false
  );

const ping = (socketPath) => answers200({ socketPath, path: '/_ping' });

function logTail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function procs() {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p));
}

/** A file under /proc/<pid>, or '' once the process is gone. */
export function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

// A zombie has exited already: it needs no signal and can spawn nothing.
const isLive = (pid) => !/^$|\) Z /.test(readProc(pid, 'stat'));

function killPid(pid) {
  try {
    process.kill(Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
}

// Where each cgroup hierarchy is mounted, keyed as /proc/PID/cgroup names it ('' for cgroup2).
function cgroupMounts() {
  const roots = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    const [fstype, , opts = ''] = (right ?? '').split(' ');
    if (fstype === 'cgroup2') roots.push({ ctls: [''], dir: left.split(' ')[4] });
    if (fstype === 'cgroup') roots.push({ ctls: opts.split(','), dir: left.split(' ')[4] });
  }
  return (ctl) => roots.find((r) => ctl.split(',').every((c) => r.ctls.includes(c)))?.dir;
}

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// After a crash (or a daemon that ignored SIGTERM) shims (conmon for podman) and container processes
// outlive the daemon.
// Container processes are found by a cgroup naming a container of this engine, thawed in case they
// were paused (a frozen process never handles SIGKILL) and killed; their emptied cgroups are removed.
// Then anything that names the engine's directory on its command line (containerd, shims, podman and
// its cleanup processes) is killed. Returns how many live processes it signalled.
function sweepProcesses(dir) {
  let signalled = 0;
  const ids = [];
  // dockerd keeps its containers in data/containers, podman in root/<driver>-containers.
  for (const sub of ['data/containers', 'root/vfs-containers', 'root/overlay-containers']) {
    try {
      ids.push(...readdirSync(join(dir, sub)).filter((id) => /^[0-9a-f]{64}$/.test(id)));
    } catch {
      // no containers dir
    }
  }
  const cgroupDirs = new Set();
  const mountOf = cgroupMounts();
  for (const pid of ids.length ? procs() : []) {
    const lines = readProc(pid, 'cgroup').split('\n');
    if (!lines.some((l) => ids.some((id) => l.includes(id)))) continue;
    for (const line of lines) {
      const [, ctl = '', path = ''] = line.split(':');
      const root = mountOf(ctl);
      if (!root || !ids.some((id) => path.includes(id))) continue;
      cgroupDirs.add(join(root, path));
      const freezer =
        ctl === 'freezer' ? ['freezer.state', 'THAWED'] : ctl === '' ? ['cgroup.freeze', '0'] : [];
      try {
        // r+ so that a missing file is never created.
        if (freezer.length) writeFileSync(join(root, path, freezer[0]), freezer[1], { flag: 'r+' });
      } catch {
        // no freezer there
      }
    }
    if (isLive(pid)) signalled++;
    killPid(pid);
  }
  for (const pid of procs()) {
    if (pid === String(process.pid) || !readProc(pid, 'cmdline').includes(`${dir}/`)) continue;
    if (isLive(pid)) signalled++;
    killPid(pid);
  }
  for (const cg of cgroupDirs) {
    for (let i = 0; i < 20; i++) {
      try {
        rmdirSync(cg);
        break;
      } catch (e) {
        if (e.code !== 'EBUSY') break;
        pause(50); // the killed processes are still exiting
      }
    }
  }
  return signalled;
}

// Unmount deepest first: overlay merged dirs, netns files, and the bind mount dockerd puts on data-root.
function unmountUnder(dir) {
  const decode = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of new Set(points)) {
    try {
      execFileSync('umount', ['-l', p], { stdio: 'ignore' });
    } catch {
      // already unmounted through a parent
    }
  }
}

// dockerd reuses the containerd named in its pidfile if that PID is alive. After a kill, containerd
// dies with it, but where PID 1 does not reap orphans (as in some sandboxes) it stays a zombie, which
// looks alive, and the restarted dockerd waits for it in vain.
function dropStaleContainerdPid(execRoot) {
  const file = join(execRoot, 'containerd', 'containerd.pid');
  if (!existsSync(file)) return;
  const stat = readProc(readFileSync(file, 'utf8').trim(), 'stat');
  if (!stat || /\) Z /.test(stat)) rmSync(file, { force: true });
}

// A process may spawn another as it goes (conmon runs `podman container cleanup` when its container
// dies): sweep until a sweep finds none alive.
function sweepUntilQuiet(dir) {
  for (let i = 0; i < 100 && sweepProcesses(dir) > 0; i++) pause(100);
}

// Removes everything an engine left: processes, mounts, then the directory itself.
function cleanupDir(dir) {
  sweepUntilQuiet(dir); // else a late process would write into dir after rm
  unmountUnder(dir);
  execFileSync('rm', ['-rf', '--one-file-system', dir], { stdio: 'ignore' });
}

// A test run can die (or jest exit without afterAll) before stop(); an exit hook cannot help, as
// jest gives test code a copy of `process` whose events never fire. So each engine gets a detached
// watchdog that cleans it up once the process that started it is gone.
function startWatchdog(dir) {
  const self = fileURLToPath(import.meta.url);
  const args = [self, '--watchdog', String(process.pid), dir];
  const dog = spawn(process.execPath, args, { detached: true, stdio: 'ignore' });
  dog.unref();
  return dog;
}

// Unix socket paths are limited to ~108 bytes, so keep the directory short.
async function engineDir(prefix, name) {
  const base = tmpdir().length > 60 ? '/tmp' : tmpdir();
  return mkdtemp(join(base, `${prefix}-${name.replace(/[^\w-]/g, '').slice(0, 12)}-`));
}

/** A TCP port that nothing listens on right now, on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The one lifecycle both engines share: a daemon process that serves the Docker API on a unix socket
// in `dir`, a docker CLI environment that reaches only that socket, and a stop() that leaves nothing.
async function superviseDaemon({
  kind,
  label,
  dir,
  socket,
  dataRoot,
  logFile,
  command,
  args,
  daemonEnv = process.env,
  beforeLaunch = () => {},
  extra = {}
}) {
  await mkdir(join(dir, 'config'));
  await writeFile(join(dir, 'config', 'config.json'), '{}\n');
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(dir, 'config')
  };
  for (const k of ['DOCKER_BUILDKIT', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'])
    delete env[k];

  let child;
  let exited;
  async function launch() {
    beforeLaunch();
    const fd = openSync(logFile, 'a');
    // Not detached: a Ctrl-C on the test run reaches the daemon too and it shuts down cleanly.
    child = spawn(command, args, { env: daemonEnv, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref(); // never keep jest alive
    const me = child;
    exited = new Promise((resolve) => me.once('exit', (code, signal) => resolve(signal ?? code)));
    let early;
    exited.then((why) => (early = why));
    const deadline = Date.now() + PING_TIMEOUT_MS;
    while (!(await ping(socket))) {
      if (early !== undefined || Date.now() > deadline) {
        me.kill('SIGKILL');
        const what =
          early !== undefined
            ? `exited (${early})`
            : `did not answer /_ping in ${PING_TIMEOUT_MS / 1000}s`;
        throw new Error(`private ${label} ${what}; ${logFile}:\n${logTail(logFile)}`);
      }
      await sleep(100);
    }
  }

  async function terminate() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.ref(); // a script awaiting stop() must not end before the daemon does
    child.kill('SIGTERM');
    const timedOut = await Promise.race([
      exited.then(() => false),
      sleep(20_000, true, { ref: false })
    ]);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  let stopping;
  const watchdog = startWatchdog(dir);
  const engine = {
    kind,
    dir,
    socket,
    host: `unix://${socket}`,
    dataRoot,
    logFile,
    env,
    ...extra,
    get pid() {
      return child.pid;
    },
    docker: (dockerArgs, opts = {}) =>
      run(DOCKER, dockerArgs, { timeoutMs: CLI_TIMEOUT_MS, ...opts, env: { ...env, ...opts.env } }),
    kill() {
      child.kill('SIGKILL');
    },
    async restart({ kill = false } = {}) {
      if (kill) {
        child.kill('SIGKILL');
        await exited;
        // A hung daemon's containerd and shims are as stuck as it was: start from none of them.
        sweepUntilQuiet(dir);
      } else await terminate();
      await launch();
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // Containers run `sleep` as PID 1, which ignores SIGTERM: kill them first or shutdown waits 10s each.
          const opts = { allowFail: true, timeoutMs: STOP_CLI_TIMEOUT_MS };
          try {
            const ps = await engine.docker(['ps', '-q', '--no-trunc'], opts);
            const ids = ps.stdout.split('\n').filter(Boolean);
            if (ids.length) await engine.docker(['kill', ...ids], opts);
          } catch {
            engine.kill(); // it does not answer; cleanupDir kills the containers instead
          }
        }
        await terminate();
        cleanupDir(dir);
        // Only now: had stop() itself hung, the watchdog would still clean up after this process.
        watchdog.kill('SIGKILL');
      })();
      return stopping;
    }
  };
  try {
    await launch();
  } catch (e) {
    await engine.stop().catch(() => {});
    throw e;
  }
  return engine;
}

/**
 * Starts a private dockerd in a fresh temporary directory. With `tls`, it also listens on
 * tcp://127.0.0.1:PORT and requires a client certificate signed by `tls.ca` there (`--tlsverify`);
 * the unix socket stays plain. With `dataSize` (e.g. '64m') the data root is a tmpfs of that size;
 * with `hiddenDataRoot` too, that tmpfs is mounted only in dockerd's own mount namespace.
 * @param {{ name?: string, dataSize?: string, hiddenDataRoot?: boolean, tls?: { ca: string, cert: string, key: string, port?: number } }} [options]
 */
export async function startEngine({ name = 'engine', dataSize, tls, hiddenDataRoot = false } = {}) {
  const dockerd = which('dockerd');
  if (!dockerd) throw new Error('dockerd not found: call ensurePrerequisites() first');
  if (hiddenDataRoot && !dataSize) throw new Error('hiddenDataRoot needs a dataSize');
  const dir = await engineDir('dr', name);
  const socket = join(dir, 'docker.sock');
  const dataRoot = join(dir, 'data');
  if (dataSize) {
    // A small filesystem of its own, so that free-space targets are measurable and reachable.
    // Hidden: mounted in dockerd's own mount namespace, as a docker:dind sidecar has it, so that
    // here the path is an empty folder on another disk.
    await mkdir(dataRoot);
    if (!hiddenDataRoot) {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${dataSize}`, 'tmpfs', dataRoot]);
    }
  }
  const args = [
    '-H', `unix://${socket}`,
    '--data-root', dataRoot,
    '--exec-root', join(dir, 'exec'), // holds its managed containerd, netns and runc state: per engine
    '--pidfile', join(dir, 'docker.pid'),
    '--bridge', 'none',
    '--iptables=false',
    ...(supportsIp6tables(dockerd) ? ['--ip6tables=false'] : [])
  ]; // prettier-ignore
  const extra = {};
  if (tls) {
    const port = tls.port ?? (await freePort());
    args.push(
      '--tlsverify',
      '--tlscacert', tls.ca,
      '--tlscert', tls.cert,
      '--tlskey', tls.key,
      '-H', `tcp://127.0.0.1:${port}`
    ); // prettier-ignore
    extra.tcpHost = `tcp://127.0.0.1:${port}`;
  }
  const unshare = which('unshare');
  if (hiddenDataRoot && !unshare) throw new Error('unshare (util-linux) not found');
  return superviseDaemon({
    kind: 'docker',
    label: 'dockerd',
    dir,
    socket,
    dataRoot,
    logFile: join(dir, 'dockerd.log'),
    command: hiddenDataRoot ? unshare : dockerd,
    args: hiddenDataRoot
      ? [
          '--mount', '--propagation', 'private',
          'sh', '-c', 'mount -t tmpfs -o "size=$1" tmpfs "$2" && shift 2 && exec "$@"',
          'sh', dataSize, dataRoot, dockerd, ...args
        ] // prettier-ignore
      : args,
    beforeLaunch: () => dropStaleContainerdPid(join(dir, 'exec')),
    extra
  });
}

/**
 * Podman's rootful defaults put some state at fixed machine-wide paths that no flag moves:
 * netavark's /run/containers/networks, runc's state in /run/runc, the blob info cache in
 * /var/lib/containers/cache (written by every build) and, with shm locks, /dev/shm/libpod_lock.
 * So podman runs in a private mount namespace where those three trees are bind mounts of empty
 * directories under the engine's own dir (which also hides /var/run/docker.sock and the machine's
 * podman storage from it). The mounts exist only in that namespace and vanish with its last process.
 */
const PODMAN_PRIVATE_TREES = [
  ['run', '/run'],
  ['var-lib', '/var/lib'],
  ['shm', '/dev/shm']
];
const PODMAN_NAMESPACE_SCRIPT =
  'set -e; d=$1; shift; ' +
  PODMAN_PRIVATE_TREES.map(([sub, target]) => `mount --bind "$d/ns/${sub}" ${target}; `).join('') +
  'exec "$@"';

/**
 * Starts a private `podman system service` (Podman's Docker-compatible API) in a fresh temporary
 * directory: its own storage (vfs), run root, tmp dir, file locks and file events, cgroupfs, runc,
 * private containers.conf and storage.conf, and a private mount namespace (see above). Containers run
 * under it need `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024` here; runContainer adds them.
 * @param {{ name?: string }} [options]
 */
export async function startPodman({ name = 'podman', insecureRegistries = [] } = {}) {
  const podman = which('podman');
  const unshare = which('unshare');
  if (!podman) throw new Error('podman not found: call ensurePrerequisites() first');
  if (!unshare) throw new Error('unshare (util-linux) not found');
  const runtime = which('runc') ?? which('crun');
  if (!runtime) throw new Error('neither runc nor crun found: podman cannot run containers');
  const dir = await engineDir('drp', name);
  const socket = join(dir, 'podman.sock');
  const root = join(dir, 'root');
  const runRoot = join(dir, 'run');
  const tmp = join(dir, 'tmp');
  for (const d of [root, runRoot, tmp, join(dir, 'net'), join(dir, 'xdg'), join(dir, 'xdg-config')])
    await mkdir(d, { recursive: true, mode: 0o700 });
  for (const [sub] of PODMAN_PRIVATE_TREES) await mkdir(join(dir, 'ns', sub), { recursive: true });
  const q = JSON.stringify; // TOML basic strings accept JSON string syntax for plain paths
  await writeFile(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      'log_driver = "k8s-file"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${q(join(dir, 'events.log'))}`,
      'lock_type = "file"',
      `runtime = ${q(runtime.endsWith('crun') ? 'crun' : 'runc')}`,
      `tmp_dir = ${q(tmp)}`,
      `image_copy_tmp_dir = ${q(tmp)}`,
      `static_dir = ${q(join(root, 'libpod'))}`,
      `volume_path = ${q(join(root, 'volumes'))}`,
      '[network]',
      `network_config_dir = ${q(join(dir, 'net'))}`,
      ''
    ].join('\n')
  );
  await writeFile(
    join(dir, 'storage.conf'),
    ['[storage]', 'driver = "vfs"', `graphroot = ${q(root)}`, `runroot = ${q(runRoot)}`, ''].join(
      '\n'
    )
  );
  // Plain-HTTP registries on loopback (the tests' private registry), and no search registries.
  await writeFile(
    join(dir, 'registries.conf'),
    [
      'unqualified-search-registries = []',
      ...insecureRegistries.flatMap((r) => [
        '[[registry]]',
        `location = ${q(r)}`,
        'insecure = true'
      ]),
      ''
    ].join('\n')
  );
  const daemonEnv = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    XDG_RUNTIME_DIR: join(dir, 'xdg'),
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
    TMPDIR: tmp
  };
  for (const k of Object.keys(daemonEnv)) if (k.startsWith('DOCKER_')) delete daemonEnv[k];
  const args = [
    '--mount', '--propagation', 'private',
    'sh', '-c', PODMAN_NAMESPACE_SCRIPT, 'sh', dir,
    podman,
    '--root', root,
    '--runroot', runRoot,
    '--tmpdir', tmp,
    '--storage-driver', 'vfs',
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
    'system', 'service', '--time=0', `unix://${socket}`
  ]; // prettier-ignore
  return superviseDaemon({
    kind: 'podman',
    label: 'podman system service',
    dir,
    socket,
    dataRoot: root,
    logFile: join(dir, 'podman.log'),
    command: unshare,
    args,
    daemonEnv
  });
}

/**
 * Starts Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port, storing in a fresh
 * temporary directory. dockerd pushes and pulls to loopback registries over plain HTTP by default;
 * Podman needs it listed in `insecureRegistries`.
 * @param {{ name?: string }} [options]
 */
export async function startRegistry({ name = 'registry' } = {}) {
  const bin = which('docker-registry');
  if (!bin) throw new Error('docker-registry not found: call ensurePrerequisites() first');
  const dir = await engineDir('drr', name);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      ''
    ].join('\n')
  );
  const logFile = join(dir, 'registry.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, ['serve', config], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const watchdog = startWatchdog(dir);
  const up = () => answers200({ host: '127.0.0.1', port, path: '/v2/' });
  const deadline = Date.now() + PING_TIMEOUT_MS;
  while (!(await up())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      watchdog.kill('SIGKILL');
      cleanupDir(dir);
      throw new Error(`private registry did not answer on ${host}:\n${logTail(logFile)}`);
    }
    await sleep(100);
  }
  let stopping;
  return {
    host,
    dir,
    stop() {
      stopping ??= (async () => {
        watchdog.kill('SIGKILL');
        child.kill('SIGTERM');
        cleanupDir(dir);
      })();
      return stopping;
    }
  };
}

/** Starts a private engine of the given kind: 'docker' (dockerd) or 'podman'. */
export function startEngineOfKind(kind, options = {}) {
  if (kind === 'docker') return startEngine(options);
  if (kind === 'podman') return startPodman(options);
  throw new Error(`unknown engine kind ${JSON.stringify(kind)}: use 'docker' or 'podman'`);
}

/**
 * Makes TLS material with openssl in `dir` (created if missing): a CA, a certificate for a server at
 * `ip` (SAN IP:ip, serverAuth) and one for a client (clientAuth), all signed by the CA with P-256 keys.
 * The client's files are laid out as DOCKER_CERT_PATH expects: client/{ca.pem,cert.pem,key.pem}.
 * @param {string} dir
 * @param {{ name?: string, ip?: string, days?: number }} [options]
 */
export async function createCertificates(
  dir,
  { name = 'docker-reclaim test', ip = '127.0.0.1', days = 2 } = {}
) {
  const openssl = which('openssl');
  if (!openssl) throw new Error('openssl not found: call ensurePrerequisites() first');
  const clientDir = join(dir, 'client');
  await mkdir(clientDir, { recursive: true });
  const f = (file) => join(dir, file);
  const ssl = (args) => run(openssl, args, { cwd: dir });
  const key = (file) => ssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]); // prettier-ignore
  await key(f('ca-key.pem'));
  await ssl([
    'req', '-x509', '-new', '-key', f('ca-key.pem'), '-sha256', '-days', String(days),
    '-subj', `/CN=${name} CA`, '-out', f('ca.pem')
  ]); // prettier-ignore
  const sign = async (keyFile, certFile, subject, extensions) => {
    await key(keyFile);
    await ssl(['req', '-new', '-key', keyFile, '-subj', subject, '-out', `${certFile}.csr`]);
    await writeFile(`${certFile}.ext`, extensions);
    await ssl([
      'x509', '-req', '-in', `${certFile}.csr`, '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'),
      '-CAcreateserial', '-sha256', '-days', String(days), '-extfile', `${certFile}.ext`,
      '-out', certFile
    ]); // prettier-ignore
    await rm(`${certFile}.csr`);
    await rm(`${certFile}.ext`);
  };
  await sign(
    f('server-key.pem'),
    f('server-cert.pem'),
    `/CN=${ip}`,
    `subjectAltName = IP:${ip}\nextendedKeyUsage = serverAuth\n`
  );
  await sign(
    join(clientDir, 'key.pem'),
    join(clientDir, 'cert.pem'),
    `/CN=${name} client`,
    'extendedKeyUsage = clientAuth\n'
  );
  await writeFile(join(clientDir, 'ca.pem'), readFileSync(f('ca.pem')));
  return {
    dir,
    ca: f('ca.pem'),
    caKey: f('ca-key.pem'),
    serverCert: f('server-cert.pem'),
    serverKey: f('server-key.pem'),
    clientDir
  };
}

// Podman leaves the algorithm off image IDs in some places (the iidfile, Parent).
const fullImageId = (id) => (/^[0-9a-f]{64}$/.test(id) ? `sha256:${id}` : id);

async function tempDir(engine, prefix) {
  return mkdtemp(join(engine.dir, prefix));
}

/**
 * Builds FROM scratch (or a local image) an image that adds a file of random bytes, so that every
 * build yields a distinct layer. The classic builder records the parent image; BuildKit does not.
 * @returns {Promise<string>} the image ID (sha256:…)
 */
export async function buildImage(
  engine,
  { tag, bytes = 1024, from = 'scratch', legacy = true, extraTags = [], volume } = {}
) {
  const ctx = await tempDir(engine, 'ctx-');
  try {
    await writeFile(join(ctx, 'blob'), randomBytes(bytes));
    await writeFile(
      join(ctx, 'Dockerfile'),
      `FROM ${from}\nCOPY blob /blob-${randomBytes(4).toString('hex')}\n` +
        (volume ? `VOLUME ${volume}\n` : '')
    );
    const tags = [tag, ...extraTags].filter(Boolean).flatMap((t) => ['-t', t]);
    const iid = join(ctx, 'iid');
    await engine.docker(['build', '-q', '--iidfile', iid, ...tags, ctx], {
      env: { DOCKER_BUILDKIT: legacy ? '0' : '1' }
    });
    return fullImageId(readFileSync(iid, 'utf8').trim());
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/**
 * Builds with BuildKit through Debian's 20.10 CLI (/usr/bin/docker, which needs no buildx), FROM
 * `from` (which needs /bin/busybox), one RUN per size in `writes` writing that many random bytes:
 * each leaves a build cache record of that size. With `--network=none`, as the engines have no
 * bridge.
 * @returns {Promise<string>} the image ID
 */
export async function buildKitBuild(engine, { tag, from = 'bb:latest', writes = [4096] }) {
  const cli = BUILDKIT_CLI;
  if (!existsSync(cli)) throw new Error(`${cli} not found: Debian's docker.io package has it`);
  const ctx = await tempDir(engine, 'bk-');
  try {
    const runs = writes.map(
      (n, i) =>
        `RUN ["/bin/busybox","dd","if=/dev/urandom","of=/w${i}-${randomBytes(4).toString('hex')}","bs=${n}","count=1"]`
    );
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${from}`, ...runs, ''].join('\n'));
    const iid = join(ctx, 'iid');
    await run(cli, ['build', '-q', '--network=none', '--iidfile', iid, '-t', tag, ctx], {
      env: { ...engine.env, DOCKER_BUILDKIT: '1' }
    });
    return fullImageId(readFileSync(iid, 'utf8').trim());
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

export async function tag(engine, src, dst) {
  const startMs = Date.now();
  await engine.docker(['tag', src, dst]);
  // Podman writes its image events from another goroutine, after the tag has returned: a run that
  // starts at once can read the feed before the event is in it. dockerd logs it before answering.
  if (engine.kind === 'podman') await untilEvent(engine, 'tag', startMs);
}

/**
 * Waits until the engine's event feed holds an `action` event made at `sinceMs` or later: what the
 * engine has so far (`stream=false`, which Podman honours), asked again every 50 ms for 10 s.
 */
async function untilEvent(engine, action, sinceMs) {
  // As src/engine/events.ts's eventTime reads it, which the harness, plain JavaScript, cannot import.
  const atMs = (e) => (e.timeNano > 0 ? Math.floor(e.timeNano / 1e6) : (e.time ?? 0) * 1000);
  const sinceSec = Math.floor(sinceMs / 1000);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const until = Math.floor(Date.now() / 1000) + 1;
    const { body } = await httpGet({
      socketPath: engine.socket,
      path: `/events?since=${sinceSec}&until=${until}&stream=false`,
      timeout: 5000
    });
    const events = body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line));
    if (events.some((e) => e.Action === action && atMs(e) >= sinceMs)) return;
    if (Date.now() > deadline) {
      throw new Error(`${engine.kind}: no ${action} event in the feed 10 s after the ${action}`);
    }
    await sleep(50);
  }
}

async function imageId(engine, ref) {
  const r = await engine.docker(['image', 'inspect', '--format', '{{.Id}}', ref], {
    allowFail: true
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * An image holding only the host's static busybox, made once per engine and reference (again if it
 * was removed). `docker import` yields a single image, where a Dockerfile with COPY and CMD would
 * leave an untagged intermediate parent behind, which tests of dangling images would trip over.
 */
export async function busyboxImage(engine, ref = 'bb:latest') {
  const existing = await imageId(engine, ref);
  if (existing) return existing;
  const bin = readFileSync(BUSYBOX);
  const tar = Buffer.concat([
    ...tarEntry('bin/', Buffer.alloc(0), 0o755, '5'),
    ...tarEntry('bin/busybox', bin, 0o755),
    tarEnd()
  ]);
  const cmd = 'CMD ["/bin/busybox","sleep","3600"]';
  await engine.docker(['import', '--change', cmd, '-', ref], { input: tar });
  // Read the ID back: Podman prints `sha256:ID: sha256:ID` here, not the ID alone.
  const id = await imageId(engine, ref);
  if (!id) throw new Error(`docker import ${ref} left no image ${ref}`);
  return id;
}

/**
 * Creates a container in the given state. 'running', 'paused' and 'exited' execute the command, so the
 * image needs /bin/busybox (busyboxImage, or buildImage({ from: 'bb:latest' })).
 * @returns {Promise<string>} the full container ID
 */
export async function runContainer(
  engine,
  { image, name, cmd, state, running = true, labels = {}, args = [] }
) {
  state ??= running ? 'running' : 'exited';
  const command =
    cmd ?? (state === 'exited' ? ['/bin/busybox', 'true'] : ['/bin/busybox', 'sleep', '3600']);
  const opts = ['--network', 'none', ...(name ? ['--name', name] : []), ...args];
  // Podman's default rlimits exceed what runc may set on these machines ("error setting rlimit").
  if (engine.kind === 'podman')
    opts.push('--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024');
  for (const [k, v] of Object.entries(labels)) opts.push('--label', `${k}=${v}`);
  const id = (await engine.docker(['create', ...opts, image, ...command])).stdout.trim();
  if (state === 'exited') await engine.docker(['start', '-a', id], { allowFail: true });
  if (state === 'running' || state === 'paused') await engine.docker(['start', id]);
  if (state === 'paused') await engine.docker(['pause', id]);
  return id;
}

// Minimal ustar: names stay under 100 bytes, so no long-name extensions are needed.
function tarEntry(name, data, mode = 0o644, type = '0') {
  const h = Buffer.alloc(512);
  const octal = (v, off, len) =>
    h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
  h.write(name, 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(data.length, 124, 12);
  octal(0, 136, 12);
  h.write('        ', 148, 8, 'ascii');
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return [h, data, pad];
}

const tarEnd = () => Buffer.alloc(1024);
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const layerTar = (bytes) =>
  Buffer.concat([
    ...tarEntry(`blob-${randomBytes(6).toString('hex')}`, randomBytes(bytes)),
    tarEnd()
  ]);

const sharedBases = new WeakMap();

/**
 * Writes one `docker save` archive by hand and loads it: images with a chosen creation date and
 * no LastTagTime (load never sets it), tagged or dangling (RepoTags null), optionally sharing a
 * first layer with every image of the same `sharedBase` key on this engine.
 * @returns {Promise<string[]>} image IDs (sha256 of each config JSON), in spec order
 */
export async function loadImages(target, specs) {
  // An array of engines loads the same archive into each: twins with identical layers.
  const engines = Array.isArray(target) ? target : [target];
  const engine = engines[0];
  if (!sharedBases.has(engine)) sharedBases.set(engine, new Map());
  const bases = sharedBases.get(engine);
  const dir = await tempDir(engine, 'load-');
  const file = join(dir, 'images.tar');
  const fh = await open(file, 'w');
  const written = new Set();
  const put = async (name, data) => {
    if (written.has(name)) return;
    written.add(name);
    await fh.writev(tarEntry(name, data));
  };
  try {
    const manifest = [];
    const ids = [];
    for (const spec of specs) {
      const layers = [];
      if (spec.sharedBase !== undefined) {
        if (!bases.has(spec.sharedBase)) bases.set(spec.sharedBase, layerTar(spec.bytes ?? 1024));
        layers.push(bases.get(spec.sharedBase));
      }
      if (spec.ownLayer ?? true) layers.push(layerTar(spec.bytes ?? 1024));
      const diffIds = layers.map(sha256);
      for (const [j, layer] of layers.entries()) await put(`${diffIds[j]}.tar`, layer);
      const created = new Date(spec.created).toISOString();
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          created,
          // The nonce keeps IDs distinct even for images with the same layers and date.
          config: {
            Labels: { ...spec.labels, 'docker-reclaim.nonce': randomBytes(8).toString('hex') }
          },
          rootfs: { type: 'layers', diff_ids: diffIds.map((d) => `sha256:${d}`) },
          history: layers.map(() => ({ created, created_by: 'docker-reclaim loadImages' }))
        })
      );
      const id = sha256(config);
      await put(`${id}.json`, config);
      ids.push(`sha256:${id}`);
      manifest.push({
        Config: `${id}.json`,
        RepoTags: spec.tags.length ? spec.tags : null,
        Layers: diffIds.map((d) => `${d}.tar`)
      });
    }
    await put('manifest.json', Buffer.from(JSON.stringify(manifest)));
    await fh.write(tarEnd());
    await fh.close();
    for (const e of engines) await e.docker(['load', '-q', '-i', file]);
    return ids;
  } finally {
    await fh.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

async function inspectAll(engine, kind, ids) {
  const out = [];
  // Stay far below ARG_MAX with thousands of objects.
  for (let i = 0; i < ids.length; i += 500) {
    const r = await engine.docker([kind, 'inspect', ...ids.slice(i, i + 500)]);
    out.push(...JSON.parse(r.stdout));
  }
  return out;
}

const byKey = (k) => (a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0);

/**
 * Test-only: empties the engine, containers first. The harness may force; the action never does.
 * Images are retried a few times because a parent cannot go before its children.
 * An engine that stops answering meanwhile is killed, cleared of its processes and started again,
 * once: that is an engine fault, not the test's, and it is reported on stderr.
 */
export async function resetEngine(engine, { timeoutMs = 30_000 } = {}) {
  try {
    await emptyEngine(engine, timeoutMs);
  } catch (e) {
    if (!e.timedOut) throw e;
    console.warn(
      `${engine.host} hung while being emptied (${e.message}); restarting it. ${engine.logFile}:\n${logTail(engine.logFile)}`
    );
    await engine.restart({ kill: true });
    await emptyEngine(engine, timeoutMs);
  }
}

async function emptyEngine(engine, timeoutMs) {
  const opts = { timeoutMs };
  const list = async (args) => (await engine.docker(args, opts)).stdout.split('\n').filter(Boolean);
  // Once, dockerd 20.10 hung for good force-removing containers that were paused or running a second
  // before (all four left "removal in progress"), its log last showing paused containers' kills.
  // Thawing them first keeps rm -f off that path; the timeout is what bounds a hang.
  const paused = await list(['ps', '-q', '--filter', 'status=paused']);
  if (paused.length) await engine.docker(['unpause', ...paused], { ...opts, allowFail: true });
  const containers = await list(['ps', '-aq']);
  if (containers.length) await engine.docker(['rm', '-f', ...containers], opts);
  for (let i = 0; i < 5; i++) {
    const images = [...new Set(await list(['image', 'ls', '-aq', '--no-trunc']))];
    if (images.length === 0) return;
    await engine.docker(['rmi', '-f', ...images], { ...opts, allowFail: true });
  }
  throw new Error(`${engine.host} still has images after resetEngine`);
}

/** A deterministic snapshot of the engine's images and containers, for assertions. */
export async function inventory(engine) {
  const list = async (args) => [
    ...new Set((await engine.docker(args)).stdout.split('\n').filter(Boolean))
  ];
  const images = await inspectAll(
    engine,
    'image',
    await list(['image', 'ls', '-aq', '--no-trunc'])
  );
  const containers = await inspectAll(engine, 'container', await list(['ps', '-aq', '--no-trunc']));
  return {
    images: images
      .map((i) => ({
        id: i.Id,
        tags: [...(i.RepoTags ?? [])].sort(),
        digests: [...(i.RepoDigests ?? [])].sort(),
        parent: i.Parent ? fullImageId(i.Parent) : ''
      }))
      .sort(byKey('id')),
    containers: containers
      .map((c) => ({
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        image: fullImageId(c.Image),
        state: c.State.Status
      }))
      .sort(byKey('name'))
  };
}

// `node engine.mjs --watchdog PID DIR`: waits for PID to end, then removes the engine in DIR.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--watchdog') {
  const [parent, dir] = process.argv.slice(3);
  // A zombie counts as gone: where PID 1 does not reap, a dead parent stays one.
  while (isLive(parent)) await sleep(250);
  cleanupDir(dir);
}
