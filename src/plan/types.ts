// Data that flows from the engine reader through the planner to the executor and the report.
// Everything here is plain JSON-able data: a plan can be printed, diffed and stored as is.

/** A full image ID as the engine reports it, `sha256:<64 hex>`. */
export type ImageId = string & { readonly __brand: 'ImageId' };
/** A full container ID (64 hex). */
export type ContainerId = string & { readonly __brand: 'ContainerId' };
/** An image reference written as `docker images` shows it: `repo:tag` or `repo@sha256:…`. */
export type Reference = string & { readonly __brand: 'Reference' };

export type AgeBasis = 'created' | 'tagged' | 'last-used';

/** Engine events that bring an image here or give it a name here. */
export type ArrivalAction = 'pull' | 'load' | 'tag' | 'import' | 'commit' | 'build';

/** What decided an image's age. */
export type AgeRecord =
  /** The build date in the image config. */
  | { kind: 'created' }
  /** The engine's own tag time (`Metadata.LastTagTime`). */
  | { kind: 'tag-time' }
  /** An engine event, read by this run or kept in the ledger by an earlier one. */
  | { kind: 'event'; action: ArrivalAction; earlierRun: boolean }
  /** No record of its arrival: when docker-reclaim first saw it (an earlier run, or this one). */
  | { kind: 'first-seen'; earlierRun: boolean }
  /** A container that uses it was created, started or stopped later than it arrived. */
  | { kind: 'container'; container: string }
  /** A post step saw a container use it (a `docker run --rm` leaves no container behind). */
  | { kind: 'recorded-use' };

/** Records of an image's arrival that the engine's inspect answer lacks. */
export interface ArrivalRecords {
  /** The latest arrival event seen for the image. */
  event?: { time: number; action: ArrivalAction; earlierRun: boolean };
  /** When docker-reclaim first saw the image on this engine, by its ledger. */
  firstSeen?: number;
  /** The latest use by a container that a post step saw in the engine's events, by the ledger. */
  lastUsed?: number;
}

/** Container states the engine reports; see moby's container state machine. */
export type ContainerState =
  | 'created'
  | 'running'
  | 'paused'
  | 'restarting'
  | 'removing'
  | 'exited'
  | 'dead'
  /** Podman, while a stop is under way. */
  | 'stopping';

export interface InventoryImage {
  id: ImageId;
  /** Tag references (`repo:tag`), as the engine lists them. */
  tags: Reference[];
  /** Digest references (`repo@sha256:…`). */
  digests: Reference[];
  /** Legacy-builder parent, if any. */
  parent?: ImageId;
  /** Build time from the image config, ms since epoch. */
  created: number;
  /** When this engine last tagged the image, ms since epoch; absent for pulled or loaded images. */
  lastTagTime?: number;
  /** Events and ledger records of its arrival, where there are any. */
  arrival?: ArrivalRecords;
  /** Size as `docker images` reports it, bytes. */
  size: number;
  /** Layer ChainIDs, bottom first (classic store); absent when the engine gives no RootFS. */
  layers?: string[];
}

export interface InventoryContainer {
  id: ContainerId;
  /** Names without the leading slash. */
  names: string[];
  image: ImageId;
  state: ContainerState;
  /** ms since epoch */
  created: number;
  startedAt?: number;
  finishedAt?: number;
  labels: Record<string, string>;
  networks: string[];
  /** Bytes in the writable layer (`SizeRw`), where the engine reported it. */
  sizeRw?: number;
  /** Names of the volumes it mounts. */
  volumes?: string[];
}

export interface InventoryVolume {
  name: string;
  labels: Record<string, string>;
  /** ms since epoch */
  created: number;
  /** Bytes of data in it, where the engine measured them. */
  size?: number;
}

/** A BuildKit build cache record, as `GET /system/df` lists it. */
export interface BuildCacheRecord {
  id: string;
  /** Records it was built on (API 1.41 lists one `Parent`, later ones `Parents`). */
  parents: string[];
  type: string;
  description: string;
  inUse: boolean;
  /** Its content is also an image layer: pruning it frees nothing while that image stays. */
  shared: boolean;
  size: number;
  /** ms since epoch */
  created: number;
  /** ms since epoch; absent while a build still holds it. */
  lastUsed?: number;
}

