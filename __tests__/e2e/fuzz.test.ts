// Issue #4, "Input fuzzing": every input of action.yml takes random and hostile strings (10k-char
// values, newlines, glob metacharacters, `../`, shell syntax, unicode, a leading `!` or `#`). Each
// must be accepted with its documented meaning or refused by name, never with a stack trace, and
// never run anything.
//
// - In-process: getSettings() on thousands of values, compileImagePattern() against a literal
//   comparison, and the address a docker-host value makes the action connect to.
// - The bundled action (dist/index.js on Node 24, as the runner runs it) against a private dockerd
//   holding a fixed set of images and containers, once per generated value.
// - A few fixed cases that the fuzzing turned up: docker-host values that reach the wrong engine,
//   pattern colons that no image name can have, and engine-timeout beyond Node's timer range.
//
// Shell payloads touch a unique marker file or remove a unique victim file instead of `rm -rf /`:
// the strings exercise the same parsing, and a product that did hand them to a shell would be caught
// without harm to the machine.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../../src/engine/connect.js';
import { getSettings, InputError } from '../../src/inputs.js';
import type { Skip } from '../../src/plan/types.js';
import { isFailure } from '../../src/report/reason.js';
import {
  compileImagePattern,
  compileNamePattern,
  splitPatterns,
  validatePattern
} from '../../src/plan/patterns.js';
import { matchesReference } from '../../__fixtures__/plan.js';
import { actionDefaults, ensureNode24, runAction } from '../harness/action.mjs';
import {
  busyboxImage,
  inventory,
  loadImages,
  runContainer,
  startEngine,
  type Engine,
  type Inventory
} from '../harness/engine.mjs';

const DEFAULTS = actionDefaults();
const NAMES = Object.keys(DEFAULTS);
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
/** FC_UNIT_SCALE multiplies the runs of the in-process properties. */
const UNIT_SCALE = Number(process.env.FC_UNIT_SCALE ?? 1);
const replay = {
  ...(seed === undefined ? {} : { seed }),
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {})
};

// A private directory: the marker must not exist, the victim must survive.
const SCRATCH = mkdtempSync(path.join(tmpdir(), 'dr-fuzz-'));
const MARKER = path.join(SCRATCH, 'pwned');
const VICTIM = path.join(SCRATCH, 'victim');
const PWNED = '/tmp/pwned';
const pwnedBefore = existsSync(PWNED);
writeFileSync(VICTIM, 'still here\n');
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

const SHELL = [
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `; touch ${MARKER}`,
  `&& touch ${MARKER}`,
  `| touch ${MARKER}`,
  `'; touch ${MARKER}; '`,
  `"; touch ${MARKER}; "`,
  `\${IFS}touch\${IFS}${MARKER}`,
  `; rm -rf ${VICTIM}`,
  `$(rm -rf ${VICTIM})`,
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  '> /tmp/pwned'
];
const PIECES = [
  ...SHELL,
  '',
  ' ',
  '\n',
  '\r\n',
  '\t',
  ',',
  '**',
  '*',
  '?',
  '[',
  ']',
  '[!a]',
  '{',
  '}',
  '{a,b}',
  '!',
  '!**',
  '#',
  '# comment',
  '../',
  '../../etc/passwd',
  '/..',
  './',
  '/',
  '//',
  ':',
  '::',
  '@',
  '@sha256:',
  '\\',
  '"',
  "'",
  '$HOME',
  '%0A',
  '%00',
  '\n::warning::INJECTED',
  '\n::add-mask::INJECTED',
  '\n::stop-commands::INJECTED',
  '\u202e',
  '\u200b',
  '\u2028',
  '\ufeff',
  '\u0085',
  'é',
  'İ',
  'ß',
  '\u{1F4A5}',
  'ｆｚ',
  '-1',
  '1e9',
  '0x10',
  'NaN',
  'Infinity',
  '9'.repeat(40),
  'true',
  'fz/app',
  'canary'
];

