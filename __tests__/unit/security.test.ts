// What SECURITY.md promises, checked on the source tree and the bundle: no removal is ever forced,
// the only removals are of containers (each volume planned on its own), images, volumes and named
// build cache records, and the action starts no processes. The source checks walk the TypeScript
// syntax tree, so comments and strings that merely mention "force" cannot trip them, and a new way
// of writing `force: true` cannot hide.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) ? [p] : [];
  });
}

interface Finding {
  file: string;
  line: number;
  what: string;
}

const PROCESS_MODULES = /^(node:)?(child_process|cluster|worker_threads)$|^@actions\/exec(\/|$)/;
const PRUNE_CALLS = new Set([
  'pruneImages',
  'pruneContainers',
  'pruneVolumes',
  'pruneNetworks',
  // dockerode's pruneBuilder sends no filter: it would prune the whole build cache.
  'pruneBuilder',
  'getNetwork'
]);

/** Everything in one file that the policy forbids, plus the removal calls it allows. */
function scan(file: string, text: string) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const bad: Finding[] = [];
  const forceFalse: Finding[] = [];
  const removals: { receiver: string; options: string; line: number }[] = [];
  const prunes: Finding[] = [];
  const at = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const flag = (n: ts.Node, what: string) => bad.push({ file, line: at(n), what });
  const nameOf = (n: ts.PropertyName | ts.Expression) =>
    ts.isIdentifier(n) || ts.isStringLiteralLike(n) || ts.isPrivateIdentifier(n)
      ? n.text
      : undefined;

  const visit = (n: ts.Node): void => {
    // A `force` option is allowed only as the literal `false`: not `true`, not `!0`, not a
    // variable, not `{ force }`, not a spread that could carry one in.
    if (ts.isPropertyAssignment(n) && nameOf(n.name) === 'force') {
      if (n.initializer.kind === ts.SyntaxKind.FalseKeyword) {
        forceFalse.push({ file, line: at(n), what: n.getText(sf) });
      } else flag(n, `force option that is not the literal false: ${n.getText(sf)}`);
    }
    if (ts.isShorthandPropertyAssignment(n) && n.name.text === 'force') {
      flag(n, 'force option passed as a variable: { force }');
    }
    // `shell:` is how a spawned process gets a shell.
    if (
      (ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n)) &&
      nameOf(n.name) === 'shell'
    ) {
      flag(n, `shell option: ${n.getText(sf)}`);
    }
    // Any mention of a process-starting module as a string: import, export from, require(),
    // import(), createRequire()(…).
    if (ts.isStringLiteralLike(n) && PROCESS_MODULES.test(n.text)) {
      flag(n, `process module: ${n.text}`);
    }
    // A query string that forces, should anyone call the API by hand.
    if (ts.isStringLiteralLike(n) && /[?&]force=(1|true)\b/i.test(n.text)) {
      flag(n, `forced query: ${n.text}`);
    }
    if (ts.isPropertyAccessExpression(n) && PRUNE_CALLS.has(n.name.text)) {
      flag(n, `prune or network API: ${n.name.text}`);
    }
    if (
      ts.isStringLiteralLike(n) &&
      /\/(images|containers|volumes|networks|system)\/prune\b/.test(n.text)
    ) {
      flag(n, `wholesale prune endpoint: ${n.text}`);
    }
    if (ts.isStringLiteralLike(n) && /\/build\/prune\b/.test(n.text)) {
      prunes.push({ file, line: at(n), what: n.getText(sf) });
    }
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      n.expression.name.text === 'remove'
    ) {
      removals.push({
        receiver: n.expression.expression.getText(sf),
        options: n.arguments.map((a) => a.getText(sf)).join(', '),
        line: at(n)
      });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { bad, forceFalse, removals, prunes };
}

describe('the detectors', () => {
  // If a detector broke, every check below would pass on anything; these show that each one fires.
  it.each([
    ['remove({ force: true })', 'force option'],
    ['remove({ "force": !0 })', 'force option'],
    ['remove({ force: yes })', 'force option'],
    ['const force = true; remove({ force })', 'force option passed as a variable'],
    ["import { execFile } from 'node:child_process';", 'process module'],
    ["const cp = require('child_process');", 'process module'],
    ["await import('@actions/exec');", 'process module'],
    ['spawn(cmd, { shell: true })', 'shell option'],
    ["fetch('/images/x?force=1', { method: 'DELETE' })", 'forced query'],
    ['docker.pruneVolumes()', 'prune or network API'],
    ['docker.pruneBuilder()', 'prune or network API'],
    ["dial({ path: '/volumes/prune?' })", 'wholesale prune endpoint']
  ])('flag %s', (code, what) => {
    expect(scan('snippet.ts', code).bad.map((f) => f.what)).toEqual([
      expect.stringContaining(what)
    ]);
  });

  it('ignore comments and prose that mention force', () => {
    const code = "// Never with force: true. See { force }.\nconst s = 'force: true';";
    expect(scan('snippet.ts', code).bad).toEqual([]);
  });
});

