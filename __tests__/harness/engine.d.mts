// Types for engine.mjs, so that TypeScript tests import the harness with types.

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  allowFail?: boolean;
  /** Written to the command's standard input. */
  input?: string | Buffer;
  cwd?: string;
  /** SIGKILLs the command and rejects once it has run this long (0, the default: no limit). */
  timeoutMs?: number;
}

/** Runs a command without a shell; rejects with its stderr on a non-zero exit unless allowFail. */
export function run(
  cmd: string,
  args: string[],
  options?: RunOptions & { env?: NodeJS.ProcessEnv }
): Promise<RunResult>;

/** 'docker': a private dockerd. 'podman': a private `podman system service` (Docker-compatible API). */
export type EngineKind = 'docker' | 'podman';

export interface Engine {
  /** Which daemon serves the API; the harness adapts to it (e.g. rlimits for Podman containers). */
  readonly kind: EngineKind;
  /** The engine's temporary directory; everything it writes is under it. */
  readonly dir: string;
  /** Path of the engine's unix socket (inside dir). */
  readonly socket: string;
  /** `unix://` + socket, for DOCKER_HOST or the action's docker-host input. */
  readonly host: string;
  /** dockerd's --data-root, or Podman's --root (its image and container storage). */
  readonly dataRoot: string;
  readonly logFile: string;
  /** With startEngine({ tls }): `tcp://127.0.0.1:PORT`, where the engine requires TLS client auth. */
  readonly tcpHost?: string;
  /** process.env with DOCKER_HOST and DOCKER_CONFIG set to this engine, DOCKER_BUILDKIT unset. */
  readonly env: NodeJS.ProcessEnv;
  /** PID of the current daemon (for Podman, of `podman system service`). */
  readonly pid: number | undefined;
  /**
   * Runs the docker CLI against this engine; `env` is merged over the engine's env. Unless `timeoutMs`
   * says otherwise, a call unanswered in 10 minutes is killed and rejected.
   */
  docker(args: string[], opts?: RunOptions & { env?: Record<string, string> }): Promise<RunResult>;
  /** SIGKILLs the daemon (dockerd's containerd dies with it; shims, conmon and containers live on). */
  kill(): void;
  /**
   * Stops (if running) and starts the daemon again on the same directories. With `kill`, SIGKILLs it
   * and every process it left (containerd, shims, containers) first, as for a hung daemon.
   */
  restart(options?: { kill?: boolean }): Promise<void>;
  /**
   * Kills containers, stops the daemon, then removes leftover processes, mounts and dir. Idempotent.
   * A daemon that does not answer within 15 s is SIGKILLed, and its containers with it.
   * An engine never stopped is removed by its watchdog once the process that started it ends.
   */
  stop(): Promise<void>;
}

/**
 * Checks for dockerd, the docker CLI, podman, openssl, docker-registry, a static /bin/busybox and tar;
 * installs them with apt as root.
 */
export function ensurePrerequisites(): Promise<void>;

/** PEM files (paths) for dockerd's `--tlsverify` listener. */
export interface EngineTls {
  /** CA that client certificates must be signed by. */
  ca: string;
  /** Server certificate; its SAN must include IP:127.0.0.1. */
  cert: string;
  key: string;
  /** Default: a free port. */
  port?: number;
}

export interface EngineOptions {
  /** Part of the temporary directory's name. */
  name?: string;
}

export interface PodmanOptions extends EngineOptions {
  /** Registries (`127.0.0.1:PORT`) that Podman may reach over plain HTTP. */
  insecureRegistries?: string[];
}

/** A private registry: Debian's docker-registry on 127.0.0.1. */
export interface Registry {
  /** `127.0.0.1:PORT`, the first part of the references pushed there. */
  readonly host: string;
  readonly dir: string;
  /** Stops the registry and removes its storage. Idempotent. */
  stop(): Promise<void>;
}

/** Starts Debian's docker-registry on a free 127.0.0.1 port with storage in a fresh temporary directory. */
export function startRegistry(options?: EngineOptions): Promise<Registry>;

export interface DockerdOptions extends EngineOptions {
  /** Put the data root on a tmpfs of this size (e.g. '64m'): a small disk of its own. Needs root. */
  dataSize?: string;
  /**
   * Mount that tmpfs only in dockerd's own mount namespace, as a docker:dind sidecar has its data
   * root: here the data root is an empty folder on another disk. Seen from here at
   * `/proc/${engine.pid}/root${engine.dataRoot}`.
   */
  hiddenDataRoot?: boolean;
  /** Also serve tcp://127.0.0.1:PORT with --tlsverify (engine.tcpHost). */
  tls?: EngineTls;
}

/**
 * Starts a private dockerd in a fresh temporary directory and waits until it answers /_ping on its
 * unix socket. With `tls` it also serves tcp://127.0.0.1:PORT (engine.tcpHost) with --tlsverify.
 */
export function startEngine(options?: DockerdOptions): Promise<Engine>;

