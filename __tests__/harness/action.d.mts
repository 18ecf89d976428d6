// Types for action.mjs, so that TypeScript tests import the harness with types.

/** Absolute path of the repository (no trailing slash). */
export const REPO_ROOT: string;
/** The Node version ensureNode24() provides. */
export const NODE24_VERSION: string;

/** Input name → default ('' when none) from the `inputs:` block of an action.yml text. */
export function parseActionInputs(text: string, block?: string): Record<string, string>;

/** parseActionInputs of the repository's action.yml, or of another file. */
export function actionDefaults(file?: string): Record<string, string>;

/** The names of the outputs the repository's action.yml declares. */
export function actionOutputs(file?: string): string[];

/** `INPUT_` + the name upper-cased with spaces as `_` and dashes kept, as the runner names it. */
export function inputEnvName(name: string): string;

/** Parses a GITHUB_OUTPUT or GITHUB_STATE file (`name<<DELIMITER` heredocs and `name=value`). */
export function parseCommandFile(text: string): Record<string, string>;

export interface RunActionOptions {
  /** Overrides of action.yml's defaults; every input is passed, as the runner does. */
  inputs?: Record<string, string>;
  /** Added over the minimal base (PATH, HOME, runner variables). DOCKER_HOST or the docker-host input is required. */
  env?: Record<string, string>;
  /** Node binary (default: this process's; see ensureNode24). */
  node?: string;
  /** Working directory and GITHUB_WORKSPACE (default: a fresh folder in the run's directory). */
  cwd?: string;
  /** Script to run (default: the repository's dist/index.js). */
  entry?: string;
  /** Where the run's temporary directory goes (default os.tmpdir(); an engine's dir is handy). */
  tmpDir?: string;
  /** The action is SIGKILLed after this long (default 300000). */
  timeoutMs?: number;
  /** Called with each line of the action's stdout or stderr as soon as it is printed. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Run as the post step of this main run: STATE_* variables from its GITHUB_STATE, and its
   * RUNNER_TEMP and workspace, as the runner does for a post step.
   */
  after?: Pick<ActionRun, 'state' | 'runnerTemp' | 'workspace'>;
}

export interface ActionRun {
  /** Exit code (128 when killed by a signal). */
  code: number;
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** Contents of GITHUB_STEP_SUMMARY. */
  summary: string;
  /** Raw contents of GITHUB_STATE (parseCommandFile reads it). */
  state: string;
  /** The `report` output, when set. */
  reportPath?: string;
  /** The parsed report, when reportPath names a readable JSON file. */
  report?: unknown;
  /** RUNNER_TEMP of this run. */
  runnerTemp: string;
  /** GITHUB_WORKSPACE and working directory of this run. */
  workspace: string;
  /** The environment the action ran with. */
  env: Record<string, string>;
  /** Removes the run's temporary directory (RUNNER_TEMP and the command files included). */
  cleanup(): Promise<void>;
}

/** A fresh runner-like environment (INPUT_* for every input, runner variables, command files). */
export function actionEnv(options?: {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  cwd?: string;
  tmpDir?: string;
}): Promise<{
  dir: string;
  /** The working directory and GITHUB_WORKSPACE. */
  workspace: string;
  files: Record<
    'GITHUB_OUTPUT' | 'GITHUB_STATE' | 'GITHUB_STEP_SUMMARY' | 'GITHUB_ENV' | 'GITHUB_PATH',
    string
  >;
  runnerTemp: string;
  env: Record<string, string>;
}>;

/** Runs dist/index.js once like the GitHub Actions runner does. */
export function runAction(options?: RunActionOptions): Promise<ActionRun>;

/** Path of a Node 24 binary, fetched once with npm pack into .cache/node24. */
export function ensureNode24(): Promise<string>;

/**
 * Moves every time in the ledgers under a tool cache by `ms` (negative: into the past), as if that
 * much time had passed since the runs that wrote them.
 */
export function shiftLedger(toolCache: string, ms: number): Promise<void>;
