// The space parts of the job summary: headline, until-free, footnotes, the chart, and ages.
import { describe, it, expect } from '@jest/globals';
import type {
  ContainerId,
  ImageId,
  Outcome,
  PlannedImage,
  Reference,
  SpaceReport
} from '../../src/plan/types.js';
import { formatAge } from '../../src/report/age.js';
import {
  mermaidLabel,
  renderPie,
  chartRepository,
  spaceSlices,
  type Slice
} from '../../src/report/chart.js';
import { renderSummary } from '../../src/report/summary.js';
import { outcome } from '../../__fixtures__/outcome.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-11-27T12:00:00Z');
const GB = 1e9;

const imageId = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as ImageId;
const containerId = (n: number) => n.toString(16).padStart(64, 'c') as ContainerId;

function planned(n: number, refs: string[], freedBytes: number): PlannedImage {
  return {
    id: imageId(n),
    references: refs as Reference[],
    size: freedBytes + 1_000,
    basisTime: NOW - 10 * DAY,
    basis: 'last-used',
    ageRecord: { kind: 'tag-time' },
    prunedParent: false,
    freedBytes
  };
}

/** 41 images, 63 tags, 7 containers: the example the issue gives. */
const big = outcome({
  deletedImages: Array.from({ length: 41 }, (_, i) =>
    planned(i + 1, [`app-${i % 5}:${i}`], 70_000_000)
  ),
  untagged: Array.from({ length: 63 }, (_, i) => `app:${i}` as Reference),
  removedContainers: Array.from({ length: 7 }, (_, i) => ({
    id: containerId(i),
    name: `job-${i}`,
    image: imageId(1),
    sizeRw: 10_000_000
  }))
});

const disk = { path: '/var/lib/docker', totalBytes: 84 * GB, freeBefore: 12.1 * GB };
const real: SpaceReport = {
  predictedBytes: 3.2 * GB,
  predictionExact: true,
  measuredBytes: 3.2 * GB,
  measuredFrom: 'delete-responses',
  disk: { ...disk, freeAfter: 15.3 * GB },
  elapsedMs: 4_200
};
const ctx = (space: SpaceReport, dryRun?: boolean) => ({
  address: 'unix:///var/run/docker.sock',
  now: NOW,
  space,
  ...(dryRun === undefined ? {} : { dryRun })
});
const line = (md: string, start: string) => md.split('\n').find((l) => l.startsWith(start));

