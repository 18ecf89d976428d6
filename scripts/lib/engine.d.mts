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
}

/** Runs a command without a shell; rejects with its stderr on a non-zero exit unless allowFail. */
export function run(
  cmd: string,
  args: string[],
  options?: RunOptions & { env?: NodeJS.ProcessEnv }
): Promise<RunResult>;

export interface Engine {
  /** The engine's temporary directory; everything it writes is under it. */
  readonly dir: string;
  /** Path of the engine's unix socket (inside dir). */
  readonly socket: string;
  /** `unix://` + socket, for DOCKER_HOST or the action's docker-host input. */
  readonly host: string;
  readonly dataRoot: string;
  readonly logFile: string;
  /** process.env with DOCKER_HOST and DOCKER_CONFIG set to this engine, DOCKER_BUILDKIT unset. */
  readonly env: NodeJS.ProcessEnv;
  /** PID of the current dockerd. */
  readonly pid: number | undefined;
  /** Runs the docker CLI against this engine; `env` is merged over the engine's env. */
  docker(args: string[], opts?: RunOptions & { env?: Record<string, string> }): Promise<RunResult>;
  /** SIGKILLs dockerd (its containerd dies with it; shims and containers live on). */
  kill(): void;
  /** Stops (if running) and starts dockerd again on the same directories. */
  restart(): Promise<void>;
  /**
   * Kills containers, stops dockerd, then removes leftover processes, mounts and dir. Idempotent.
   * An engine never stopped is removed by its watchdog once the process that started it ends.
   */
  stop(): Promise<void>;
}

/** Checks for dockerd, the docker CLI, a static /bin/busybox and tar; installs them with apt as root. */
export function ensurePrerequisites(): Promise<void>;

/** Starts a private dockerd in a fresh temporary directory and waits until it answers /_ping. */
export function startEngine(options?: { name?: string }): Promise<Engine>;

export interface BuildOptions {
  tag?: string;
  /** Size of the random file the image adds (default 1024). */
  bytes?: number;
  /** Base image (default 'scratch'). */
  from?: string;
  /** Classic builder (default true): records the Parent; false needs buildx, which this machine lacks. */
  legacy?: boolean;
  extraTags?: string[];
}

/** Builds an image adding a file of random bytes; returns its ID (`sha256:…`). */
export function buildImage(engine: Engine, options?: BuildOptions): Promise<string>;

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
}

/** Creates a container (network none) and brings it into the state; returns its full ID. */
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

/** Loads the images from one hand-written `docker save` archive; returns their IDs in spec order. */
export function loadImages(engine: Engine, specs: ImageSpec[]): Promise<string[]>;

export interface InventoryImage {
  id: string;
  /** Sorted. */
  tags: string[];
  digests: string[];
  /** '' when none. */
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