/** Plausible values per input, which the hostile pieces are glued to. */
const PLAUSIBLE: Record<string, string[]> = {
  images: ['fz/app', 'fz/app:1', 'fz/**', 'canary/keep:1', 'docker.io/fz/lib'],
  exclude: ['fz/app', 'canary-*', 'fz-job-1'],
  'older-than': ['1d', 'P7D', '0', '1d 12h'],
  'age-basis': ['created', 'Last-Used', 'TAGGED'],
  'keep-latest': ['3', '1000000', '0'],
  dangling: ['true', 'FALSE'],
  containers: ['fz-*', 'canary-keep', 'fz-job-1'],
  'containers-older-than': ['1h', 'PT36H'],
  'until-free': ['20GB', '25%', '500MiB'],
  'dry-run': ['true', 'false'],
  'fail-on-error': ['false', 'True'],
  summary: ['true', 'FALSE'],
  'docker-host': [
    'unix:///nonexistent/docker.sock',
    'tcp://127.0.0.1:1',
    'ssh://user@host',
    'npipe:////./pipe/docker_engine'
  ],
  'engine-timeout': ['30s', '2m', '1s'],
  'ledger-dir': ['ledger', 'cache/docker-reclaim'],
  'engine-data-root': ['/nonexistent/docker', '/proc/1/root/var/lib/docker'],
  'build-cache': ['0', '7d'],
  volumes: ['fz-*', 'none-such'],
  'anonymous-volumes': ['true', 'FALSE'],
  'job-cleanup': ['true', 'false'],
  'record-usage': ['auto', 'false']
};

const nulFree = (s: string) => s.replace(/\0/g, '');
const pieceArb = fc.constantFrom(...PIECES);
const hostileArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(pieceArb, { minLength: 1, maxLength: 5 }).map((a) => a.join(''))
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(nulFree) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }).map(nulFree) },
  {
    weight: 1,
    // Very long: 10k characters of one piece (or of a plausible pattern).
    arbitrary: fc
      .tuple(
        fc.constantFrom('x', 'a/', '*', '{a,b}', 'fz/app,', '\n', '!', '9'),
        fc.constant(10_000)
      )
      .map(([p, n]) => p.repeat(Math.ceil(n / p.length)).slice(0, n))
  }
);
// Glob-heavy lists that are often valid patterns, so that accepted runs select things too.
const GLOB_PIECES = [
  'fz',
  'fz/',
  'fz-',
  'canary',
  'other',
  'app',
  '/',
  '*',
  '**',
  '?',
  '[a-z]',
  '[!x]',
  '{app,lib}',
  ':',
  '1',
  'latest',
  '-',
  'job',
  'keep'
];
// Starting from a name that exists makes a glob likely to select something.
const globArb = fc
  .tuple(
    fc.constantFrom('fz/', 'fz-', 'canary', 'other/', '*', '**', ''),
    fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...GLOB_PIECES) },
        { weight: 1, arbitrary: fc.constantFrom(',', '\n', '#', '!', '../', 'docker.io/', '@') }
      ),
      { minLength: 1, maxLength: 6 }
    )
  )
  .map(([head, rest]) => head + rest.join(''));
const LISTS = ['images', 'exclude', 'containers'];
// Well-formed lists of globs, so that accepted runs select things (and the checks have work).
const SEGMENT_GLOBS = [
  'fz',
  'fz*',
  '*',
  '**',
  'f?',
  '{fz,other}',
  '[a-z]*',
  'canary',
  'app',
  'lib'
];
const TAG_GLOBS = ['1', '*', 'latest', '[0-9]', '{1,2}', 'l*'];
const NAME_GLOBS = ['fz-*', '*', 'fz-job-?', 'canary-*', '*-1', '[a-z]*', 'fz-{job,x}-1'];
const imageGlobArb = fc
  .tuple(
    fc.array(fc.constantFrom(...SEGMENT_GLOBS), { minLength: 1, maxLength: 3 }),
    fc.option(fc.constantFrom(...TAG_GLOBS), { nil: undefined })
  )
  .map(([segments, tag]) => segments.join('/') + (tag === undefined ? '' : `:${tag}`));
const listArb = (name: string) =>
  fc
    .tuple(
      fc.array(name === 'containers' ? fc.constantFrom(...NAME_GLOBS) : imageGlobArb, {
        minLength: 1,
        maxLength: 3
      }),
      fc.constantFrom(',', '\n', ', ', '\r\n')
    )
    .map(([patterns, sep]) => patterns.join(sep));