describe('the source tree (src/)', () => {
  const files = sourceFiles(SRC);
  const scans = files.map((f) => ({
    file: path.relative(ROOT, f),
    ...scan(path.relative(ROOT, f), fs.readFileSync(f, 'utf8'))
  }));

  it('is really scanned: the files that remove things are among those read', () => {
    expect(scans.map((s) => s.file)).toEqual(
      expect.arrayContaining([path.join('src', 'engine', 'remove.ts'), path.join('src', 'main.ts')])
    );
  });

  it('never forces, never starts a process or a shell, never prunes wholesale or touches networks', () => {
    expect(scans.flatMap((s) => s.bad)).toEqual([]);
  });

  it('passes force only as the literal false: for containers, images and volumes', () => {
    const all = scans.flatMap((s) => s.forceFalse);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.every((f) => f.file === path.join('src', 'engine', 'remove.ts'))).toBe(true);
  });

  it('removes containers (each volume planned on its own), images and volumes, each with force: false', () => {
    const removals = scans.flatMap((s) => s.removals.map((r) => ({ file: s.file, ...r })));
    expect(removals.length).toBeGreaterThanOrEqual(3);
    for (const r of removals) {
      expect(r.receiver).toMatch(/\.(getContainer|getImage|getVolume)\([^)]*\)$/);
      expect(r.options).toMatch(/\bforce: false\b/);
      if (r.receiver.includes('getContainer')) expect(r.options).toMatch(/\bv: false\b/);
    }
  });

  it('prunes build cache in one place only, and only the records it names', () => {
    const prunes = scans.flatMap((s) => s.prunes);
    expect(prunes.map((p) => p.file)).toEqual([path.join('src', 'engine', 'remove.ts')]);
    const remove = fs.readFileSync(path.join(SRC, 'engine', 'remove.ts'), 'utf8');
    expect(remove).toMatch(/filters: \{ id: \[buildCacheFilter\(ids\)\] \}/);
  });
});

describe('the bundle (dist/index.js)', () => {
  // dist/ also holds every dependency, and some of them legitimately contain `force: true`
  // (@actions/io's rmRF) and child_process (@actions/exec, which @actions/core depends on). ncc's
  // webpack output marks most of our modules with `;// CONCATENATED MODULE: ./src/…`, and a
  // module's text runs to the next module marker.
  const bundle = fs.readFileSync(path.join(ROOT, 'dist', 'index.js'), 'utf8');
  const lines = bundle.split('\n');
  const boundary = /^(;?\/\/ (CONCATENATED|EXTERNAL) MODULE: |\/\*{3}\/ )/;
  const ours = new Map<string, string>();
  lines.forEach((line, n) => {
    const m = /^;?\/\/ CONCATENATED MODULE: (\.\/src\/\S+)$/.exec(line);
    if (!m) return;
    let end = n + 1;
    while (end < lines.length && !boundary.test(lines[end]!)) end++;
    ours.set(m[1]!, lines.slice(n + 1, end).join('\n'));
  });
  const FORCED = /["']?\bforce["']?\s*:\s*(true|!0|1)\b|[?&]force=(1|true)\b/;

  it('still marks our modules, so that the checks below see our code', () => {
    // If ncc changes its output format, this fails instead of the checks passing on nothing.
    expect([...ours.keys()]).toEqual(
      expect.arrayContaining(['./src/engine/remove.ts', './src/execute.ts', './src/reclaim.ts'])
    );
  });

  it('sends every removal of ours with force: false', () => {
    const remove = ours.get('./src/engine/remove.ts') ?? '';
    expect(remove.match(/\.remove\(\{ force: false\b/g)).toHaveLength(3);
  });

  it('has no force: true-style option anywhere but in @actions/io’s rmRF, a file removal', () => {
    // Modules that main and post share are not marked with their names, so the whole bundle is
    // searched and each hit must sit in the one dependency function known to have it.
    const hits = lines.flatMap((line, n) => (FORCED.test(line) ? [n] : []));
    const outsideRmRF = hits.filter(
      (n) => !lines.slice(Math.max(0, n - 20), n).some((l) => /function rmRF\(/.test(l))
    );
    expect(outsideRmRF.map((n) => `${n + 1}: ${lines[n]!.trim()}`)).toEqual([]);
  });
});