/** The filesystem that holds the engine's data, when the engine runs on this machine. */
export interface Disk {
  path: string;
  freeBytes: number;
  totalBytes: number;
}

/** What the engine holds at one moment, as the planner needs it. */
export interface Inventory {
  images: InventoryImage[];
  containers: InventoryContainer[];
  /** DiffSize of each layer by ChainID, where known. */
  layerSizes?: Record<string, number>;
  disk?: Disk;
  volumes?: InventoryVolume[];
  /** Absent when the engine has no BuildKit build cache (Podman). */
  buildCache?: BuildCacheRecord[];
}

export interface Policy {
  images: string[];
  exclude: string[];
  olderThanMs: number;
  ageBasis: AgeBasis;
  keepLatest: number;
  dangling: boolean;
  containers: string[];
  containersOlderThanMs: number;
  /** Stop removing, least recently used first, once the disk would have this many bytes free. */
  untilFreeBytes?: number;
  /** Patterns of volume names that may go once no remaining container uses them. */
  volumes?: string[];
  /** Anonymous volumes that no remaining container uses go too. */
  anonymousVolumes?: boolean;
  /** Unused build cache records last used at least this long ago go; absent leaves the cache alone. */
  buildCacheOlderThanMs?: number;
  /**
   * Job cleanup: only what the job added may go, whatever its age, and the patterns above only
   * narrow it (`images`) or protect (`exclude`).
   */
  job?: JobScope;
}

/** What a job added to the engine since the main step's snapshot. */
export interface JobScope {
  images: ImageId[];
  /** References the job added: every reference of a new image, and new ones on older images. */
  references: Reference[];
  containers: ContainerId[];
  volumes: string[];
  buildCache: string[];
}

/** Why something that was selected, or that blocks a selection, stays. A closed set of cases. */
export type Reason =
  | { kind: 'excluded'; pattern: string }
  | { kind: 'runner-owned' }
  /** A container that `containers` selects, but that is not stopped. */
  | { kind: 'container-running'; state: ContainerState }
  | { kind: 'in-use-by-running-container'; container: string; state: ContainerState }
  | {
      kind: 'too-young';
      ageMs: number;
      minMs: number;
      /** `stopped`: a container's stop time; `cache`: a build cache record's last use. */
      basis: AgeBasis | 'stopped' | 'cache';
      /** What the image's age was read from (absent for containers). */
      record?: AgeRecord;
    }
  | { kind: 'kept-by-keep-latest'; rank: number; keep: number }
  | { kind: 'still-tagged'; references: Reference[] }
  | { kind: 'held-by-kept-container'; container: string; because: Reason }
  | { kind: 'used-by-unselected-container'; container: string }
  | { kind: 'parent-of-kept-image'; child: ImageId }
  /** Not attempted: a step it waits on failed, or found things changed (`changed`). */
  | { kind: 'blocked-by-failed-step'; step: string; changed?: boolean }
  /** Not attempted: the engine stopped answering during the run. */
  | { kind: 'engine-lost' }
  | { kind: 'removal-failed'; status?: number; message: string }
  /** The step's precondition no longer held: the tag moved, the container started, … */
  | { kind: 'changed-since-plan'; message: string }
  /** docker-reclaim itself failed on this step: a bug to report, not the engine's doing. */
  | { kind: 'internal-error'; message: string }
  /** until-free: the disk reaches its target without this. */
  | { kind: 'free-space-target-met'; targetBytes: number }
  /** A volume that a container this run leaves uses. */
  | { kind: 'volume-in-use'; container: string; state: ContainerState }
  /** A build cache record that a build holds now. */
  | { kind: 'cache-in-use' }
  /** A build cache record whose content an image still has. */
  | { kind: 'cache-shared' }
  /** A build cache record that a record which stays was built on. */
  | { kind: 'cache-parent-of-kept'; child: string }
  /** BuildKit did not remove it when asked: a build took it, or something it holds stays. */
  | { kind: 'cache-not-pruned' }
  /** Job cleanup: it was on the engine before the job. */
  | { kind: 'existed-before-job' };