describe('the headline', () => {
  it('a real run: measured, predicted, counts, free disk before and after, time', () => {
    expect(line(renderSummary(big, ctx(real)), '**')).toBe(
      '**Reclaimed 3.2 GB (predicted 3.2 GB)** · 41 images · 63 tags · 7 containers · free disk 12.1 GB → 15.3 GB in 4.2 s'
    );
  });

  it('reads as plain text "Reclaimed X (predicted Y)", whatever the emphasis', () => {
    expect(renderSummary(big, ctx(real)).replace(/\*\*/g, '')).toMatch(
      /\nReclaimed [\d.]+ [kMG]?B \(predicted [\d.]+ [kMG]?B\) · /
    );
  });

  it('shows both figures when the measurement and the prediction differ', () => {
    const md = renderSummary(big, ctx({ ...real, measuredBytes: 2.9 * GB }));
    expect(line(md, '**')).toMatch(/^\*\*Reclaimed 2\.9 GB \(predicted 3\.2 GB\)\*\* · /);
  });

  it('a dry run: the prediction, and the free disk it predicts', () => {
    const space = { predictedBytes: 3.2 * GB, predictionExact: true, disk, elapsedMs: 4_200 };
    expect(line(renderSummary({ ...big, dryRun: true }, ctx(space)), '**')).toBe(
      '**Would reclaim 3.2 GB** · 41 images · 63 tags · 7 containers · free disk 12.1 GB → 15.3 GB predicted (planned in 4.2 s)'
    );
  });

  it('leaves out the free disk when the engine is not on this machine', () => {
    const space = { ...real, disk: undefined };
    const head = line(renderSummary(big, ctx(space)), '**');
    expect(head).not.toContain('free disk');
    expect(head).toMatch(/ · 7 containers in 4\.2 s$/);
  });

  it('a real run without a free-after figure predicts it', () => {
    const md = renderSummary(big, ctx({ ...real, disk }));
    expect(line(md, '**')).toContain(' · free disk 12.1 GB → 15.3 GB predicted in 4.2 s');
  });

  it('a real run that measured nothing says the figure is the prediction', () => {
    const space = { ...real, measuredBytes: undefined, measuredFrom: undefined };
    expect(line(renderSummary(big, ctx(space)), '**')).toMatch(
      /^\*\*Reclaimed 3\.2 GB \(predicted; not measured\)\*\* · /
    );
  });

  it('an inexact prediction gets ≈ and a footnote that says why', () => {
    const md = renderSummary(big, ctx({ ...real, predictionExact: false }));
    expect(line(md, '**')).toMatch(/^\*\*Reclaimed 3\.2 GB \(predicted ≈3\.2 GB\)\*\* · /);
    expect(md).toContain(
      '\n≈ The engine did not report the size of every layer that goes, so the prediction counts those layers as 0 and the real figure may be higher.\n'
    );
    const dry = renderSummary(
      { ...big, dryRun: true },
      ctx({ predictedBytes: GB, predictionExact: false, disk, elapsedMs: 1 })
    );
    expect(line(dry, '**')).toMatch(/^\*\*Would reclaim ≈1\.0 GB\*\* · .* → ≈13\.1 GB predicted /);
    expect(dry).toContain('\n≈ The engine did not report');
    expect(renderSummary(big, ctx(real))).not.toContain('≈');
  });

  it('says how the run was measured, and what docker system df saw when it differs', () => {
    const measured =
      "Measured: the layers the engine reported deleting, plus the removed containers' writable layers.";
    expect(renderSummary(big, ctx(real))).toContain(`\n${measured}\n`);
    expect(renderSummary(big, ctx({ ...real, systemDfBytes: 3.2 * GB }))).not.toContain(
      'system df'
    );
    expect(renderSummary(big, ctx({ ...real, systemDfBytes: 3.5 * GB }))).toContain(
      `\n${measured} By docker system df, the engine's disk usage fell by 3.5 GB over the run (that also counts anything else the engine did meanwhile).\n`
    );
    expect(
      renderSummary(
        big,
        ctx({ ...real, measuredFrom: 'system-df', measuredBytes: -GB, systemDfBytes: -GB })
      )
    ).toContain("\nMeasured: the drop in the engine's disk usage (docker system df).\n");
    expect(renderSummary(big, ctx({ ...real, systemDfBytes: -2 * GB }))).toContain(
      "the engine's disk usage grew by 2.0 GB over the run"
    );
    // A dry run measures nothing, so it says nothing about measuring.
    expect(
      renderSummary({ ...big, dryRun: true }, ctx({ ...real, systemDfBytes: GB }))
    ).not.toMatch(/Measured|system df/);
  });

  it('takes longer runs in minutes', () => {
    expect(line(renderSummary(big, ctx({ ...real, elapsedMs: 185_000 })), '**')).toMatch(
      / in 3m 5s$/
    );
  });
});

