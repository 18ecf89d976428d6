import { describe, it, expect, afterEach } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Output } from '../../src/constants.js';
import type {
  ContainerId,
  ImageId,
  PlannedImage,
  Plan,
  Reason,
  Reference,
  SpaceReport,
  StepId
} from '../../src/plan/types.js';
import { describeReason, shortId } from '../../src/report/reason.js';
import { escapeCell, renderSummary, SUMMARY_BUDGET } from '../../src/report/summary.js';
import { outputValues, setOutputs } from '../../src/report/outputs.js';
import { jsonPieces, reportDir, writeReport } from '../../src/report/json.js';
import { outcome } from '../../__fixtures__/outcome.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-11-27T12:00:00Z');
/** Measured equals predicted; no disk, no target. */
const SPACE: SpaceReport = {
  predictedBytes: 330_005_000,
  predictionExact: true,
  measuredBytes: 330_005_000,
  measuredFrom: 'delete-responses',
  elapsedMs: 4_200
};
/** What a dry run knows: the prediction only. */
const PREDICTED_ONLY: SpaceReport = {
  predictedBytes: 330_005_000,
  predictionExact: true,
  elapsedMs: 4_200
};
const CTX = { address: 'unix:///var/run/docker.sock', now: NOW, space: SPACE };
const MIB = 1024 * 1024;

const imageId = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as ImageId;
const containerId = (n: number) => n.toString(16).padStart(64, 'c') as ContainerId;
const ref = (r: string) => r as Reference;

function planned(n: number, refs: string[], over: Partial<PlannedImage> = {}): PlannedImage {
  return {
    id: imageId(n),
    references: refs.map(ref),
    size: 1_500_000,
    basisTime: NOW - 3 * DAY - 4 * HOUR,
    basis: 'last-used',
    ageRecord: { kind: 'tag-time' },
    prunedParent: false,
    freedBytes: 1_000_000,
    ...over
  };
}

/** A representative real run: one of each kind of row. */
const sample = outcome({
  deletedImages: [
    planned(1, ['app:1', 'app@sha256:' + 'e'.repeat(64)], {
      size: 72_800_000,
      freedBytes: 70_000_000
    }),
    planned(2, [], {
      size: 5_000,
      freedBytes: 5_000,
      basis: 'created',
      basisTime: NOW - (3 * 365 + 70) * DAY
    }),
    // Larger than image 1 but frees less: the table goes by what each image frees.
    planned(3, [], { size: 300_000_000, freedBytes: 250_000_000, prunedParent: true })
  ],
  untagged: [ref('app:1'), ref('app@sha256:' + 'e'.repeat(64)), ref('web:old')],
  removedContainers: [
    { id: containerId(7), name: 'old-job', image: imageId(1), sizeRw: 2_500_000 }
  ],
  skipped: [
    { target: 'ci/keep:1', reason: { kind: 'excluded', pattern: 'ci/*' } },
    { target: imageId(9), reason: { kind: 'parent-of-kept-image', child: imageId(10) } }
  ]
});

// --- Markdown reading helpers: just enough GFM to count what a renderer would see.

/** Pipes that split cells: not preceded by an odd run of backslashes. */
function separators(line: string): number {
  let n = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '|') n++;
  }
  return n;
}

/** Consecutive lines that start with a pipe, as GFM reads tables. */
function tables(md: string): string[][] {
  const found: string[][] = [];
  let current: string[] | undefined;
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) (current ??= (found.push([]), found[found.length - 1]!)).push(line);
    else current = undefined;
  }
  return found;
}

/** The table right after `heading`, as arrays of cell texts (header row first, delimiter dropped). */
function tableAfter(md: string, heading: string): string[][] {
  const at = md.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const [table] = tables(md.slice(at));
  expect(table).toBeDefined();
  return table!
    .filter((_, i) => i !== 1)
    .map((line) =>
      line
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        // Sizes and ages keep their parts together with no-break spaces; read them as spaces.
        .map((c) => c.trim().replace(/\u00a0/g, ' '))
    );
}