export interface Skip {
  /** What stays: a reference, an image ID or a container name. */
  target: string;
  reason: Reason;
}

/** A step's ID, made only by `stepId` in steps.ts: one per container, reference and image. */
export type StepId = string & { readonly __brand: 'StepId' };

/** What must still hold right before a step's call; if it no longer does, the step is skipped. */
export type Precondition =
  /**
   * The container still exists and is still stopped (created, exited or dead). The engine itself
   * refuses to remove one that is not, at the moment of the call: the executor asks only then, to
   * say why.
   */
  | { kind: 'stopped' }
  /** The reference still names the planned image. */
  | { kind: 'names-image'; image: ImageId }
  /** The image has no reference left: a delete by ID would remove one added since the plan. */
  | { kind: 'unreferenced' }
  /** No container uses the volume. */
  | { kind: 'unused' }
  /** Nothing to check: BuildKit itself skips a record in use. */
  | { kind: 'none' };

export type Step =
  | {
      id: StepId;
      kind: 'remove-container';
      container: ContainerId;
      name: string;
      image: ImageId;
      requires: { kind: 'stopped' };
      dependsOn: readonly StepId[];
    }
  | {
      id: StepId;
      kind: 'untag';
      reference: Reference;
      image: ImageId;
      /** Digest references of its repository that the engine removes with it, the last tag there. */
      digests: readonly Reference[];
      requires: { kind: 'names-image'; image: ImageId };
      dependsOn: readonly StepId[];
      /** On the untag that deletes the image: see the delete-image step's. */
      locks?: readonly ImageId[];
    }
  | {
      id: StepId;
      kind: 'delete-image';
      image: ImageId;
      requires: { kind: 'unreferenced' };
      dependsOn: readonly StepId[];
      /**
       * Untagged ancestors that the engine may prune with this call and that another step's call
       * may reach at the same time: steps that share one never run at once (steps.ts, pruneLocks).
       */
      locks?: readonly ImageId[];
    }
  | {
      id: StepId;
      kind: 'remove-volume';
      volume: string;
      requires: { kind: 'unused' };
      dependsOn: readonly StepId[];
    }
  | {
      id: StepId;
      kind: 'prune-build-cache';
      /** Record IDs, children before their parents; BuildKit skips any that is in use. */
      records: string[];
      requires: { kind: 'none' };
      dependsOn: readonly StepId[];
    };

/** An image the plan deletes, with what the report shows about it. */
export interface PlannedImage {
  id: ImageId;
  references: Reference[];
  size: number;
  /** ms since epoch of the age basis actually used */
  basisTime: number;
  basis: AgeBasis;
  /** What the age was read from. */
  ageRecord: AgeRecord;
  /** Deleted because it is an untagged parent that the engine prunes with its last child. */
  prunedParent: boolean;
  /** Bytes of layers that only this image holds, freed with it. */
  freedBytes: number;
}

/** Predicted space: layers that no remaining image or container holds, plus removed containers. */
export interface SpaceEstimate {
  bytes: number;
  /** False when a freed layer's or volume's size was unknown (counted as 0). */
  exact: boolean;
  containerBytes: number;
  volumeBytes: number;
  buildCacheBytes: number;
  /** Freed layers that several deleted images share (counted in no single image's freedBytes). */
  sharedBytes: number;
  layers: { id: string; size: number | null; images: ImageId[] }[];
}

export interface FreeSpaceTarget {
  targetBytes: number;
  freeBytes: number;
  /** Some layers' sizes were unknown and were counted at most, so the disk may end short. */
  upperBound?: boolean;
}

/** A volume the plan removes, once every container that uses it is gone. */
export interface PlannedVolume {
  name: string;
  anonymous: boolean;
  /** Bytes, where the engine measured them. */
  size?: number;
  created: number;
  /** The containers this run removes that use it. */
  containers: ContainerId[];
}

