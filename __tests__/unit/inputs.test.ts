import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { Input } from '../../src/constants.js';
import { actionDefaults as harnessDefaults } from '../harness/action.mjs';
import { getSettings, InputError, quote, type Settings } from '../../src/inputs.js';
import { splitPatterns, validatePattern } from '../../src/plan/patterns.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const names = Object.values(Input);
type Name = (typeof names)[number];

const from =
  (values: Partial<Record<Name, string>>) =>
  (name: string): string =>
    values[name as Name] ?? '';

function settings(values: Partial<Record<Name, string>>): Settings {
  return getSettings(from(values));
}

function refusal(values: Partial<Record<Name, string>>): InputError {
  try {
    settings(values);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error(`${JSON.stringify(values)} was accepted`);
}

/** Each input's default as action.yml declares it, read as the runner-like harness reads it. */
const actionDefaults = () => new Map(Object.entries(harnessDefaults()));

const DEFAULTS: Settings = {
  policy: {
    images: [],
    exclude: [],
    olderThanMs: 0,
    ageBasis: 'last-used',
    keepLatest: 0,
    dangling: true,
    containers: [],
    containersOlderThanMs: 0,
    volumes: [],
    anonymousVolumes: false
  },
  dryRun: false,
  failOnError: false,
  summary: true,
  engineTimeoutMs: 120_000,
  jobCleanup: false,
  recordUsage: false
};

describe('defaults', () => {
  it('action.yml declares a default for exactly the inputs in src/constants.ts', () => {
    expect([...actionDefaults().keys()].sort()).toEqual([...names].sort());
  });

  it('an empty input means the same as its action.yml default', () => {
    const defaults = actionDefaults();
    expect(getSettings((name) => defaults.get(name) ?? '')).toEqual(DEFAULTS);
    expect(getSettings(() => '')).toEqual(DEFAULTS);
    expect(getSettings(() => ' \n ')).toEqual(DEFAULTS);
  });

  it('an absent docker-host leaves dockerHost out rather than set to undefined', () => {
    expect('dockerHost' in settings({})).toBe(false);
  });

  it('without a reader, inputs come from the INPUT_ environment variables the runner sets', () => {
    process.env['INPUT_OLDER-THAN'] = '2w';
    try {
      expect(getSettings().policy.olderThanMs).toBe(14 * DAY);
    } finally {
      delete process.env['INPUT_OLDER-THAN'];
    }
  });
});

describe('error messages', () => {
  it('a refusal names the input, quotes the value and gives an example', () => {
    expect(refusal({ 'older-than': '7 days' }).message).toBe(
      'Input "older-than" has an invalid value "7 days": write each unit right after its number, ' +
        'such as 7d; use a duration such as 7d, 36h, 1d12h or P7D.'
    );
  });

  it.each<[Name, string, RegExp]>([
    ['older-than', 'soon', /use a duration such as 7d/],
    ['containers-older-than', 'P1Y', /no fixed length.*use a duration such as 7d/],
    ['age-basis', 'modified', /use created, tagged or last-used/],
    ['keep-latest', 'all', /use a whole number such as 0 or 3/],
    ['dangling', 'yes', /use true or false/],
    ['dry-run', 'on', /use true or false/],
    ['fail-on-error', '1', /use true or false/],
    ['summary', 'no', /use true or false/],
    ['docker-host', 'localhost:2375', /use unix:\/\/\/var\/run\/docker\.sock, tcp:\/\/host:2376/],
    ['images', 'Acme/App', /use patterns such as acme\/app:pr-\*/],
    ['exclude', 'Acme/App', /use image patterns such as .* or container names such as/],
    ['containers', 'ci/runner', /use patterns such as ci-\*/]
  ])('%s=%j is refused with an example', (name, value, example) => {
    const { message } = refusal({ [name]: value });
    expect(message.startsWith(`Input "${name}" has an invalid `)).toBe(true);
    expect(message).toContain(` ${JSON.stringify(value)}: `);
    expect(message).toMatch(example);
  });

  it('the value is quoted as a JSON string so newlines and quotes stay visible', () => {
    const { message } = refusal({ 'age-basis': 'created\n"oops"' });
    expect(message).toContain('"created\\n\\"oops\\""');
  });

  it('values longer than 80 characters are cut with an ellipsis', () => {
    const { message } = refusal({ 'keep-latest': 'x'.repeat(500) });
    expect(message).toContain(`"${'x'.repeat(80)}"…:`);
    expect(message).not.toContain('x'.repeat(81));
  });

  it('quote escapes what JSON leaves raw: line separators, C1 controls and bidi overrides', () => {
    expect(quote('a\u2028b\u0085c\u202ed')).toBe('"a\\u2028b\\u0085c\\u202ed"');
  });

  it('quote never splits a character outside the BMP', () => {
    expect(quote('😀'.repeat(100))).toBe(`"${'😀'.repeat(80)}"…`);
  });

  it('the first problem in action.yml order is the one reported', () => {
    const bad = { images: 'Bad/Image', 'older-than': 'x', 'dry-run': 'maybe', 'docker-host': 'x' };
    expect(refusal(bad).message).toMatch(/^Input "images"/);
    expect(refusal({ ...bad, images: '' }).message).toMatch(/^Input "older-than"/);
    expect(refusal({ ...bad, images: '', 'older-than': '' }).message).toMatch(/^Input "dry-run"/);
  });
});

describe('durations', () => {
  it('older-than and containers-older-than become milliseconds', () => {
    const { policy } = settings({ 'older-than': '1d12h', 'containers-older-than': 'PT36H' });
    expect(policy.olderThanMs).toBe(36 * HOUR);
    expect(policy.containersOlderThanMs).toBe(36 * HOUR);
  });

  it('an empty duration means 0, any age', () => {
    expect(settings({ 'older-than': '  ' }).policy.olderThanMs).toBe(0);
  });

  it('a duration too large for milliseconds is refused, not wrapped or rounded', () => {
    expect(refusal({ 'older-than': '99999999999w' }).message).toMatch(/too large/);
  });
});

describe('booleans follow the YAML 1.2 core schema, as core.getBooleanInput does', () => {
  const booleans = ['dangling', 'dry-run', 'fail-on-error', 'summary'] as const;
  const field = (s: Settings, name: (typeof booleans)[number]) =>
    ({
      dangling: s.policy.dangling,
      'dry-run': s.dryRun,
      'fail-on-error': s.failOnError,
      summary: s.summary
    })[name];

  it.each(booleans.flatMap((name) => ['true', 'True', 'TRUE', ' true '].map((v) => [name, v])))(
    '%s=%j is true',
    (name, value) => {
      expect(field(settings({ [name]: value }), name as (typeof booleans)[number])).toBe(true);
    }
  );

  it.each(booleans.flatMap((name) => ['false', 'False', 'FALSE'].map((v) => [name, v])))(
    '%s=%j is false',
    (name, value) => {
      expect(field(settings({ [name]: value }), name as (typeof booleans)[number])).toBe(false);
    }
  );

  it.each(['tRUE', 'yes', 'no', 'on', 'off', 'y', '1', '0', 'truthy'])(
    'YAML 1.1 and other spellings such as %j are refused',
    (value) => {
      expect(refusal({ 'dry-run': value }).message).toMatch(/^Input "dry-run".*true or false/);
    }
  );
});

describe('keep-latest is a whole number from 0 to 1,000,000', () => {
  it.each([
    ['3', 3],
    [' 3 ', 3],
    ['0', 0],
    ['007', 7],
    ['1000000', 1_000_000]
  ])('%j is %d', (value, n) => {
    expect(settings({ 'keep-latest': value }).policy.keepLatest).toBe(n);
  });

  it.each(['-1', '1.5', '1e3', '0x10', '+3', '3 tags', '١'])('%j is refused', (value) => {
    expect(refusal({ 'keep-latest': value }).message).toMatch(/^Input "keep-latest"/);
  });

  it('1000001 is refused with the limit', () => {
    expect(refusal({ 'keep-latest': '1000001' }).message).toMatch(/at most 1000000/);
  });
});

describe('age-basis', () => {
  it.each([
    ['created', 'created'],
    [' Tagged ', 'tagged'],
    ['LAST-USED', 'last-used']
  ])('%j is %s, ignoring case and surrounding space', (value, basis) => {
    expect(settings({ 'age-basis': value }).policy.ageBasis).toBe(basis);
  });

  it.each(['lastused', 'last_used', 'build', 'created,tagged'])('%j is refused', (value) => {
    expect(refusal({ 'age-basis': value }).message).toMatch(/^Input "age-basis"/);
  });
});

describe('pattern lists', () => {
  it('split on newlines and commas, trimmed, but not at commas inside braces', () => {
    const { policy } = settings({
      images: 'acme/app:pr-*, ghcr.io/acme/**\n\n  acme/{api,web}:* ',
      exclude: 'acme/base:*',
      containers: 'ci-*,build-{a,b}'
    });
    expect(policy.images).toEqual(['acme/app:pr-*', 'ghcr.io/acme/**', 'acme/{api,web}:*']);
    expect(policy.exclude).toEqual(['acme/base:*']);
    expect(policy.containers).toEqual(['ci-*', 'build-{a,b}']);
  });

  it('the refusal quotes the offending pattern, not the whole list, and gives the reason', () => {
    const { message } = refusal({ images: 'acme/ok:*\nAcme/Bad\nalso/Bad' });
    const reason = validatePattern('image', 'Acme/Bad');
    expect(reason).toBeDefined();
    expect(message).toContain(`Input "images" has an invalid pattern "Acme/Bad": ${reason}; `);
  });

  it('each list is checked as its own kind', () => {
    // A container name may have capitals; an image repository may not.
    expect(settings({ containers: 'CI-Runner' }).policy.containers).toEqual(['CI-Runner']);
    expect(refusal({ images: 'CI-Runner' }).message).toMatch(/^Input "images"/);
    // An exclude pattern protects container names too.
    expect(settings({ exclude: 'CI-Runner' }).policy.exclude).toEqual(['CI-Runner']);
  });

  it.each([
    ['images', 'image'],
    ['exclude', 'exclude'],
    ['containers', 'container']
  ] as const)(
    '%s is refused exactly when a pattern in it is invalid, naming the first one',
    (name, kind) => {
      const piece = fc.oneof(
        fc.constantFrom('acme/app:*', 'ci-*', 'Acme', '!x', '{a', 'a}', 'x@', '../x', 'a b'),
        fc.string({ maxLength: 12 })
      );
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 5 }), fc.constantFrom(',', '\n'), (list, sep) => {
          const raw = list.join(sep);
          const firstBad = splitPatterns(raw).find((p) => validatePattern(kind, p) !== undefined);
          if (firstBad === undefined) {
            expect(settings({ [name]: raw }).policy[name]).toEqual(splitPatterns(raw));
          } else {
            expect(refusal({ [name]: raw }).message).toContain(
              `Input "${name}" has an invalid pattern ${quote(firstBad)}: `
            );
          }
        })
      );
    }
  );
});