// Every input, the three pattern lists twice as often: most of what can go wrong with them shows
// only when they are accepted and select something.
const caseArb = fc.constantFrom(...NAMES, ...LISTS).chain((name) => {
  const plausible = fc.constantFrom(...(PLAUSIBLE[name] ?? ['']));
  return fc.record({
    name: fc.constant(name),
    value: fc.oneof(
      hostileArb,
      fc.tuple(plausible, hostileArb).map(([p, h]) => p + h),
      fc.tuple(hostileArb, plausible).map(([h, p]) => h + p),
      ...(LISTS.includes(name)
        ? [
            { weight: 2, arbitrary: globArb },
            { weight: 3, arbitrary: listArb(name) }
          ]
        : [plausible])
    )
  });
});

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];
const BOOLEANS = ['dangling', 'dry-run', 'fail-on-error', 'summary'];
const DURATIONS = ['older-than', 'containers-older-than', 'engine-timeout'];

/** How the error for input `name` must start. */
const byName = (name: string) => `Input "${name}"`;

// Unescaped, these would make a log line read differently or break it in two.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('inputs in-process', () => {
  it('getSettings accepts a hostile value or refuses it by name, on one line', () => {
    fc.assert(
      fc.property(caseArb, ({ name, value }) => {
        const read = (n: string) => (n === name ? value : (DEFAULTS[n] ?? ''));
        try {
          const settings = getSettings(read);
          // Accepted: only in a documented spelling.
          const v = value.trim();
          if (BOOLEANS.includes(name)) expect(['', ...TRUE, ...FALSE]).toContain(v);
          if (name === 'dangling') expect(settings.policy.dangling).toBe(!FALSE.includes(v));
          if (name === 'dry-run') expect(settings.dryRun).toBe(TRUE.includes(v));
          if (name === 'age-basis') {
            expect(['', 'created', 'tagged', 'last-used']).toContain(v.toLowerCase());
          }
          if (name === 'keep-latest') expect(v).toMatch(/^(|[0-9]+)$/);
          if (DURATIONS.includes(name)) expect(v).toMatch(/^[0-9A-Za-z ]*$/);
          if (LISTS.includes(name)) {
            const { images, exclude, containers } = settings.policy;
            for (const p of [...images, ...exclude, ...containers]) {
              expect(p).toMatch(/^[A-Za-z0-9._\-/:@*?[\]{},^!]{1,512}$/);
              expect(p.startsWith('!')).toBe(false);
            }
          }
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          expect(e.message.startsWith(byName(name))).toBe(true);
          expect(e.message).not.toMatch(RAW_UNSAFE);
          // Long values are quoted shortened, never whole.
          expect(e.message.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 3000 * UNIT_SCALE, ...replay }
    );
  });
});

describe('image patterns', () => {
  // By the README a colon in a pattern is a tag separator, or a registry port before the first `/`;
  // anywhere else no image name can have it, and an invalid pattern must stop the action.
  it('refuses patterns with a colon that is neither a tag nor a registry port', () => {
    const accepted = (p: string) => {
      try {
        getSettings((n) => (n === 'images' ? p : ''));
        return true;
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        expect(e.message.startsWith(byName('images'))).toBe(true);
        return false;
      }
    };
    for (const ok of ['localhost:5000/app:1', '*:5000/app', 'ghcr.io/fz/**:1', 'fz/app:*']) {
      expect(accepted(ok)).toBe(true);
    }
    const wronglyAccepted = ['fz/app:1:2', 'fz/app:1/x', '*::canary/keep:1', '::x:1', 'a:b:c'];
    expect(wronglyAccepted.filter(accepted)).toEqual([]);
  });
});

// --- compileImagePattern against a literal comparison.

const SEGMENTS = ['a', 'b', 'ab', 'a.b', 'axb', 'a-b', 'a_b', 'a__b', 'x1', 'library', 'app'];
const REGISTRIES = ['docker.io', 'localhost', 'localhost:5000', 'ghcr.io', 'a.b', 'a.b:443'];
const REF_TAGS = ['1', '1.0', '1x0', '1-0', 'latest', 'Latest', 'v1', 'V1', 'a.b', 'axb', '_x'];
const HEX = ['a'.repeat(64), 'b'.repeat(64), `${'a'.repeat(63)}b`];

const repoArb = fc
  .tuple(
    fc.option(fc.constantFrom(...REGISTRIES), { nil: undefined }),
    fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 })
  )
  .map(([registry, segments]) => [registry, ...segments].filter(Boolean).join('/'));