describe('until-free', () => {
  const target = { targetBytes: 20 * GB, freeBytes: 12.1 * GB };

  it('names the target and how many least recently used images reach it', () => {
    const space = { ...real, predictedBytes: 9.2 * GB, target };
    expect(renderSummary(big, ctx(space))).toContain(
      '\n**until-free: 20.0 GB free.** Took the 41 least recently used images needed to reach it (predicted free afterwards: 21.3 GB).\n'
    );
    expect(renderSummary({ ...big, dryRun: true }, ctx(space))).toContain(
      '** Would take the 41 least recently used images needed'
    );
    const one = outcome({ deletedImages: [planned(1, ['a:1'], GB)] });
    expect(renderSummary(one, ctx(space))).toContain('Took the least recently used image needed');
  });

  it('says when the disk already had the target free', () => {
    const space = {
      ...real,
      predictedBytes: 0,
      target: { targetBytes: 20 * GB, freeBytes: 25.1 * GB }
    };
    expect(renderSummary(outcome(), ctx(space))).toContain(
      '\n**until-free: 20.0 GB free.** The disk already had 25.1 GB free: nothing removed.\n'
    );
    expect(renderSummary(outcome({ dryRun: true }), ctx(space))).toContain(
      'already had 25.1 GB free: nothing to remove.'
    );
  });

  it('says by how much the target is missed when every candidate is not enough', () => {
    // 12.1 GB free and 3.2 GB predicted to go.
    const space = { ...real, target };
    expect(renderSummary(big, ctx(space))).toContain(
      '\n**until-free: 20.0 GB free.** Every candidate together frees only 3.2 GB; the target is short by 4.7 GB.\n'
    );
  });

  it('says when unknown layer sizes were counted at most, so the disk may end short', () => {
    const space = {
      ...real,
      predictedBytes: 9.2 * GB,
      target: { ...target, upperBound: true }
    };
    expect(renderSummary(big, ctx(space))).toContain(
      "Some layers' sizes were unknown, so until-free counted each at its image's size, an upper bound: the disk may end short of the target, and a second run takes the rest."
    );
    expect(renderSummary(big, ctx(real))).not.toContain('upper bound');
  });

  it('says nothing about until-free when it is not set', () => {
    expect(renderSummary(big, ctx(real))).not.toContain('until-free');
  });
});

describe('the chart', () => {
  const slices = (o: Partial<Outcome>, predicted: number) => spaceSlices(outcome(o), predicted);

  it('groups by the familiar repository of the first reference, largest first', () => {
    expect(
      slices(
        {
          deletedImages: [
            planned(1, ['docker.io/library/ubuntu:24.04', 'other:1'], 100),
            planned(2, ['ubuntu@sha256:' + 'a'.repeat(64)], 50),
            planned(3, ['localhost:5000/x/y:1'], 400),
            planned(4, [], 30),
            planned(5, [], 20),
            planned(6, ['gone:1'], 0)
          ]
        },
        600
      )
    ).toEqual([
      { label: 'localhost:5000/x/y', bytes: 400 },
      { label: 'ubuntu', bytes: 150 },
      { label: '<none>', bytes: 50 }
    ]);
    expect(chartRepository(['localhost/acme/app:1'])).toBe('acme/app');
    expect(chartRepository([])).toBe('<none>');
  });

  it('keeps the 8 largest repositories and puts the rest in one slice; 9 fit as they are', () => {
    const images = (n: number) =>
      Array.from({ length: n }, (_, i) => planned(i + 1, [`r${i}:1`], 1000 - i));
    const ten = slices({ deletedImages: images(10) }, 0);
    expect(ten.map((s) => s.label)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `r${i}`),
      'other (2 repositories)'
    ]);
    expect(ten.at(-1)?.bytes).toBe(992 + 991);
    expect(slices({ deletedImages: images(9) }, 0).map((s) => s.label)).toEqual(
      Array.from({ length: 9 }, (_, i) => `r${i}`)
    );
  });

  it('adds the containers and the shared layers, never a negative slice', () => {
    const removedContainers = [
      { id: containerId(1), name: 'a', image: imageId(1), sizeRw: 7 },
      { id: containerId(2), name: 'b', image: imageId(1), sizeRw: 0 }
    ];
    const deletedImages = [planned(1, ['app:1'], 100)];
    expect(slices({ deletedImages, removedContainers }, 150)).toEqual([
      { label: 'app', bytes: 100 },
      { label: 'containers', bytes: 7 },
      { label: 'shared layers', bytes: 43 }
    ]);
    expect(slices({ deletedImages, removedContainers }, 50).map((s) => s.label)).toEqual([
      'app',
      'containers'
    ]);
  });

  it('renders a pie with sizes in the labels, and nothing when nothing is freed', () => {
    const pie: Slice[] = [
      { label: 'app', bytes: 2.5 * GB },
      { label: '<none>', bytes: 1_234_567 },
      { label: 'zero', bytes: 0.2 }
    ];
    expect(renderPie(pie)).toBe(
      '```mermaid\npie\n    "app (2.5 GB)" : 2500000000\n    "#lt;none#gt; (1.2 MB)" : 1234567\n```\n'
    );
    expect(renderPie([])).toBe('');
    expect(renderPie([{ label: 'x', bytes: 0 }])).toBe('');
    const md = renderSummary(outcome({ deletedImages: [planned(1, ['a:1'], 0)] }), ctx(real));
    expect(md).toContain('```mermaid');
    const none = renderSummary(
      outcome({ deletedImages: [planned(1, ['a:1'], 0)] }),
      ctx({ ...real, predictedBytes: 0 })
    );
    expect(none).not.toContain('mermaid');
    expect(none).not.toContain('### Where the space');
  });

  it('escapes labels: quotes, newlines, #, ;, backticks, and keeps them short', () => {
    expect(mermaidLabel('a"b\nc#d;e`f')).toBe('a#quot;b c#35;d#59;e#96;f');
    expect(mermaidLabel('#quot;')).toBe('#35;quot#59;');
    expect(mermaidLabel('```\n```')).toBe('#96;#96;#96; #96;#96;#96;');
    expect(mermaidLabel('%%{init}%% <b>&\\')).toBe('#37;#37;{init}#37;#37; #lt;b#gt;#amp;#92;');
    expect(mermaidLabel('  x\u2028\ty  ')).toBe('x y');
    const long = mermaidLabel('registry.example.com/a-very-long-team-name/and-service');
    expect(long).toBe('registry.example.com/a-very-long-team-n…');
    expect([...long]).toHaveLength(40);
    // A surrogate pair is never cut in half.
    const emoji = mermaidLabel('a'.repeat(38) + '😀😀😀');
    expect(emoji).toBe('a'.repeat(38) + '…');
  });
});