describe('docker-host', () => {
  it.each([
    'unix:///var/run/docker.sock',
    'unix:///run/user/1000/docker.sock',
    'tcp://127.0.0.1:2375',
    'tcp://docker.example.com:2376',
    'tcp://[::1]:2376',
    'npipe:////./pipe/docker_engine'
  ])('%s is accepted as is', (value) => {
    expect(settings({ 'docker-host': ` ${value} ` }).dockerHost).toBe(value);
  });

  it.each([
    ['/var/run/docker.sock', /no scheme/],
    ['unix://var/run/docker.sock', /must be absolute/],
    ['unix://', /must be absolute/],
    ['tcp://host', /tcp:\/\/host:port/],
    ['tcp://host:0', /between 1 and 65535/],
    ['tcp://host:65536', /between 1 and 65535/],
    ['tcp://host:2375/path', /tcp:\/\/host:port/],
    ['http://host:2375', /scheme "http" is not supported/],
    ['npipe://', /pipe name is missing/],
    ['ssh://me@build-host', /ssh:\/\/ is not supported: forward the engine's socket first/],
    ['ssh://-oProxyCommand=id', /ssh:\/\/ is not supported/],
    ['unix:///tmp/a b.sock', /spaces or control characters/],
    ['unix:///tmp/a\u0000.sock', /spaces or control characters/]
  ])('%j is refused because %s', (value, reason) => {
    const { message } = refusal({ 'docker-host': value });
    expect(message).toMatch(/^Input "docker-host" has an invalid value /);
    expect(message).toMatch(reason);
  });
});

describe('hostile values', () => {
  const hostile = fc.oneof(
    fc.constantFrom(
      '$(rm -rf /)',
      '`reboot`',
      '; rm -rf / #',
      '../../../etc/passwd',
      '..\\..\\windows',
      '7d\n::error::pwned',
      'true\r\n::add-mask::x',
      'a\u0000b',
      '\u202etrue',
      'x\u2028y\u2029z\u0085',
      '"quoted" \\ backslash',
      '{{{{{{{{{{',
      '${{ secrets.TOKEN }}',
      '😀'.repeat(1000),
      '\ud800',
      'é'.repeat(100_000)
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'binary-ascii', maxLength: 200 }),
    fc.string({
      unit: fc.constantFrom(
        '\n',
        '\r',
        '\u2028',
        '\u0000',
        '\x1b',
        'a',
        ',',
        '{',
        '}',
        '-',
        '7',
        'd'
      ),
      maxLength: 50
    })
  );

  it('any value given to any input either parses or is refused with an InputError that names it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), hostile, (name, value) => {
        try {
          settings({ [name]: value });
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          expect((error as Error).message.startsWith(`Input "${name}" has an invalid `)).toBe(true);
        }
      }),
      { numRuns: 500 }
    );
  });

  it('an error message is one short line: no raw newline, control or bidi character from the value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), hostile, (name, value) => {
        try {
          settings({ [name]: value });
        } catch (error) {
          const { message } = error as Error;
          // eslint-disable-next-line no-control-regex -- the characters under test
          expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
          expect(message.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 500 }
    );
  });
});