const refArb = fc.oneof(
  fc.tuple(repoArb, fc.constantFrom(...REF_TAGS)).map(([r, t]) => `${r}:${t}`),
  fc.tuple(repoArb, fc.constantFrom(...HEX)).map(([r, h]) => `${r}@sha256:${h}`)
);

/** REPOSITORY[:TAG] or REPOSITORY@DIGEST; a colon before the last slash is a registry port. */
function split(text: string): { repo: string; tag?: string; digest?: string } {
  const at = text.indexOf('@');
  if (at >= 0) return { repo: text.slice(0, at), digest: text.slice(at + 1) };
  const colon = text.lastIndexOf(':');
  return colon > text.lastIndexOf('/')
    ? { repo: text.slice(0, colon), tag: text.slice(colon + 1) }
    : { repo: text };
}
/** The README's name forms collapsed: `docker.io/library/x`, `docker.io/x` and Podman's `localhost/x` are `x`. */
function familiar(repo: string): string {
  for (const prefix of ['docker.io/library/', 'docker.io/', 'localhost/']) {
    if (repo.startsWith(prefix)) return repo.slice(prefix.length);
  }
  return repo;
}
/** What a pattern without glob characters may select, by plain string comparison. */
function literallySelects(pattern: string, ref: string): boolean {
  const p = split(pattern);
  const r = split(ref);
  if (familiar(p.repo) !== familiar(r.repo)) return false;
  if (p.tag !== undefined) return r.tag === p.tag;
  if (p.digest !== undefined) return r.digest === p.digest;
  return true;
}
const GLOB = /[*?[\]{}!^,]/;

describe('compileImagePattern', () => {
  // Literal patterns: refs themselves, their repositories, other names, and near misses.
  const literalArb = fc.oneof(
    refArb,
    repoArb,
    refArb.map((r) => `docker.io/${r}`),
    refArb.map((r) => `docker.io/library/${r}`),
    fc.tuple(repoArb, fc.constantFrom(...REF_TAGS)).map(([r, t]) => `${r}:${t.toUpperCase()}`)
  );

  it('selects with a literal pattern only what a literal comparison allows', () => {
    fc.assert(
      fc.property(literalArb, refArb, (pattern, ref) => {
        fc.pre(!GLOB.test(pattern) && validatePattern('image', pattern) === undefined);
        const compiled = compileImagePattern(pattern);
        expect(compiled).toBeDefined();
        if (matchesReference(compiled!, ref)) expect(literallySelects(pattern, ref)).toBe(true);
      }),
      { numRuns: 5000 * UNIT_SCALE, ...replay }
    );
  });

  it('selects a reference with the reference itself and with its repository', () => {
    fc.assert(
      fc.property(refArb, (ref) => {
        for (const pattern of [ref, split(ref).repo]) {
          fc.pre(validatePattern('image', pattern) === undefined);
          expect(matchesReference(compileImagePattern(pattern)!, ref)).toBe(true);
        }
      }),
      { numRuns: 2000 * UNIT_SCALE, ...replay }
    );
  });
});

// --- Where a docker-host value makes the action connect.

const DEFAULT_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];
/** The socket path the action would connect to (as dockerode gets it), undefined for a host. */
function rawSocketOf(host: string): string | undefined {
  // Only builds the client: nothing connects.
  return (connect(host).docker as unknown as { modem: { socketPath?: string } }).modem.socketPath;
}
/** The same, resolved as a file path. */
function socketOf(host: string): string | undefined {
  const socket = rawSocketOf(host);
  return socket === undefined ? undefined : path.resolve(socket);
}

