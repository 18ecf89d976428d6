// Every input, output and state name is spelled here once.

import packageJson from '../package.json' with { type: 'json' };

/** Recorded in the report: package.json's, which the bundle takes in at build time. */
export const VERSION: string = packageJson.version;

export const Input = {
  Images: 'images',
  Exclude: 'exclude',
  OlderThan: 'older-than',
  AgeBasis: 'age-basis',
  KeepLatest: 'keep-latest',
  Dangling: 'dangling',
  Containers: 'containers',
  ContainersOlderThan: 'containers-older-than',
  UntilFree: 'until-free',
  DryRun: 'dry-run',
  FailOnError: 'fail-on-error',
  Summary: 'summary',
  DockerHost: 'docker-host',
  EngineTimeout: 'engine-timeout',
  LedgerDir: 'ledger-dir',
  EngineDataRoot: 'engine-data-root',
  BuildCache: 'build-cache',
  Volumes: 'volumes',
  AnonymousVolumes: 'anonymous-volumes',
  JobCleanup: 'job-cleanup',
  RecordUsage: 'record-usage'
} as const;

export const Output = {
  DeletedImages: 'deleted-images',
  Untagged: 'untagged',
  RemovedContainers: 'removed-containers',
  Skipped: 'skipped',
  ReclaimedBytes: 'reclaimed-bytes',
  EstimatedBytes: 'estimated-bytes',
  RemovedVolumes: 'removed-volumes',
  Report: 'report'
} as const;

export const State = {
  IsPost: 'isPost',
  /** The snapshot file's path (never its contents: state travels in environment variables). */
  Snapshot: 'snapshot',
  /** The engine's clock when the main step read it, ms since epoch. */
  Since: 'since',
  /** The engine the main step used. */
  Address: 'address'
} as const;
