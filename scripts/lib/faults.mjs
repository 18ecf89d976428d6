// Fault injection for the e2e tests: an engine that accepts connections and never answers, and a
// runner that hands each line of the action's output to the test as it is printed (so that a test
// can act mid-run, e.g. kill the engine once removal has begun).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDefaults, inputEnvName, parseCommandFile, REPO_ROOT } from './action.mjs';

/**
 * A unix socket server in `dir` that accepts every connection, reads what it is sent and never
 * writes a byte back: a hung engine.
 * @param {string} dir
 * @returns {Promise<import('./faults.d.mts').HungEngine>}
 */
export async function startHungEngine(dir) {
  const path = join(dir, 'hung.sock');
  const sockets = new Set();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume(); // swallow the request, answer nothing
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(undefined));
  });
  server.unref();
  return {
    path,
    address: `unix://${path}`,
    get connections() {
      return connections;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    }
  };
}

const readOr = (file, fallback = '') => readFile(file, 'utf8').catch(() => fallback);

/** Calls `onLine` with each complete line of a stream, and with the last partial one at its end. */
function lines(stream, onLine) {
  let rest = '';
  stream.on('data', (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) onLine(line.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
  });
}

/**
 * runAction (action.mjs), with `onLine` called for each line of stdout and stderr as the action
 * prints it. The environment is built the same way: every input of action.yml with its default
 * unless overridden, runner variables, fresh command files and RUNNER_TEMP.
 * @param {import('./faults.d.mts').StreamingRunOptions} options
 * @returns {Promise<import('./action.d.mts').ActionRun>}
 */
export async function runActionStreaming({
  inputs = {},
  env = {},
  node = process.execPath,
  cwd = REPO_ROOT,
  entry = join(REPO_ROOT, 'dist', 'index.js'),
  tmpDir = tmpdir(),
  timeoutMs = 300_000,
  onLine = () => {}
} = {}) {
  const all = { ...actionDefaults(), ...inputs };
  // Without an engine address the action would reach the machine's own engine: never allowed here.
  if (!env.DOCKER_HOST && !all['docker-host']) {
    throw new Error('runActionStreaming needs env.DOCKER_HOST or the docker-host input');
  }
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run npm run build first`);
  const dir = await mkdtemp(join(tmpDir, 'action-'));
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
  const childEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? homedir(),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: 'docker-reclaim',
    GITHUB_ACTION_PATH: REPO_ROOT,
    GITHUB_WORKSPACE: cwd,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: runnerTemp,
    ...files,
    ...Object.fromEntries(Object.entries(all).map(([k, v]) => [inputEnvName(k), v])),
    ...env
  };

  const child = spawn(node, [entry], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  const safe = (stream) => (line) => {
    try {
      onLine(line, stream);
    } catch (e) {
      // A throwing callback must not leave the child running unobserved.
      console.error(`onLine threw: ${e}`);
    }
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  lines(child.stdout, safe('stdout'));
  lines(child.stderr, safe('stderr'));
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
    stdout: out.join(''),
    stderr: err.join(''),
    outputs,
    summary: await readOr(files.GITHUB_STEP_SUMMARY),
    state: await readOr(files.GITHUB_STATE),
    reportPath,
    report,
    runnerTemp,
    env: childEnv,
    cleanup: () => rm(dir, { recursive: true, force: true })
  };
}
