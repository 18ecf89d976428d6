// The one place where raw inputs become typed settings. Nothing here touches the engine, so a
// bad input stops the run before anything is removed.
import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { Input } from './constants.js';
import { cutToLength } from './text.js';
import { DurationError, parseDuration } from './duration.js';
import { parseSize, SizeError, type SizeTarget } from './size.js';
import { DEFAULT_TIMEOUT_MS } from './engine/connect.js';
import { SSH_UNSUPPORTED } from './engine/endpoint.js';
import { splitPatterns, validatePattern, type PatternKind } from './plan/patterns.js';
import type { AgeBasis, Policy } from './plan/types.js';

export interface Settings {
  policy: Policy;
  dryRun: boolean;
  failOnError: boolean;
  summary: boolean;
  dockerHost?: string;
  /** How long one engine call may go unanswered. */
  engineTimeoutMs: number;
  /** until-free as written; a percentage becomes bytes once the disk is known. */
  untilFree?: SizeTarget;
  /** Where the ledger lives: ledger-dir, else the runner's tool cache; none without either. */
  ledgerDir?: string;
  /** Where this machine sees the engine's data root (engine-data-root), for until-free. */
  engineDataRoot?: string;
  /** The post step removes what the job added. */
  jobCleanup: boolean;
  /** The post step records in the ledger which images the job's containers used. */
  recordUsage: boolean;
}

/** A problem with an input; the message is written for the workflow author. */
export class InputError extends Error {
  override name = 'InputError';
}

type InputName = (typeof Input)[keyof typeof Input];

const MAX_QUOTED = 80;
const MAX_KEEP_LATEST = 1_000_000;
const MAX_TIMER_MS = 24 * 86_400_000;
const AGE_BASES: readonly AgeBasis[] = ['created', 'tagged', 'last-used'];

const EXAMPLE = {
  duration: 'use a duration such as 7d, 36h, 1d12h or P7D',
  boolean: 'use true or false',
  count: 'use a whole number such as 0 or 3',
  ageBasis: 'use created, tagged or last-used',
  dockerHost: 'use unix:///var/run/docker.sock, tcp://host:2376 or npipe:////./pipe/docker_engine',
  image: 'use patterns such as acme/app:pr-*, ghcr.io/acme/** or acme/app@sha256:*',
  container: 'use patterns such as ci-* or build-{api,web}',
  volume: 'use patterns such as myapp-pr-*_db-data or ci-cache-*',
  exclude: 'use image patterns such as acme/base:* or container names such as keep-*',
  size: 'use a size such as 20GB, 500MiB or 25%',
  folder: 'use a folder such as /opt/docker-reclaim, or leave it empty for the runner tool cache',
  dataRoot:
    "use the folder where this machine sees the engine's data root, such as /mnt/dind-data, or leave it empty"
} as const;

// Beyond what JSON escapes: C1 controls, line/paragraph separators (newlines to some log viewers),
// and invisible or bidi formatting characters that could make a message read differently.
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

const HAS_UNSAFE = new RegExp(UNSAFE.source);

function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as a one-line, visibly delimited string literal, shortened when long. */
export function quote(value: string): string {
  const { head, cut } = cutToLength(value, MAX_QUOTED);
  return escapeUnsafe(JSON.stringify(head)) + (cut ? '…' : '');
}

/** Text from another module that ends up in a message: keep it on one line and bounded. */
function asOneBoundedLine(reason: string): string {
  const { head, cut } = cutToLength(reason, 200);
  return escapeUnsafe(head) + (cut ? '…' : '');
}

function invalid(name: InputName, value: string, advice: string, what = 'value'): InputError {
  return new InputError(`Input "${name}" has an invalid ${what} ${quote(value)}: ${advice}.`);
}

function duration(name: InputName, value: string): number {
  if (value === '') return 0;
  try {
    return parseDuration(value);
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    throw invalid(name, value, `${error.message}; ${EXAMPLE.duration}`);
  }
}

/** YAML 1.2 core schema booleans, as core.getBooleanInput reads them. */
function parseBoolean(name: InputName, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  if (value === 'true' || value === 'True' || value === 'TRUE') return true;
  if (value === 'false' || value === 'False' || value === 'FALSE') return false;
  throw invalid(name, value, EXAMPLE.boolean);
}