describe('table cells', () => {
  it('keep sizes and ages on one line with no-break spaces', () => {
    const md = renderSummary(big, ctx(real));
    expect(md).toContain(' | 70.0\u00a0MB | 70.0\u00a0MB | 10d (last-used) |');
    expect(md).toContain(' | 10.0\u00a0MB |\n');
    const old = outcome({
      deletedImages: [{ ...planned(1, ['a:1'], 1), basisTime: NOW - 130 * DAY }]
    });
    expect(renderSummary(old, ctx(real))).toContain(' | 4mo\u00a08d (last-used) |');
  });
});

describe('references in tables', () => {
  it('shorten a full digest as docker images shortens IDs; the outputs keep it whole', () => {
    const digest = `acme/app@sha256:${'0123456789ab'.repeat(5)}0123`;
    const odd = 'acme/app@sha256:abc';
    const md = renderSummary(
      outcome({
        deletedImages: [planned(1, ['acme/app:1', digest, odd], 5)],
        untagged: [digest, 'other@sha256:' + 'f'.repeat(64)] as Reference[]
      }),
      ctx(real)
    );
    expect(md).toContain('| acme/app:1, acme/app@sha256:0123456789ab…, acme/app@sha256:abc |');
    expect(md).toContain('\n| other@sha256:ffffffffffff… |\n');
    expect(md).not.toContain('0123456789ab0123');
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [45 * 60_000, '45m'],
    [3 * HOUR, '3h'],
    [3 * DAY + 4 * HOUR, '3d 4h'],
    [7 * DAY, '7d'],
    [45 * DAY + 5 * HOUR, '45d'],
    [60 * DAY, '60d'],
    [61 * DAY, '2mo'],
    [130 * DAY, '4mo 8d'],
    [364 * DAY, '11mo 29d'],
    [365 * DAY, '1y'],
    [(3 * 365 + 70) * DAY, '3y 2mo'],
    [-2 * HOUR, '-2h']
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