/**
 * Starts a private `podman system service` in a fresh temporary directory (own storage, run root,
 * locks, events and configuration, in a private mount namespace so that nothing lands in the
 * machine's /run, /var/lib/containers or /dev/shm) and waits until it answers /_ping.
 */
export function startPodman(options?: PodmanOptions): Promise<Engine>;

/** startEngine or startPodman. */
export function startEngineOfKind(kind: EngineKind, options?: EngineOptions): Promise<Engine>;

/** Paths of the PEM files createCertificates made. */
export interface Certificates {
  dir: string;
  ca: string;
  caKey: string;
  /** For the server at `ip` (SAN IP:ip, serverAuth). */
  serverCert: string;
  serverKey: string;
  /** A DOCKER_CERT_PATH folder: ca.pem, and cert.pem and key.pem of a client (clientAuth). */
  clientDir: string;
}

/** Makes a CA, a server and a client certificate (P-256) with openssl in dir. */
export function createCertificates(
  dir: string,
  options?: { name?: string; ip?: string; days?: number }
): Promise<Certificates>;

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number>;

export interface BuildOptions {
  tag?: string;
  /** Size of the random file the image adds (default 1024). */
  bytes?: number;
  /** Base image (default 'scratch'). */
  from?: string;
  /** Classic builder (default true): records the Parent; false needs buildx, which this machine lacks. */
  legacy?: boolean;
  extraTags?: string[];
  /** Add `VOLUME <path>`: every container of the image gets an anonymous volume there. */
  volume?: string;
}

/**
 * Builds an image adding a file of random bytes; returns its ID (`sha256:…`). Podman names it
 * docker.io/<tag> (docker.io/library/<tag> for a single-segment name).
 */
export function buildImage(engine: Engine, options?: BuildOptions): Promise<string>;

/**
 * Builds with BuildKit (Debian's 20.10 CLI at /usr/bin/docker, DOCKER_BUILDKIT=1), one RUN per
 * size in `writes`, each leaving a build cache record of that size. Returns the image ID.
 */
export function buildKitBuild(
  engine: Engine,
  options: { tag: string; from?: string; writes?: number[] }
): Promise<string>;

export function tag(engine: Engine, src: string, dst: string): Promise<void>;

/** A single-layer image with the host's static busybox at /bin/busybox; returns its ID. */
export function busyboxImage(engine: Engine, ref?: string): Promise<string>;

export type ContainerState = 'created' | 'exited' | 'running' | 'paused';

export interface ContainerOptions {
  image: string;
  name?: string;
  /** Default: `/bin/busybox true` for 'exited', else `/bin/busybox sleep 3600`. */
  cmd?: string[];
  /** Default: 'running', or 'exited' when running is false. */
  state?: ContainerState;
  running?: boolean;
  labels?: Record<string, string>;
  /** More arguments for `docker create`, such as `-v name:/path`. */
  args?: string[];
}

/**
 * Creates a container (network none) and brings it into the state; returns its full ID. On Podman it
 * adds `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024`, without which runc cannot start it here.
 */
export function runContainer(engine: Engine, options: ContainerOptions): Promise<string>;

export interface ImageSpec {
  /** References to tag; [] loads a dangling image. */
  tags: string[];
  /** The image config's `created`, which becomes the image's Created. */
  created: Date | string;
  /** Size of each random layer (default 1024). */
  bytes?: number;
  /** Images with the same key (on one engine) share an identical first layer. */
  sharedBase?: string;
  /**
   * Add a layer of the image's own (default true). Each distinct layer costs the engine ~0.1 s to
   * load, so for hundreds of images use a sharedBase with ownLayer false (~10 ms an image); IDs
   * stay distinct anyway.
   */
  ownLayer?: boolean;
  labels?: Record<string, string>;
}

/**
 * Loads the images from one hand-written `docker save` archive; returns their IDs in spec order.
 * Podman names loaded images localhost/<tag>.
 */
export function loadImages(engine: Engine | Engine[], specs: ImageSpec[]): Promise<string[]>;

export interface InventoryImage {
  id: string;
  /** Sorted, spelled as the engine lists them (Podman: docker.io/… or localhost/…). */
  tags: string[];
  digests: string[];
  /** `sha256:…` (Podman's bare hex gets the prefix), '' when none. */
  parent: string;
}

export interface InventoryContainer {
  id: string;
  name: string;
  /** Image ID (`sha256:…`). */
  image: string;
  state: string;
}

export interface Inventory {
  /** Sorted by id. */
  images: InventoryImage[];
  /** Sorted by name. */
  containers: InventoryContainer[];
}

export function inventory(engine: Engine): Promise<Inventory>;

/**
 * Test-only: removes every container and image, with force. A CLI call unanswered in `timeoutMs`
 * (default 30 s) has the engine killed, cleared of its processes and restarted, once, with a warning.
 */
export function resetEngine(engine: Engine, options?: { timeoutMs?: number }): Promise<void>;