/** The fenced Mermaid block, if any: its lines between the fences. */
function chartLines(md: string): string[] | undefined {
  const m = /\n```mermaid\n([\s\S]*?)\n```\n/.exec(md);
  return m?.[1]!.split('\n');
}

/** The summary without its chart, whose fence is the only Markdown code we write on purpose. */
const withoutChart = (md: string) => md.replace(/\n```mermaid\n[\s\S]*?\n```\n/, '\n');

/** A pie chart whose every label is one quoted line with only safe characters or entities. */
function expectSafeChart(md: string): void {
  const lines = chartLines(md);
  if (lines === undefined) return;
  expect(lines[0]).toBe('pie');
  expect(lines.length).toBeGreaterThan(1);
  for (const line of lines.slice(1)) {
    expect(line).toMatch(/^ {4}"(?:[^"`<>;#%&\\\p{Cc}]|#(?:quot|lt|gt|amp|\d+);)*" : [1-9]\d*$/u);
  }
}

function expectWellFormed(md: string): void {
  expectSafeChart(md);
  for (const table of tables(md)) {
    const [header = '', delimiter = ''] = table;
    expect(delimiter).toMatch(/^\|( -+:? \|)+$/);
    for (const line of table) expect(separators(line)).toBe(separators(header));
  }
}

describe('describeReason', () => {
  // A mapped type over every kind: adding a Reason kind without an example here fails `tsc`.
  const examples: { [K in Reason['kind']]: [Extract<Reason, { kind: K }>, string] } = {
    excluded: [{ kind: 'excluded', pattern: 'ci/*' }, 'excluded by pattern "ci/*"'],
    'runner-owned': [
      { kind: 'runner-owned' },
      'owned by the Actions runner (a job or service container)'
    ],
    'engine-lost': [
      { kind: 'engine-lost' },
      'not attempted: the engine stopped answering during the run'
    ],
    'free-space-target-met': [
      { kind: 'free-space-target-met', targetBytes: 20_000_000_000 },
      'not needed: the disk reaches 20.0 GB free without it (until-free)'
    ],
    'container-running': [
      { kind: 'container-running', state: 'paused' },
      'paused: only stopped containers are removed'
    ],
    'in-use-by-running-container': [
      { kind: 'in-use-by-running-container', container: 'web', state: 'running' },
      'in use by running container web (running)'
    ],
    'too-young': [
      { kind: 'too-young', ageMs: 2 * DAY + 3 * HOUR, minMs: 7 * DAY, basis: 'last-used' },
      'too young: 2d 3h old by last-used, minimum 7d'
    ],
    'kept-by-keep-latest': [
      { kind: 'kept-by-keep-latest', rank: 1, keep: 2 },
      'kept by keep-latest (#1 of 2 newest)'
    ],
    'still-tagged': [
      { kind: 'still-tagged', references: [ref('app:2'), ref('app:3')] },
      'image still tagged as app:2, app:3'
    ],
    'held-by-kept-container': [
      {
        kind: 'held-by-kept-container',
        container: 'old-job',
        because: { kind: 'excluded', pattern: 'old-*' }
      },
      'held by container old-job, which is kept: excluded by pattern "old-*"'
    ],
    'used-by-unselected-container': [
      { kind: 'used-by-unselected-container', container: 'x' },
      'used by container x, which "containers" does not select'
    ],
    'parent-of-kept-image': [
      { kind: 'parent-of-kept-image', child: `sha256:1a2b3c4d5e6f${'0'.repeat(52)}` as ImageId },
      'parent of kept image 1a2b3c4d5e6f'
    ],
    'blocked-by-failed-step': [
      { kind: 'blocked-by-failed-step', step: 'image:1a2b3c4d5e6f' },
      'not attempted: step image:1a2b3c4d5e6f failed'
    ],
    'removal-failed': [
      { kind: 'removal-failed', status: 409, message: 'conflict: unable to delete' },
      'removal failed (HTTP 409): conflict: unable to delete'
    ],
    'changed-since-plan': [
      {
        kind: 'changed-since-plan',
        message: 'app:1 now names 3f2a00000000, not the planned image 1a2b00000000: it stays'
      },
      'changed since the plan: app:1 now names 3f2a00000000, not the planned image 1a2b00000000: it stays'
    ],
    'volume-in-use': [
      { kind: 'volume-in-use', container: 'db', state: 'exited' },
      'in use by container db (exited), which stays: a volume goes only after every container that uses it'
    ],
    'cache-in-use': [{ kind: 'cache-in-use' }, 'in use by a build'],
    'existed-before-job': [
      { kind: 'existed-before-job' },
      'it was there before the job: job cleanup leaves it'
    ],
    'cache-shared': [
      { kind: 'cache-shared' },
      "shared with an image's layers: it frees nothing while that image stays, and a run after the image is gone takes it"
    ],
    'cache-parent-of-kept': [
      { kind: 'cache-parent-of-kept', child: 'wdqknphxvj9j' },
      'build cache record wdqknphxvj9j that stays was built on it'
    ],
    'cache-not-pruned': [
      { kind: 'cache-not-pruned' },
      'BuildKit kept it when asked to remove it: a build took it, or a record built on it stays'
    ],
    'internal-error': [
      { kind: 'internal-error', message: 'TypeError: x is undefined' },
      'not done: docker-reclaim failed on it (TypeError: x is undefined); please report this'
    ]
  };

  it.each(Object.entries(examples))('describes %s in one sentence', (_, [reason, text]) => {
    expect(describeReason(reason)).toBe(text);
  });

  it.each([
    [
      { kind: 'too-young', ageMs: 90 * MINUTE, minMs: DAY, basis: 'stopped' },
      'too young: stopped 1h 30m ago, minimum 1d'
    ],
    [
      { kind: 'too-young', ageMs: 3 * HOUR, minMs: DAY, basis: 'cache' },
      'too young: last used 3h ago, minimum 1d'
    ],
    [
      { kind: 'too-young', ageMs: 45 * MINUTE, minMs: HOUR, basis: 'created' },
      'too young: 45m old by created, minimum 1h'
    ],
    [
      {
        kind: 'too-young',
        ageMs: 3 * HOUR,
        minMs: DAY,
        basis: 'tagged',
        record: { kind: 'event', action: 'pull', earlierRun: false }
      },
      'too young: 3h since it was pulled (events), minimum 1d'
    ],
    [
      {
        kind: 'too-young',
        ageMs: 3 * HOUR,
        minMs: DAY,
        basis: 'tagged',
        record: { kind: 'event', action: 'load', earlierRun: true }
      },
      'too young: 3h since it was loaded (events, kept by an earlier run), minimum 1d'
    ],
    [
      {
        kind: 'too-young',
        ageMs: 2 * HOUR,
        minMs: DAY,
        basis: 'tagged',
        record: { kind: 'first-seen', earlierRun: true }
      },
      'too young: first seen by docker-reclaim 2h ago, minimum 1d'
    ],
    [
      {
        kind: 'too-young',
        ageMs: 0,
        minMs: DAY,
        basis: 'last-used',
        record: { kind: 'first-seen', earlierRun: false }
      },
      'too young: first seen by docker-reclaim just now (no record of its arrival), minimum 1d'
    ],
    [
      {
        kind: 'too-young',
        ageMs: 5 * HOUR,
        minMs: DAY,
        basis: 'tagged',
        record: { kind: 'tag-time' }
      },
      "too young: 5h since it was tagged here (the engine's tag time), minimum 1d"
    ],
    [
      {
        kind: 'too-young',
        ageMs: 5 * HOUR,
        minMs: DAY,
        basis: 'last-used',
        record: { kind: 'container', container: 'web' }
      },
      'too young: 5h since container web used it, minimum 1d'
    ],
    [{ kind: 'removal-failed', message: 'socket hang up' }, 'removal failed: socket hang up'],
    [{ kind: 'blocked-by-failed-step', step: '' }, 'not attempted: a step it depends on failed'],
    [
      { kind: 'blocked-by-failed-step', step: 'untag:app:1', changed: true },
      'not attempted: step untag:app:1 found things changed since the plan'
    ],
    [{ kind: 'excluded', pattern: 'say "hi"' }, 'excluded by pattern "say \\"hi\\""']
  ] as [Reason, string][])('also describes %j', (reason, text) => {
    expect(describeReason(reason)).toBe(text);
  });

  it('shortens image IDs the way docker images does', () => {
    expect(shortId(`sha256:${'ab'.repeat(32)}`)).toBe('abababababab');
    expect(shortId('f'.repeat(64))).toBe('ffffffffffff');
  });
});

describe('renderSummary', () => {
  it('a dry run carries a banner and says "Would reclaim"', () => {
    const md = renderSummary({ ...sample, dryRun: true }, { ...CTX, space: PREDICTED_ONLY });
    expect(md).toContain(
      '> [!NOTE]\n> Dry run: nothing was removed. This is what a real run would remove.'
    );
    expect(md).toContain(
      '\n**Would reclaim 330.0 MB** · 3 images · 2 tags · 1 container (planned in 4.2 s)\n'
    );
    expect(md).toContain('### Images that would be deleted');
    expect(md).toContain('### Containers that would be removed');
    expect(md).toContain('### Where the space would go');
    expect(md).not.toMatch(/^\*\*Reclaimed /m);
    expect(md).not.toContain('Measured');
  });

  it('ctx.dryRun, when given, decides which wording is used', () => {
    expect(renderSummary(sample, { ...CTX, dryRun: true })).toContain('**Would reclaim');
    expect(renderSummary({ ...sample, dryRun: true }, { ...CTX, dryRun: false })).toContain(
      '**Reclaimed'
    );
  });

  it('a real run has no banner and states what was done in one headline', () => {
    const md = renderSummary(sample, CTX);
    expect(md).not.toContain('Dry run');
    expect(md).toContain(
      '\n**Reclaimed 330.0 MB (predicted 330.0 MB)** · 3 images · 2 tags · 1 container in 4.2 s\n'
    );
    expect(md).not.toContain('[!WARNING]');
    expect(md).toContain('### Where the space went');
  });

  it('lists deleted images by bytes freed with short ID, references, sizes and aged basis', () => {
    const rows = tableAfter(renderSummary(sample, CTX), '### Deleted images');
    expect(rows).toEqual([
      ['Image', 'References', 'Frees', 'Size', 'Age'],
      [
        shortId(imageId(3)),
        '&lt;none&gt; (untagged parent)',
        '250.0 MB',
        '300.0 MB',
        '3d 4h (last-used)'
      ],
      [
        shortId(imageId(1)),
        `app:1, app@sha256:${'e'.repeat(12)}…`,
        '70.0 MB',
        '72.8 MB',
        '3d 4h (last-used)'
      ],
      [shortId(imageId(2)), '&lt;none&gt;', '5.0 kB', '5.0 kB', '3y 2mo (created)']
    ]);
  });

  it('lists removed containers by name, short ID, image and writable layer', () => {
    const rows = tableAfter(renderSummary(sample, CTX), '### Removed containers');
    expect(rows).toEqual([
      ['Container', 'ID', 'Image', 'Writable layer'],
      ['old-job', containerId(7).slice(0, 12), shortId(imageId(1)), '2.5 MB']
    ]);
  });

  it('shows tags removed from images that stay, which the image table cannot', () => {
    const rows = tableAfter(renderSummary(sample, CTX), '### Tags removed from images that stay');
    expect(rows).toEqual([['Reference'], ['web:old']]);
  });

  it('puts what was kept, and why, in a collapsed block', () => {
    const md = renderSummary(sample, CTX);
    expect(md).toContain('<details><summary>Kept: 2 items</summary>\n\n| Kept | Reason |');
    expect(tableAfter(md, 'Kept: 2 items')).toEqual([
      ['Kept', 'Reason'],
      ['ci/keep:1', 'excluded by pattern "ci/\\*"'],
      [shortId(imageId(9)), `parent of kept image ${shortId(imageId(10))}`]
    ]);
    expect(md.indexOf('</details>')).toBeGreaterThan(md.indexOf('parent of kept image'));
  });

  it('raises failures above the fold, with the engine message', () => {
    const md = renderSummary(
      outcome({
        skipped: [
          { target: 'app:1', reason: { kind: 'removal-failed', status: 409, message: 'conflict' } },
          { target: imageId(1), reason: { kind: 'blocked-by-failed-step', step: 'untag:app:1' } },
          { target: 'ci/x', reason: { kind: 'excluded', pattern: 'ci/*' } }
        ]
      }),
      CTX
    );
    expect(md).toContain('> [!WARNING]\n> 2 steps failed or could not be attempted');
    expect(md.indexOf('[!WARNING]')).toBeGreaterThan(md.indexOf('**Reclaimed'));
    expect(tableAfter(md, '### Failures')).toEqual([
      ['Target', 'Reason'],
      ['app:1', 'removal failed (HTTP 409): conflict'],
      [shortId(imageId(1)), 'not attempted: step untag:app:1 failed']
    ]);
    expect(md).toContain('Kept: 1 item<');
    expect(md.indexOf('### Failures')).toBeLessThan(md.indexOf('<details>'));
  });

  it('says so in one sentence when a section is empty, instead of an empty table', () => {
    const none = { ...SPACE, predictedBytes: 0, measuredBytes: 0 };
    const md = renderSummary(outcome(), { ...CTX, space: none });
    expect(md).toContain('No images deleted.');
    expect(md).toContain('No containers removed.');
    expect(md).toContain('Nothing selected was kept.');
    expect(md).not.toContain('<details>');
    expect(md).not.toContain('### Tags removed');
    expect(md).not.toContain('### Failures');
    expect(md).not.toContain('mermaid');
    expect(tables(md)).toEqual([]);
    const dry = renderSummary(outcome({ dryRun: true }), { ...CTX, space: none });
    expect(dry).toContain('No images would be deleted.');
    expect(dry).toContain('No containers would be removed.');
  });

  it('names the engine address, the data disk and how long the removals took', () => {
    expect(renderSummary(outcome({ ms: 1234 }), CTX)).toMatch(
      /\nEngine unix:\/\/\/var\/run\/docker\.sock; the removals took 1\.2 s\.\n$/
    );
    expect(renderSummary(outcome({ ms: 3 * MINUTE + 5000 }), CTX)).toContain(
      'the removals took 3m 5s.'
    );
    const disk = { path: '/var/lib/docker', totalBytes: 84_000_000_000, freeBefore: 1 };
    expect(renderSummary(outcome({ dryRun: true }), { ...CTX, space: { ...SPACE, disk } })).toMatch(
      /\nEngine unix:\/\/\/var\/run\/docker\.sock, data on \/var\/lib\/docker \(84\.0 GB disk\)\.\n$/
    );
  });

  it('a reference with a pipe and a newline cannot break the table', () => {
    const hostile = 'evil|tag\n| injected | row |\n<script>alert(1)</script>`x`';
    const md = renderSummary(
      outcome({ deletedImages: [planned(1, [hostile])], untagged: [ref(hostile)] }),
      CTX
    );
    expectWellFormed(md);
    const rows = tableAfter(md, '### Deleted images');
    expect(rows).toHaveLength(2);
    expect(md).not.toContain('<script>');
    expect(withoutChart(md)).not.toContain('`');
    expect(chartLines(md)?.[1]).toBe(
      '    "evil|tag | injected | row | #lt;script#gt;ale… (1.0 MB)" : 1000000'
    );
  });

  it('any text in any cell keeps every row to the header’s columns and adds no HTML', () => {
    const nasty = fc.constantFrom(
      '|',
      '\\',
      '`',
      '<',
      '>',
      '&',
      '\n',
      '\r',
      ' ',
      '\t',
      '*',
      '[',
      ']',
      '_',
      '~',
      'a',
      '#',
      ':',
      '\u2028',
      '\u0000'
    );
    const text = fc.oneof(fc.string({ unit: nasty }), fc.string({ unit: 'binary' }), fc.string());
    fc.assert(
      fc.property(text, text, text, text, (a, b, c, d) => {
        const md = renderSummary(
          outcome({
            deletedImages: [planned(1, [a, b])],
            untagged: [ref(c)],
            removedContainers: [{ id: containerId(1), name: b, image: imageId(1), sizeRw: 0 }],
            skipped: [
              { target: c, reason: { kind: 'removal-failed', status: 500, message: d } },
              { target: d, reason: { kind: 'excluded', pattern: a } },
              { target: a, reason: { kind: 'still-tagged', references: [ref(b), ref(c)] } }
            ]
          }),
          { address: d, now: NOW, space: SPACE }
        );
        expectWellFormed(md);
        // Header, delimiter and exactly one line per row: no row was split by a newline.
        const untagTable = c === a || c === b ? [] : [3];
        expect(tables(md).map((t) => t.length)).toEqual([3, 3, ...untagTable, 3, 4]);
        const ours = withoutChart(md).replace(/<\/?(details|summary)>/g, '');
        expect(ours).not.toMatch(/[<`]/);
      })
    );
  });

  it('escapes leading and trailing spaces so a cell reads as it was written', () => {
    expect(escapeCell('  a b ')).toBe('&#32;&#32;a b&#32;');
  });

  it('the summary stays under 1 MiB at 20,000 deleted images and says how many more are in the report', () => {
    const n = 20_000;
    // Bytes freed distinct and out of order, and sizes in another order, so "largest first" is a
    // real check.
    const images = Array.from({ length: n }, (_, i) =>
      planned(
        i + 1,
        [0, 1, 2].map((t) => `registry.example.com/team/service-${i}:build-${t}`),
        { size: 1_000_000_000 - i, freedBytes: ((i * 7919) % n) * 1000 + 1 }
      )
    );
    const containers = Array.from({ length: 5_000 }, (_, i) => ({
      id: containerId(i),
      name: `job-${i}`,
      image: imageId(1),
      sizeRw: 1_000
    }));
    const skipped = Array.from({ length: 100 }, (_, i) => ({
      target: `keep:${i}`,
      reason: { kind: 'kept-by-keep-latest', rank: 1, keep: 1 } as Reason
    }));
    const freed = images.reduce((sum, i) => sum + i.freedBytes, 0) + 5_000 * 1_000;
    const space = { ...SPACE, predictedBytes: freed + 1e9, measuredBytes: freed + 1e9 };
    const md = renderSummary(
      outcome({ deletedImages: images, removedContainers: containers, skipped }),
      { ...CTX, space }
    );
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(SUMMARY_BUDGET);
    expect(Buffer.byteLength(md)).toBeLessThan(MIB);
    expectWellFormed(md);
    expect(md).toContain(' · 20,000 images · 0 tags · 5,000 containers ');
    // pie, 8 repositories, other, containers, shared layers.
    expect(chartLines(md)).toHaveLength(1 + 8 + 3);
    expect(md).toContain('"other (19,992 repositories) (199.8 GB)" : 199830055992\n');
    expect(md).toContain('"containers (5.0 MB)" : 5000000\n');
    expect(md).toContain('"shared layers (1.0 GB)" : 1000000000\n```\n');

    const rows = tableAfter(md, '### Deleted images').slice(1);
    const [last, ...rest] = rows.reverse();
    const shown = rest.reverse();
    expect(last?.[0]).toBe(
      `… and ${(n - shown.length).toLocaleString('en-US')} more (full list in the report)`
    );
    expect(shown.length).toBeGreaterThan(100);
    const largest = [...images].sort((x, y) => y.freedBytes - x.freedBytes).slice(0, shown.length);
    // The short IDs of these images are all alike; their references tell them apart.
    expect(shown.map((r) => r[1])).toEqual(largest.map((i) => i.references.join(', ')));

    const kept = tableAfter(md, 'Kept: 100 items').slice(1);
    expect(kept).toHaveLength(100);
    const removed = tableAfter(md, '### Removed containers').slice(1);
    expect(removed.at(-1)?.[0]).toBe(
      `… and ${(5_000 - (removed.length - 1)).toLocaleString('en-US')} more (full list in the report)`
    );
  });

  it('clips one enormous engine message instead of letting it fill the summary', () => {
    const md = renderSummary(
      outcome({
        skipped: [
          {
            target: 'app:1',
            reason: { kind: 'removal-failed', status: 500, message: 'x'.repeat(5 * MIB) }
          }
        ]
      }),
      CTX
    );
    expect(Buffer.byteLength(md)).toBeLessThan(10_000);
    expect(md).toContain('x…');
  });
});

describe('outputValues', () => {
  const values = outputValues(sample, '/tmp/r.json', {
    ...SPACE,
    predictedBytes: 330_005_000,
    measuredBytes: 329_999_872.4
  });

  it('has a value for every output the action declares, and no other', () => {
    expect(Object.keys(values).sort()).toEqual(Object.values(Output).sort());
  });

  it('writes the documented JSON shapes', () => {
    expect(JSON.parse(values[Output.DeletedImages])).toEqual([imageId(1), imageId(2), imageId(3)]);
    expect(JSON.parse(values[Output.Untagged])).toEqual([
      'app:1',
      `app@sha256:${'e'.repeat(64)}`,
      'web:old'
    ]);
    expect(JSON.parse(values[Output.RemovedContainers])).toEqual([containerId(7)]);
    expect(JSON.parse(values[Output.Skipped])).toEqual([
      { target: 'ci/keep:1', reason: 'excluded by pattern "ci/*"' },
      { target: imageId(9), reason: `parent of kept image ${shortId(imageId(10))}` }
    ]);
    expect(values[Output.Report]).toBe('/tmp/r.json');
  });

  it('writes bytes as decimal integers: measured, and predicted', () => {
    expect(values[Output.ReclaimedBytes]).toBe('329999872');
    expect(values[Output.EstimatedBytes]).toBe('330005000');
    const huge = outputValues(sample, '', { ...SPACE, predictedBytes: 2e21, measuredBytes: 0 });
    expect(huge[Output.EstimatedBytes]).toBe('2000000000000000000000');
    expect(huge[Output.ReclaimedBytes]).toBe('0');
  });

  it('reports the prediction as reclaimed in a dry run, or when nothing was measured', () => {
    const dry = outputValues({ ...sample, dryRun: true }, '', { ...SPACE, measuredBytes: 5 });
    expect(dry[Output.ReclaimedBytes]).toBe('330005000');
    const unmeasured = outputValues(sample, '', PREDICTED_ONLY);
    expect(unmeasured[Output.ReclaimedBytes]).toBe('330005000');
    expect(unmeasured[Output.EstimatedBytes]).toBe('330005000');
  });

  it('writes empty arrays, not empty strings, when nothing happened', () => {
    const empty = outputValues(outcome(), '', { ...SPACE, predictedBytes: 0, measuredBytes: 0 });
    for (const name of [
      Output.DeletedImages,
      Output.Untagged,
      Output.RemovedContainers,
      Output.Skipped
    ]) {
      expect(empty[name]).toBe('[]');
    }
  });
});

function reportData(steps: Plan['steps'] = []) {
  const plan: Plan = {
    now: NOW,
    steps,
    deleteImages: [],
    removeContainers: [],
    removeVolumes: [],
    pruneBuildCache: [],
    skipped: [],
    space: {
      bytes: 0,
      exact: true,
      containerBytes: 0,
      volumeBytes: 0,
      buildCacheBytes: 0,
      sharedBytes: 0,
      layers: []
    },
    leftovers: { anonymousVolumes: { count: 0, bytes: 0 }, namedVolumes: { count: 0, bytes: 0 } }
  };
  return {
    version: '0.1.0',
    stage: 'main' as const,
    settings: { images: ['**'] },
    inventorySize: { images: 3, containers: 1 },
    plan,
    outcome: sample,
    space: SPACE
  };
}

describe('files', () => {
  const made: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'reclaim-report-'));
    made.push(dir);
    return dir;
  };
  const saved = process.env.GITHUB_OUTPUT;
  afterEach(() => {
    made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
    if (saved === undefined) delete process.env.GITHUB_OUTPUT;
    else process.env.GITHUB_OUTPUT = saved;
  });

  it('setOutputs hands every value to the runner', () => {
    const file = join(scratch(), 'output');
    writeFileSync(file, '');
    process.env.GITHUB_OUTPUT = file;
    setOutputs(outputValues(sample, '/tmp/r.json', SPACE));
    const written = readFileSync(file, 'utf8');
    for (const name of Object.values(Output)) expect(written).toContain(`${name}<<`);
    expect(written).toContain(JSON.stringify([containerId(7)]));
  });

  it('reportDir prefers RUNNER_TEMP and falls back to the system temp directory', () => {
    expect(reportDir({ RUNNER_TEMP: '/runner/_temp' })).toBe('/runner/_temp');
    expect(reportDir({})).toBe(tmpdir());
    expect(reportDir({ RUNNER_TEMP: '' })).toBe(tmpdir());
  });

  it('writeReport creates the directory, never overwrites, and writes pretty JSON', () => {
    const dir = join(scratch(), 'nested', 'dir');
    const data = reportData();
    const first = writeReport(dir, data);
    const second = writeReport(dir, data);
    expect(first).not.toBe(second);
    expect(readdirSync(dir)).toHaveLength(2);
    expect(first.startsWith(dir)).toBe(true);
    expect(first).toMatch(new RegExp(`docker-reclaim-[0-9T.Z]+-${process.pid}(-\\d+)?\\.json$`));
    const text = readFileSync(first, 'utf8');
    expect(text).toContain('\n  "version": "0.1.0"');
    expect(JSON.parse(text)).toMatchObject({
      ...data,
      outcome: JSON.parse(JSON.stringify(sample))
    });
  });

  it('writes each step on a line of its own, across write chunks, as JSON.stringify reads', () => {
    const step = (n: number): Plan['steps'][number] => ({
      kind: 'untag',
      id: `untag:registry.example/app:${n}` as StepId,
      reference: `registry.example/app:${n}-${'x'.repeat(500)}` as Reference,
      image: `sha256:${'a'.repeat(64)}` as ImageId,
      digests: [],
      requires: { kind: 'names-image', image: `sha256:${'a'.repeat(64)}` as ImageId },
      dependsOn: []
    });
    // Over 1 MiB of steps: more than one write.
    const steps = Array.from({ length: 3000 }, (_, n) => step(n));
    const file = writeReport(scratch(), reportData(steps));
    const text = readFileSync(file, 'utf8');
    expect(text.length).toBeGreaterThan(2 ** 21);
    const lines = text.split('\n');
    expect(lines).toContain(`      ${JSON.stringify(steps[0])},`);
    expect(lines).toContain(`      ${JSON.stringify(steps[2999])}`);
    expect(JSON.parse(text).plan.steps).toEqual(steps);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('leaves no half-written report when the data cannot be written', () => {
    const dir = scratch();
    const data = reportData();
    Object.defineProperty(data.plan, 'skipped', {
      enumerable: true,
      get: () => {
        throw new Error('unreadable');
      }
    });
    expect(() => writeReport(dir, data)).toThrow('unreadable');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('jsonPieces reads as JSON.stringify does, for any JSON value and what JSON leaves out', () => {
    const leftOut = fc.constantFrom(undefined, () => 1, Symbol('s'));
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        fc.date({ noInvalidDate: true }),
        fc.array(fc.oneof(tie('any'), leftOut)),
        fc.dictionary(fc.string(), fc.oneof(tie('any'), leftOut))
      )
    })).any;
    fc.assert(
      fc.property(value, (v) => {
        expect(JSON.parse([...jsonPieces(v)].join(''))).toEqual(JSON.parse(JSON.stringify(v)));
      })
    );
  });
});