function parseWholeNumber(name: InputName, value: string, max: number): number {
  if (value === '') return 0;
  if (!/^[0-9]+$/.test(value)) throw invalid(name, value, EXAMPLE.count);
  const n = Number(value);
  if (n > max) throw invalid(name, value, `it can be at most ${max}; ${EXAMPLE.count}`);
  return n;
}

function ageBasis(name: InputName, value: string): AgeBasis {
  if (value === '') return 'last-used';
  const basis = AGE_BASES.find((b) => b === value.toLowerCase());
  if (!basis) throw invalid(name, value, EXAMPLE.ageBasis);
  return basis;
}

function patterns(name: InputName, value: string, kind: PatternKind): string[] {
  const list = splitPatterns(value);
  for (const p of list) {
    const reason = validatePattern(kind, p);
    if (reason !== undefined) {
      throw invalid(name, p, `${asOneBoundedLine(reason)}; ${EXAMPLE[kind]}`, 'pattern');
    }
  }
  return list;
}

const HOST = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)`;
const TCP = new RegExp(String.raw`^tcp://${HOST}:([0-9]{1,5})/?$`);

function dockerHostProblem(value: string): string | undefined {
  if (/\s/.test(value) || HAS_UNSAFE.test(value)) return 'it contains spaces or control characters';
  const scheme = /^([a-z]+):\/\//.exec(value)?.[1];
  const port = (digits: string | undefined) =>
    digits === undefined || (Number(digits) >= 1 && Number(digits) <= 65535)
      ? undefined
      : 'the port must be between 1 and 65535';
  switch (scheme) {
    case 'unix':
      return /^unix:\/\/\/./.test(value) ? undefined : 'the socket path must be absolute';
    case 'tcp': {
      const match = TCP.exec(value);
      return match ? port(match[1]) : 'write it as tcp://host:port';
    }
    case 'npipe':
      return value.length > 'npipe://'.length ? undefined : 'the pipe name is missing';
    case 'ssh':
      return SSH_UNSUPPORTED;
    case undefined:
      return 'it has no scheme such as unix:// or tcp://';
    default:
      return `the scheme "${scheme.slice(0, 12)}" is not supported`;
  }
}

/** A duration that must be more than zero; empty means `fallback`. */
function parsePositiveDuration(name: InputName, value: string, fallback: number): number {
  if (value === '') return fallback;
  const ms = duration(name, value);
  if (ms === 0)
    throw invalid(name, value, `it must be longer than 0; use a duration such as 30s or 2m`);
  // Node's timers hold at most 2^31-1 ms; a longer bound would silently shrink to that.
  if (ms > MAX_TIMER_MS)
    throw invalid(name, value, `it must be at most 24d; use a duration such as 2m or 1h`);
  return ms;
}

function size(name: InputName, value: string): SizeTarget | undefined {
  if (value === '') return undefined;
  try {
    return parseSize(value);
  } catch (error) {
    if (!(error instanceof SizeError)) throw error;
    throw invalid(name, value, `${error.message}; ${EXAMPLE.size}`);
  }
}

function dockerHost(name: InputName, value: string): string | undefined {
  if (value === '') return undefined;
  const problem = dockerHostProblem(value);
  if (problem) throw invalid(name, value, `${problem}; ${EXAMPLE.dockerHost}`);
  return value;
}

/**
 * An absolute folder path, or undefined when empty. Whether it holds the engine's data is checked
 * once the engine is known.
 */
function dataRoot(name: InputName, value: string): string | undefined {
  if (value === '') return undefined;
  if (HAS_UNSAFE.test(value) || !path.isAbsolute(value)) {
    throw invalid(name, value, `it must be an absolute path; ${EXAMPLE.dataRoot}`);
  }
  return path.normalize(value);
}

/** `auto` (the default) records usage where there is a ledger to record it in. */
function usageRecording(name: InputName, value: string, ledger: string | undefined): boolean {
  if (value === '' || value.toLowerCase() === 'auto') return ledger !== undefined;
  const on = parseBoolean(name, value, false);
  if (on && ledger === undefined) {
    throw invalid(
      name,
      value,
      'there is no ledger to record usage in (no ledger-dir and no RUNNER_TOOL_CACHE); set ledger-dir, or use auto'
    );
  }
  return on;
}