/** A build cache record the plan prunes. */
export interface PlannedCacheRecord {
  id: string;
  type: string;
  description: string;
  size: number;
  lastUsed: number;
}

/** What a run leaves that docker-reclaim could reclaim, and the input that would. */
export interface Leftovers {
  /** Absent when the engine has no BuildKit build cache. */
  buildCache?: {
    records: number;
    /** Bytes of the records that no image shares. */
    bytes: number;
    /** What `build-cache: <olderThanMs>` would take, when build-cache is not set. */
    suggestion?: { olderThanMs: number; records: number; bytes: number };
  };
  /** Volumes that no remaining container uses, and that stay. */
  anonymousVolumes: { count: number; bytes: number };
  namedVolumes: { count: number; bytes: number };
}

export interface Plan {
  now: number;
  steps: Step[];
  /** Images that are gone once every step has succeeded. */
  deleteImages: PlannedImage[];
  removeContainers: { id: ContainerId; name: string; image: ImageId; sizeRw: number }[];
  removeVolumes: PlannedVolume[];
  pruneBuildCache: PlannedCacheRecord[];
  skipped: Skip[];
  space: SpaceEstimate;
  target?: FreeSpaceTarget;
  leftovers: Leftovers;
}

/** What became of a step: a union on `status`, each case with what it needs. */
export type StepResult =
  /**
   * The engine did it. `deleted`: the IDs it listed as Deleted (images and, on the classic store,
   * layers; build cache records). `reclaimed`: the bytes a build cache prune reported.
   */
  | {
      step: StepId;
      status: 'done';
      ms: number;
      deleted: string[];
      /** The references the engine said it untagged, as it wrote them. */
      untagged?: string[];
      reclaimed?: number;
      message?: string;
    }
  /** Somebody else did it first, or an earlier step did it as a side effect (404). */
  | { step: StepId; status: 'gone'; ms: number; httpStatus?: number; message?: string }
  /** Its precondition no longer held right before the call, so it was not made. */
  | { step: StepId; status: 'changed'; ms: number; message: string }
  /** The engine refused or errored; `internal` when docker-reclaim itself failed on it. */
  | {
      step: StepId;
      status: 'failed';
      ms: number;
      httpStatus?: number;
      message: string;
      internal?: boolean;
    }
  /** Not attempted: a step it depends on did not happen. */
  | { step: StepId; status: 'blocked'; blockedBy: StepId }
  /** Not attempted: the engine stopped answering during the run. */
  | { step: StepId; status: 'not-attempted' }
  /** Dry run. */
  | { step: StepId; status: 'planned' };

export type StepStatus = StepResult['status'];

/** What happened, derived from the plan and the step results, in the shape the report needs. */
export interface Outcome {
  dryRun: boolean;
  deletedImages: PlannedImage[];
  untagged: Reference[];
  removedContainers: Plan['removeContainers'];
  removedVolumes: PlannedVolume[];
  prunedBuildCache: PlannedCacheRecord[];
  /** Everything kept: the plan's reasons, then each step that did not happen and why. */
  skipped: Skip[];
  results: StepResult[];
  /** Set when the engine stopped answering mid-run: the transport error. */
  engineLost?: string;
  ms: number;
}

/** Space before and after, as the summary and outputs show it. */
export interface SpaceReport {
  /** The plan's prediction (classic store: exact). */
  predictedBytes: number;
  predictionExact: boolean;
  /** Real runs: what the engine reported freeing (see measuredFrom). */
  measuredBytes?: number;
  /** `delete-responses`: sizes of the layers in `Deleted` entries plus removed containers'
   * writable layers; `system-df`: the drop in /system/df totals (the containerd store lists no layers). */
  measuredFrom?: 'delete-responses' | 'system-df';
  /** Cross-check: the drop in /system/df's layer and container totals over the run. */
  systemDfBytes?: number;
  /** The engine's data disk, when the engine runs on this machine. */
  disk?: { path: string; totalBytes: number; freeBefore: number; freeAfter?: number };
  target?: FreeSpaceTarget;
  /** Whole run, from start to report. */
  elapsedMs: number;
}