describe('docker-host', () => {
  // Values that getSettings accepts: each must reach what it names. On Windows a named pipe is
  // //./pipe/NAME (docker-modem's own default, and what it makes of DOCKER_HOST=npipe:////./pipe/NAME);
  // a bare npipe://NAME names no unix socket at all.
  it('connects to the engine a value names, never silently to the default socket', () => {
    const wrong: string[] = [];
    for (const host of [
      'unix:///nonexistent/docker.sock',
      'npipe:////./pipe/docker_engine',
      'npipe://x'
    ]) {
      expect(() => getSettings((n) => (n === 'docker-host' ? host : ''))).not.toThrow();
      const socket = socketOf(host);
      if (socket === undefined || DEFAULT_SOCKETS.includes(path.resolve(socket))) {
        wrong.push(`${host} → ${socket} (this machine's default engine)`);
      }
    }
    const pipe = rawSocketOf('npipe:////./pipe/docker_engine');
    if (pipe !== '//./pipe/docker_engine') {
      wrong.push(`npipe:////./pipe/docker_engine → ${pipe}, not the pipe //./pipe/docker_engine`);
    }
    expect(wrong).toEqual([]);
  });
});

// --- The bundled action against a private engine.

interface Fixture {
  running: { container: string; image: string };
}

describe('the bundled action with one hostile input', () => {
  let engine: Engine;
  let node24: string;
  let fixture: Fixture;

  /** Test-only: the harness may force; the product never does. */
  async function reset(): Promise<void> {
    const list = async (args: string[]) =>
      (await engine.docker(args)).stdout.split('\n').filter(Boolean);
    const containers = await list(['ps', '-aq']);
    if (containers.length) await engine.docker(['rm', '-f', ...containers]);
    await engine.docker(['image', 'prune', '-af']);
  }

  /**
   * Old images in three repositories of `fz/`, canaries in `canary/`, a stopped container on each
   * tagged family and a running one. No dangling image: `dangling` defaults to true, so any accepted
   * run would take it.
   */
  async function makeFixture(): Promise<Fixture> {
    await loadImages(engine, [
      { tags: ['fz/app:1', 'fz/app:latest'], created: '2020-01-01T00:00:00Z' },
      { tags: ['fz/app:2'], created: '2020-02-01T00:00:00Z' },
      { tags: ['fz/lib:1', 'other/lib:1'], created: '2020-03-01T00:00:00Z' },
      { tags: ['fz/tools/lint:2'], created: '2020-04-01T00:00:00Z' },
      { tags: ['canary/keep:1'], created: '2019-01-01T00:00:00Z' }
    ]);
    await runContainer(engine, { image: 'fz/app:1', name: 'fz-job-1', state: 'created' });
    await runContainer(engine, { image: 'canary/keep:1', name: 'canary-keep', state: 'created' });
    const image = await busyboxImage(engine, 'canary/run:1');
    const container = await runContainer(engine, {
      image: 'canary/run:1',
      name: 'canary-run',
      state: 'running'
    });
    return { running: { container, image } };
  }

  beforeAll(async () => {
    node24 = await ensureNode24();
    engine = await startEngine({ name: 'fuzz' });
    fixture = await makeFixture();
  }, 180_000);
  afterAll(async () => engine?.stop(), 120_000);

  /** undefined when the bundled action may run with this value; else why not. */
  function unsafeToRun(name: string, value: string): string | undefined {
    // A relative folder lands in the run's own workspace; an absolute one anywhere on this machine.
    if (name === 'ledger-dir') {
      const v = value.trim();
      return path.isAbsolute(v) || v.split(/[\\/]/).includes('..')
        ? 'would write a ledger outside the run’s workspace'
        : undefined;
    }
    if (name !== 'docker-host') return undefined;
    try {
      getSettings((n) => (n === name ? value : (DEFAULTS[n] ?? '')));
    } catch {
      return undefined; // refused before any connection
    }
    if (value.trim() === '') return undefined; // DOCKER_HOST: the private engine
    // Accepted: run only what cannot reach any engine but a missing socket or a closed local port.
    const socket = socketOf(value.trim());
    if (socket !== undefined && !DEFAULT_SOCKETS.includes(socket) && !existsSync(socket)) {
      return undefined;
    }
    if (value.trim() === 'tcp://127.0.0.1:1') return undefined;
    return `would connect to ${socket ?? value.trim()}`;
  }

  const state = (inv: Inventory) => ({
    images: inv.images.map((i) => `${i.id} ${i.tags.join(' ')}`),
    containers: inv.containers.map((c) => `${c.name} ${c.state} ${c.image}`)
  });

  /** What an accepted run may have removed, judged with the product's matcher and a literal one. */
  function removalProblems(name: string, value: string, before: Inventory, after: Inventory) {
    const problems: string[] = [];
    const gone = (ids: Set<string>) => (id: string) => !ids.has(id);
    const afterImages = new Map(after.images.map((i) => [i.id, i]));
    const afterContainers = new Set(after.containers.map((c) => c.id));
    const patterns = ['images', 'containers'].includes(name) ? splitPatterns(value) : [];
    const literal = patterns.every((p) => !GLOB.test(p));
    const imagePatterns = name === 'images' ? patterns.map(compileImagePattern) : [];
    const namePatterns = name === 'containers' ? patterns.map(compileNamePattern) : [];
    const deletedImages = new Set(
      before.images.map((i) => i.id).filter(gone(new Set(afterImages.keys())))
    );
    for (const img of before.images) {
      const left = afterImages.get(img.id)?.tags ?? [];
      for (const ref of img.tags.filter((t) => !left.includes(t))) {
        const selected = imagePatterns.some((p) => p !== undefined && matchesReference(p, ref));
        if (!selected)
          problems.push(`removed ${ref}, which ${JSON.stringify(value)} does not select`);
        if (literal && !patterns.some((p) => literallySelects(p, ref))) {
          problems.push(`removed ${ref}, which no literal pattern of ${JSON.stringify(value)} is`);
        }
      }
      if (deletedImages.has(img.id) && img.tags.length === 0) {
        problems.push(`deleted ${img.id}, which had no tag (the fixture has no dangling image)`);
      }
    }
    for (const c of before.containers.filter((x) => !afterContainers.has(x.id))) {
      const selected = namePatterns.some((p) => p?.match(c.name));
      if (!selected && !deletedImages.has(c.image)) {
        problems.push(`removed container ${c.name}: not selected and its image stays`);
      }
      if (literal && name === 'containers' && !patterns.includes(c.name)) {
        problems.push(`removed container ${c.name}, which no literal pattern names`);
      }
    }
    if (
      !after.containers.some((c) => c.id === fixture.running.container && c.state === 'running')
    ) {
      problems.push('the running container canary-run is no longer running');
    }
    if (!afterImages.has(fixture.running.image)) problems.push('the image of canary-run went');
    return problems;
  }

  it('honours the longest engine-timeout it accepts without Node timer warnings', async () => {
    // Node timers hold at most 2^31-1 ms (about 24.8 days); dockerode sets engine-timeout on every
    // request's socket. Longer values are refused by name; the longest accepted one must not spill
    // warnings into the log.
    expect(() => getSettings((n) => (n === 'engine-timeout' ? '4w' : ''))).toThrow(
      /Input "engine-timeout".*at most 24d/
    );
    const value = '24d';
    expect(getSettings((n) => (n === 'engine-timeout' ? value : '')).engineTimeoutMs).toBe(
      24 * 24 * 3_600_000
    );
    const run = await runAction({
      inputs: { 'engine-timeout': value },
      env: { DOCKER_HOST: engine.host },
      node: node24,
      tmpDir: engine.dir
    });
    await run.cleanup();
    expect(run.code).toBe(0);
    const warnings = run.stderr.split('\n').filter((l) => /Warning/.test(l));
    expect({ count: warnings.length, first: warnings[0] }).toEqual({ count: 0, first: undefined });
  });

  // `    at fn (/path/file.js:1:2)`, `    at file:///path/file.js:1:2`, `    at node:events:1:2`
  const STACK_FRAME = /^\s*at\s+(?:.*[\s(])?(?:file:\/\/|node:|\/)[^\s()]*:\d+(?::\d+)?\)?\s*$/;
  const COMMANDS = /^::(error|warning|notice|debug|group|endgroup)\b[^:]*::/;

  it('accepts each value with its meaning or refuses it by name, and runs nothing', async () => {
    let runs = 0;
    let accepted = 0;
    let notRun = 0;
    let changed = 0;
    const notes: string[] = [];
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ name, value }) => {
        const why = unsafeToRun(name, value);
        if (why !== undefined) {
          notRun++;
          notes.push(`${name}=${JSON.stringify(value).slice(0, 80)} not run: ${why}`);
          return;
        }
        const before = await inventory(engine);
        const run = await runAction({
          inputs: { [name]: value },
          env: { DOCKER_HOST: engine.host },
          node: node24,
          tmpDir: engine.dir,
          timeoutMs: 120_000
        });
        const after = await inventory(engine);
        await run.cleanup();
        runs++;
        const problems: string[] = [];
        const lines = `${run.stdout}\n${run.stderr}`.split(/\r?\n|%0A|%0D/);
        const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
        if (run.code === 0) {
          accepted++;
          problems.push(...removalProblems(name, value, before, after));
          // Whatever it planned, the engine accepted: no refusal, nothing blocked.
          const kept = (run.report as { outcome?: { skipped?: Skip[] } } | undefined)?.outcome
            ?.skipped;
          const failures = kept?.filter((k) => isFailure(k.reason)).length;
          if (failures !== 0) problems.push(`the report counts ${failures} failed steps`);
        } else {
          // docker-host: a well-formed address of an engine that is not there fails when connecting,
          // with a message that names the input rather than starting with it.
          const named = errors.some(
            (l) =>
              l.startsWith(`::error::${byName(name)}`) ||
              (name === 'docker-host' && l.includes('docker-host input'))
          );
          if (run.code !== 1 || !named) {
            problems.push(`exit ${run.code} without an ::error:: that names ${byName(name)}`);
          }
          if (JSON.stringify(state(after)) !== JSON.stringify(state(before))) {
            problems.push('refused, but the engine changed');
          }
        }
        const frames = lines.filter((l) => STACK_FRAME.test(l));
        if (frames.length)
          problems.push(`stack frames in the output: ${frames.slice(0, 3).join(' | ')}`);
        if (/stopped unexpectedly/.test(run.stdout)) problems.push('stopped unexpectedly');
        const commands = run.stdout.split('\n').filter((l) => l.startsWith('::'));
        for (const l of commands) {
          if (!COMMANDS.test(l) || /^::\w+::INJECTED/.test(l)) {
            problems.push(`a workflow command the action did not mean: ${l.slice(0, 120)}`);
          }
        }
        if (existsSync(MARKER)) problems.push(`${MARKER} was created`);
        if (!pwnedBefore && existsSync(PWNED)) problems.push(`${PWNED} was created`);
        if (!existsSync(VICTIM)) problems.push(`${VICTIM} was removed`);
        if (problems.length) {
          throw new Error(
            `${name}=${JSON.stringify(value).slice(0, 300)}:\n${problems.join('\n')}\n` +
              `exit ${run.code}\n${errors.join('\n')}\nstderr: ${run.stderr.slice(0, 2000)}`
          );
        }
        if (JSON.stringify(state(after)) !== JSON.stringify(state(before))) {
          changed++;
          await reset();
          fixture = await makeFixture();
        }
      }),
      {
        numRuns: Number(process.env.FC_RUNS ?? 40),
        endOnFailure: process.env.FC_SHRINK !== '1',
        ...replay,
        // The classic payloads, every time, on top of the random ones.
        examples: [
          [{ name: 'images', value: `$(touch ${MARKER})` }],
          [{ name: 'containers', value: `fz-*; rm -rf ${VICTIM}` }],
          [{ name: 'exclude', value: `\`touch ${MARKER}\`` }],
          [{ name: 'images', value: '**' }],
          [{ name: 'images', value: '!canary/**' }],
          [{ name: 'images', value: '# fz/app\nfz/app:2' }],
          [{ name: 'containers', value: 'x'.repeat(10_000) }],
          [{ name: 'older-than', value: '../1d' }],
          [{ name: 'docker-host', value: 'unix:///nonexistent/$(touch${IFS}/tmp/pwned)' }],
          [{ name: 'engine-timeout', value: '1s;touch /tmp/pwned' }]
        ]
      }
    );
    console.log(
      `${runs} runs of the bundled action (${accepted} accepted, ${changed} removed something), ` +
        `${notRun} values checked in-process only` +
        (notes.length ? `:\n${notes.join('\n')}` : '')
    );
    expect(runs).toBeGreaterThan(0);
  }, 900_000);
});