describe('engine-timeout', () => {
  const read = (value: string) => (name: string) => (name === 'engine-timeout' ? value : '');
  it('defaults to two minutes and takes any duration up to 24 days', () => {
    expect(getSettings(read('')).engineTimeoutMs).toBe(120_000);
    expect(getSettings(read('24d')).engineTimeoutMs).toBe(24 * 86_400_000);
  });
  it.each(['0', '25d', '4w', 'P52W'])('refuses %j by name', (value) => {
    expect(() => getSettings(read(value))).toThrow(/Input "engine-timeout"/);
  });
});

describe('ledger-dir', () => {
  const read = (value: string) => (name: string) => (name === 'ledger-dir' ? value : '');
  it('empty means docker-reclaim in the runner tool cache, and no ledger without one', () => {
    expect(getSettings(read(''), { RUNNER_TOOL_CACHE: '/opt/hostedtoolcache' }).ledgerDir).toBe(
      '/opt/hostedtoolcache/docker-reclaim'
    );
    expect('ledgerDir' in getSettings(read(''), {})).toBe(false);
  });
  it('a relative folder is taken from the working directory, as the runner takes paths', () => {
    expect(getSettings(read('cache/ledger'), {}).ledgerDir).toBe(`${process.cwd()}/cache/ledger`);
  });
  it('a path that names a file is refused by name, with an example', () => {
    expect(() => getSettings(read('package.json'), {})).toThrow(
      /^Input "ledger-dir" has an invalid value "package\.json": .*package\.json is a file, not a folder; use a folder such as /
    );
  });
});

describe('job-cleanup and record-usage', () => {
  const read = (values: Record<string, string>) => (name: string) => values[name] ?? '';
  it('job cleanup is off unless asked for', () => {
    expect(getSettings(read({}), {}).jobCleanup).toBe(false);
    expect(getSettings(read({ 'job-cleanup': 'true' }), {}).jobCleanup).toBe(true);
  });
  it('usage is recorded by default wherever there is a ledger, and not where there is none', () => {
    expect(getSettings(read({}), { RUNNER_TOOL_CACHE: '/opt/cache' }).recordUsage).toBe(true);
    expect(getSettings(read({ 'record-usage': 'auto' }), {}).recordUsage).toBe(false);
    expect(
      getSettings(read({ 'record-usage': 'false' }), { RUNNER_TOOL_CACHE: '/opt/cache' })
        .recordUsage
    ).toBe(false);
  });
  it('record-usage: true without a ledger is refused by name, with what to do', () => {
    expect(() => getSettings(read({ 'record-usage': 'true' }), {})).toThrow(
      /^Input "record-usage" has an invalid value "true": there is no ledger to record usage in .*set ledger-dir, or use auto\.$/
    );
  });
});