/** A folder path, resolved against the workspace as the runner resolves paths. */
function ledgerDir(name: InputName, value: string, env: NodeJS.ProcessEnv): string | undefined {
  if (value === '') {
    const cache = env.RUNNER_TOOL_CACHE;
    return cache ? path.join(cache, 'docker-reclaim') : undefined;
  }
  if (HAS_UNSAFE.test(value)) {
    throw invalid(name, value, `it contains control characters; ${EXAMPLE.folder}`);
  }
  const dir = path.resolve(value);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    // Made on first use.
  }
  if (stat && !stat.isDirectory()) {
    throw invalid(name, value, `${dir} is a file, not a folder; ${EXAMPLE.folder}`);
  }
  return dir;
}

/**
 * Reads and checks every input in action.yml order and throws InputError at the first problem.
 * An empty input means its action.yml default, so a step that passes '' behaves like one that
 * leaves the input out.
 */
export function getSettings(
  read: (name: string) => string = (n) => core.getInput(n),
  env: NodeJS.ProcessEnv = process.env
): Settings {
  const get = (name: InputName) => read(name).trim();
  const images = patterns(Input.Images, get(Input.Images), 'image');
  const exclude = patterns(Input.Exclude, get(Input.Exclude), 'exclude');
  const olderThanMs = duration(Input.OlderThan, get(Input.OlderThan));
  const basis = ageBasis(Input.AgeBasis, get(Input.AgeBasis));
  const keepLatest = parseWholeNumber(Input.KeepLatest, get(Input.KeepLatest), MAX_KEEP_LATEST);
  const dangling = parseBoolean(Input.Dangling, get(Input.Dangling), true);
  const containers = patterns(Input.Containers, get(Input.Containers), 'container');
  const containersOlderThanMs = duration(Input.ContainersOlderThan, get(Input.ContainersOlderThan));
  const untilFree = size(Input.UntilFree, get(Input.UntilFree));
  const dryRun = parseBoolean(Input.DryRun, get(Input.DryRun), false);
  const failOnError = parseBoolean(Input.FailOnError, get(Input.FailOnError), false);
  const summary = parseBoolean(Input.Summary, get(Input.Summary), true);
  const host = dockerHost(Input.DockerHost, get(Input.DockerHost));
  const engineTimeoutMs = parsePositiveDuration(
    Input.EngineTimeout,
    get(Input.EngineTimeout),
    DEFAULT_TIMEOUT_MS
  );
  const ledger = ledgerDir(Input.LedgerDir, get(Input.LedgerDir), env);
  const engineDataRoot = dataRoot(Input.EngineDataRoot, get(Input.EngineDataRoot));
  const buildCache = get(Input.BuildCache);
  const buildCacheOlderThanMs =
    buildCache === '' ? undefined : duration(Input.BuildCache, buildCache);
  const volumes = patterns(Input.Volumes, get(Input.Volumes), 'volume');
  const anonymousVolumes = parseBoolean(Input.AnonymousVolumes, get(Input.AnonymousVolumes), false);
  const jobCleanup = parseBoolean(Input.JobCleanup, get(Input.JobCleanup), false);
  const recordUsage = usageRecording(Input.RecordUsage, get(Input.RecordUsage), ledger);
  return {
    policy: {
      images,
      exclude,
      olderThanMs,
      ageBasis: basis,
      keepLatest,
      dangling,
      containers,
      containersOlderThanMs,
      volumes,
      anonymousVolumes,
      ...(buildCacheOlderThanMs === undefined ? {} : { buildCacheOlderThanMs })
    },
    dryRun,
    failOnError,
    summary,
    engineTimeoutMs,
    jobCleanup,
    recordUsage,
    ...(host === undefined ? {} : { dockerHost: host }),
    ...(untilFree === undefined ? {} : { untilFree }),
    ...(ledger === undefined ? {} : { ledgerDir: ledger }),
    ...(engineDataRoot === undefined ? {} : { engineDataRoot })
  };
}
