import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  compileImagePattern,
  familiarName,
  referenceMatcher,
  splitPatterns,
  validatePattern
} from '../../src/plan/patterns.js';
import { matchesReference } from '../../__fixtures__/plan.js';

const matches = (pattern: string, ref: string) => {
  const p = compileImagePattern(pattern);
  if (!p) throw new Error(`invalid pattern ${pattern}`);
  return referenceMatcher([p])(ref) === pattern;
};

describe('splitting a pattern list', () => {
  it('splits on newlines and commas, trims, and drops empty entries', () => {
    expect(splitPatterns(' app:1 ,\n\nlib/*\r\n, ')).toEqual(['app:1', 'lib/*']);
  });
  it('keeps a comma inside braces with its glob', () => {
    expect(splitPatterns('app:{1,2},lib')).toEqual(['app:{1,2}', 'lib']);
  });
});

describe('matching references', () => {
  it.each([
    ['app', 'app:1', true],
    ['app', 'app@sha256:' + 'a'.repeat(64), true],
    ['app:1', 'app:10', false],
    ['app:1*', 'app:10', true],
    ['*', 'org/app:1', false],
    ['*/*', 'org/app:1', true],
    ['**', 'ghcr.io/org/team/app:1', true],
    ['org/**', 'org/a/b:1', true],
    ['app', 'docker.io/library/app:1', true],
    ['docker.io/library/app', 'app:1', true],
    ['org/app', 'docker.io/org/app:1', true],
    ['pod', 'localhost/pod:1', true],
    ['localhost/pod', 'localhost/pod:1', true],
    ['localhost:5000/app', 'localhost:5000/app:v1', true],
    ['localhost:5000/app:v1', 'localhost:5000/app:v2', false],
    ['app:{1,2}', 'app:2', true],
    ['app:{1,2}', 'app:3', false],
    ['app:1', 'app@sha256:' + 'a'.repeat(64), false],
    ['app@sha256:a*', 'app@sha256:' + 'a'.repeat(64), true],
    ['app@sha256:b*', 'app@sha256:' + 'a'.repeat(64), false],
    ['app@sha256:*', 'app:1', false],
    ['ap?', 'app:1', true],
    ['app', 'myapp:1', false],
    ['app', 'app2:1', false]
  ])('%s matches %s: %s', (pattern, ref, expected) => {
    expect(matches(pattern, ref)).toBe(expected);
  });

  it('names are compared as docker images shows them, without docker.io/ or localhost/', () => {
    expect(familiarName('docker.io/library/ubuntu')).toBe('ubuntu');
    expect(familiarName('docker.io/org/app')).toBe('org/app');
    expect(familiarName('localhost/x')).toBe('x');
    expect(familiarName('ghcr.io/o/x')).toBe('ghcr.io/o/x');
  });

  it('a pattern without glob characters selects only that repository (and that tag)', () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    const repo = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    fc.assert(
      fc.property(repo, segment, repo, segment, (r1, t1, r2, t2) => {
        expect(matches(`${r1}:${t1}`, `${r2}:${t2}`)).toBe(r1 === r2 && t1 === t2);
      })
    );
  });
});

describe('validating patterns', () => {
  it.each([
    ['!app', 'negation'],
    ['App', 'lowercase'],
    ['../app', '".."'],
    ['/app', 'empty'],
    ['app:', 'tag'],
    ['app@', 'digest'],
    ['app;rm -rf /', 'characters'],
    ['$(id)', 'characters'],
    ['app:{1,2', 'not closed'],
    ['a'.repeat(600), 'longer'],
    ['fz/app:1:2', 'colon'],
    ['a:b:c', 'colon'],
    ['host:port/app', 'colon'],
    ['{a,b}{c,d}{e,f}{g,h}{i,j}', 'groups']
  ])('refuses %j (%s)', (pattern, why) => {
    expect(validatePattern('image', pattern)).toContain(why);
  });

  it('accepts a registry port before the repository path', () => {
    expect(validatePattern('image', 'localhost:5000/app:1')).toBeUndefined();
    expect(validatePattern('image', 'registry.local:*/team/**')).toBeUndefined();
  });

  it('accepts container names in exclude even when they are not image names', () => {
    expect(validatePattern('exclude', 'My_Container')).toBeUndefined();
    expect(validatePattern('image', 'My_Container')).toBeDefined();
  });

  it('a container pattern cannot hold a path', () => {
    expect(validatePattern('container', 'a/b')).toBeDefined();
    expect(validatePattern('container', 'job-*')).toBeUndefined();
  });
});

describe('the memoised matcher', () => {
  it('finds the same first matching pattern as matching each pattern in turn', () => {
    const repo = fc.constantFrom(
      'app',
      'org/app',
      'docker.io/library/app',
      'localhost/app',
      'ghcr.io/o/app',
      'lib'
    );
    const tag = fc.constantFrom('1', '2', 'latest', 'v1.0');
    const ref = fc.oneof(
      fc.tuple(repo, tag).map(([r, t]) => `${r}:${t}`),
      repo.map((r) => `${r}@sha256:${'a'.repeat(64)}`)
    );
    const pattern = fc.constantFrom(
      '**',
      'app',
      'app:*',
      '*:latest',
      'org/*',
      'ghcr.io/**',
      'lib:1',
      'app@sha256:a*',
      'docker.io/library/app:{1,2}'
    );
    fc.assert(
      fc.property(
        fc.array(pattern, { maxLength: 4 }),
        fc.array(ref, { maxLength: 20 }),
        (ps, refs) => {
          const compiled = ps.map((p) => compileImagePattern(p)!);
          const memo = referenceMatcher(compiled);
          for (const r of [...refs, ...refs]) {
            expect(memo(r)).toBe(compiled.find((p) => matchesReference(p, r))?.source);
          }
        }
      )
    );
  });
});
