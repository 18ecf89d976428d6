// The job summary as GitHub shows it: rendered by a GitHub-flavoured Markdown renderer (marked),
// then read back as HTML, so a table that does not parse or an escape that leaks shows up here.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { Marked, type Token, type Tokens } from 'marked';
import type {
  ContainerId,
  ImageId,
  PlannedImage,
  Reference,
  Skip,
  SpaceReport
} from '../../src/plan/types.js';
import { shortId } from '../../src/report/reason.js';
import { renderSummary, SUMMARY_BUDGET } from '../../src/report/summary.js';
import { outcome } from '../../__fixtures__/outcome.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-11-27T12:00:00Z');
const GB = 1e9;
const MIB = 1024 * 1024;

const imageId = (n: number) =>
  `sha256:${n.toString(16).padStart(12, '0').padEnd(64, '0')}` as ImageId;
const containerId = (n: number) => n.toString(16).padStart(12, '0').padEnd(64, 'c') as ContainerId;

function planned(n: number, refs: string[], over: Partial<PlannedImage> = {}): PlannedImage {
  return {
    id: imageId(n),
    references: refs as Reference[],
    size: 1_500_000,
    basisTime: NOW - 3 * DAY,
    basis: 'last-used',
    ageRecord: { kind: 'tag-time' },
    prunedParent: false,
    freedBytes: 1_000_000,
    ...over
  };
}

const space: SpaceReport = {
  predictedBytes: 3.2 * GB,
  predictionExact: false,
  measuredBytes: 3.1 * GB,
  measuredFrom: 'delete-responses',
  systemDfBytes: 3.3 * GB,
  disk: {
    path: '/var/lib/docker',
    totalBytes: 84 * GB,
    freeBefore: 12.1 * GB,
    freeAfter: 15.2 * GB
  },
  target: {
    targetBytes: 15 * GB,
    freeBytes: 12.1 * GB
  },
  elapsedMs: 4_200
};
const ctx = { address: 'unix:///var/run/docker.sock', now: NOW, space };

/** One of every kind of row, with failures. */
const sample = outcome({
  deletedImages: [
    planned(1, ['ghcr.io/acme/api:pr-12', 'ghcr.io/acme/api:pr-12-abc'], { freedBytes: 1.9 * GB }),
    planned(2, ['node:20-bullseye'], {
      freedBytes: 0.8 * GB,
      basis: 'created',
      basisTime: NOW - 400 * DAY
    }),
    planned(3, [], { freedBytes: 0.3 * GB, prunedParent: true })
  ],
  untagged: [
    'ghcr.io/acme/api:pr-12',
    'ghcr.io/acme/api:pr-12-abc',
    'node:20-bullseye',
    'web:old'
  ] as Reference[],
  removedContainers: [
    { id: containerId(7), name: 'pr-12-db', image: imageId(1), sizeRw: 50_000_000 }
  ],
  skipped: [
    { target: 'web:stable', reason: { kind: 'excluded', pattern: 'web:stable' } },
    { target: imageId(9), reason: { kind: 'parent-of-kept-image', child: imageId(10) } },
    {
      target: 'app:3',
      reason: { kind: 'removal-failed', status: 409, message: 'conflict: <b>busy</b>' }
    }
  ]
});

// --- Reading the rendered HTML back.

const gfm = new Marked({ gfm: true });

/** Elements our Markdown may produce. GitHub's alerts arrive here as plain blockquotes. */
const ALLOWED = new Set([
  'h2',
  'h3',
  'p',
  'strong',
  'blockquote',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'details',
  'summary',
  'pre',
  'code',
  'br'
]);

const decode = (html: string) =>
  html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/**
 * GFM turns bare URLs and e-mail addresses in text into links (GitHub does too). They are not
 * markup that our text could smuggle in; anything else with a tag is.
 */
const withoutAutolinks = (html: string) =>
  html.replace(/<a href="([^"]*)">([^<]*)<\/a>/g, (all, href: string, text: string) =>
    [text, `mailto:${text}`, `http://${text}`].includes(decode(href)) ? text : all
  );

/** Pipes that split cells, as GFM counts them: not escaped by a backslash. */
function separators(line: string): number {
  let n = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '|') n++;
  }
  return n;
}

interface Rendered {
  html: string;
  tokens: Token[];
  /** Each table as rendered: header cells, then each row's cells, decoded to text. */
  tables: string[][][];
}

/** Renders `md` and checks everything that must hold for any summary. */
function renderChecked(md: string): Rendered {
  const tokens = gfm.lexer(md);
  const html = gfm.parser(gfm.lexer(md));

  for (const t of tokens) {
    expect(['heading', 'paragraph', 'blockquote', 'table', 'code', 'html', 'space']).toContain(
      t.type
    );
  }
  // Raw HTML: only our <details> blocks, each wrapping exactly one table.
  const blocks = tokens.filter((t) => t.type !== 'space');
  blocks.forEach((t, i) => {
    if (t.type !== 'html') return;
    const raw = t.raw.trim();
    if (raw === '</details>') {
      expect(blocks[i - 2]?.raw).toMatch(/^<details><summary>/);
      return;
    }
    expect(raw).toMatch(/^<details><summary>[^<>]*<\/summary>$/);
    expect(blocks[i + 1]?.type).toBe('table');
    expect(blocks[i + 2]?.raw.trim()).toBe('</details>');
  });
  // Code: at most the one chart.
  const code = tokens.filter((t): t is Tokens.Code => t.type === 'code');
  expect(code.length).toBeLessThanOrEqual(1);
  for (const c of code) {
    expect(c.lang).toBe('mermaid');
    expect(c.text).toMatch(/^pie\n( {4}"[^"\n]*" : \d+\n)*( {4}"[^"\n]*" : \d+)$/);
  }
  // A table that failed to parse ends up as a paragraph full of pipes.
  const paragraphs = tokens.flatMap((t) =>
    t.type === 'blockquote' ? (t as Tokens.Blockquote).tokens : [t]
  );
  for (const p of paragraphs) if (p.type === 'paragraph') expect(p.raw).not.toContain('|');
  // Every line of every table has as many cells as its header: no row split or widened.
  const tableTokens = tokens.filter((t): t is Tokens.Table => t.type === 'table');
  for (const t of tableTokens) {
    const lines = t.raw.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + t.rows.length);
    for (const line of lines) expect(separators(line)).toBe(t.header.length + 1);
  }

  // Only the elements we write; table cells hold text only. (Plain checks collected into one
  // expect: the 20,000-image summary has a few hundred thousand tags and cells.)
  const outside = withoutAutolinks(
    html.replace(/<pre><code class="language-mermaid">[\s\S]*?<\/code><\/pre>/g, '')
  );
  const stray = new Set<string>();
  for (const m of outside.matchAll(/<\/?([a-zA-Z][\w-]*)/g)) {
    if (!ALLOWED.has(m[1]!.toLowerCase())) stray.add(m.input.slice(m.index, m.index + 80));
  }
  const tables = [...outside.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((t) =>
    [...t[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
      [...r[1]!.matchAll(/<t[dh](?: align="\w+")?>([\s\S]*?)<\/t[dh]>/g)].map((c) => {
        if (/[<>]/.test(c[1]!)) stray.add(`cell ${c[1]!.slice(0, 80)}`);
        // Sizes and ages keep their parts together with no-break spaces; read them as spaces.
        return decode(c[1]!).replace(/\u00a0/g, ' ');
      })
    )
  );
  expect([...stray]).toEqual([]);
  expect(tables).toHaveLength(tableTokens.length);
  return { html, tokens, tables };
}

const shape = (tables: string[][][]) => tables.map((t) => [t[0]!.length, t.length - 1]);

describe('the summary rendered as GitHub-flavoured Markdown', () => {
  it('a real run: headline, until-free, notes, alerts, chart, tables and the kept block', () => {
    const { html, tables } = renderChecked(renderSummary(sample, ctx));
    expect(html).toContain(
      '<p><strong>Reclaimed 3.1 GB (predicted ≈3.2 GB)</strong> · 3 images · 4 tags · 1 container · free disk 12.1 GB → 15.2 GB in 4.2 s</p>'
    );
    expect(html).toContain('<p><strong>until-free: 15.0 GB free.</strong> Took the 3 least');
    expect(html).toContain('<p>≈ The engine did not report');
    expect(html).toContain('By docker system df, the engine&#39;s disk usage fell by 3.3 GB');
    expect(html).toMatch(/<blockquote>\n<p>\[!WARNING\]\n1 step failed/);
    expect(html).toContain('<pre><code class="language-mermaid">pie\n');
    expect(html).toContain('    &quot;ghcr.io/acme/api (1.9 GB)&quot; : 1900000000\n');
    expect(html).toContain('<details><summary>Kept: 2 items</summary><table>');
    // Deleted images, containers, tags off images that stay, failures, kept.
    expect(shape(tables)).toEqual([
      [5, 3],
      [4, 1],
      [1, 1],
      [2, 1],
      [2, 2]
    ]);
    expect(tables[0]).toEqual([
      ['Image', 'References', 'Frees', 'Size', 'Age'],
      [
        shortId(imageId(1)),
        'ghcr.io/acme/api:pr-12, ghcr.io/acme/api:pr-12-abc',
        '1.9 GB',
        '1.5 MB',
        '3d (last-used)'
      ],
      [shortId(imageId(2)), 'node:20-bullseye', '800.0 MB', '1.5 MB', '1y 1mo (created)'],
      [shortId(imageId(3)), '<none> (untagged parent)', '300.0 MB', '1.5 MB', '3d (last-used)']
    ]);
    expect(tables[1]).toEqual([
      ['Container', 'ID', 'Image', 'Writable layer'],
      ['pr-12-db', containerId(7).slice(0, 12), shortId(imageId(1)), '50.0 MB']
    ]);
    expect(tables[3]?.[1]).toEqual(['app:3', 'removal failed (HTTP 409): conflict: <b>busy</b>']);
    expect(html.indexOf('<details>')).toBeGreaterThan(html.indexOf('Failures'));
  });

  it('a dry run: banner, prediction, and the same tables', () => {
    const dry = {
      ...space,
      measuredBytes: undefined,
      systemDfBytes: undefined,
      disk: { ...space.disk!, freeAfter: undefined }
    };
    const { html, tables } = renderChecked(
      renderSummary({ ...sample, dryRun: true }, { ...ctx, space: dry })
    );
    expect(html).toContain('<h2>docker-reclaim (dry run)</h2>');
    expect(html).toMatch(/<blockquote>\n<p>\[!NOTE\]\nDry run: nothing was removed/);
    expect(html).toContain('<p><strong>Would reclaim ≈3.2 GB</strong> · 3 images');
    expect(html).toContain('free disk 12.1 GB → ≈15.3 GB predicted (planned in 4.2 s)</p>');
    expect(shape(tables)).toEqual([
      [5, 3],
      [4, 1],
      [1, 1],
      [2, 1],
      [2, 2]
    ]);
  });

  it('hostile text reads back exactly as written, on one row, with no markup', () => {
    const hostile =
      'evil|tag\n| injected | row |\n<script>alert(1)</script>`x` *b* [l](javascript:x) \\|';
    const flat =
      'evil|tag | injected | row | <script>alert(1)</script>`x` *b* [l](javascript:x) \\|';
    const { tables, html } = renderChecked(
      renderSummary(
        outcome({
          deletedImages: [planned(1, [hostile])],
          untagged: [hostile as Reference],
          removedContainers: [{ id: containerId(1), name: hostile, image: imageId(1), sizeRw: 1 }],
          skipped: [{ target: hostile, reason: { kind: 'excluded', pattern: hostile } }]
        }),
        { ...ctx, address: hostile }
      )
    );
    expect(tables[0]?.[1]?.[1]).toBe(flat);
    expect(tables[1]?.[1]?.[0]).toBe(flat);
    expect(tables[2]?.[1]?.[0]).toBe(`${flat}`);
    expect(tables[2]?.[1]?.[1]).toBe(`excluded by pattern ${JSON.stringify(hostile)}`);
    expect(html).toContain(
      `<p>Engine ${flat.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}, data on`
    );
  });

  it('any text anywhere renders to the same tables and no markup of its own', () => {
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
      '(',
      ')',
      '_',
      '~',
      'a',
      '#',
      ':',
      ';',
      '"',
      '!',
      '-',
      '=',
      '%',
      'w',
      '.',
      '@',
      '\u2028',
      '\u0000'
    );
    const text = fc.oneof(fc.string({ unit: nasty }), fc.string({ unit: 'binary' }), fc.string());
    fc.assert(
      fc.property(text, text, text, text, (a, b, c, d) => {
        const skipped: Skip[] = [
          { target: c, reason: { kind: 'removal-failed', status: 500, message: d } },
          { target: d, reason: { kind: 'excluded', pattern: a } },
          { target: a, reason: { kind: 'still-tagged', references: [b as Reference] } }
        ];
        const { tables } = renderChecked(
          renderSummary(
            outcome({
              deletedImages: [planned(1, [a, b]), planned(2, [d], { freedBytes: 5 })],
              untagged: [c as Reference],
              removedContainers: [{ id: containerId(1), name: b, image: imageId(1), sizeRw: 9 }],
              skipped
            }),
            { ...ctx, address: d }
          )
        );
        const untagTable = c === a || c === b || c === d ? [] : [[1, 1]];
        expect(shape(tables)).toEqual([[5, 2], [4, 1], ...untagTable, [2, 1], [2, 2]]);
      }),
      { numRuns: 150 }
    );
  });

  it('stays under 1 MiB and well-formed at 20,000 images', () => {
    const n = 20_000;
    const images = Array.from({ length: n }, (_, i) =>
      planned(
        i + 1,
        [0, 1, 2].map((t) => `registry.example.com/team/service-${i % 300}:build-${i}-${t}`),
        {
          freedBytes: ((i * 7919) % n) * 1000 + 1,
          basisTime: NOW - (i % 2000) * DAY
        }
      )
    );
    const md = renderSummary(
      outcome({
        deletedImages: images,
        untagged: images.flatMap((i) => i.references),
        removedContainers: Array.from({ length: 3_000 }, (_, i) => ({
          id: containerId(i),
          name: `job-${i}`,
          image: imageId(i + 1),
          sizeRw: 1_000_000
        })),
        skipped: Array.from({ length: 2_000 }, (_, i) => ({
          target: `keep:${i}`,
          reason: { kind: 'kept-by-keep-latest', rank: 1, keep: 1 } as const
        }))
      }),
      ctx
    );
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(SUMMARY_BUDGET);
    expect(Buffer.byteLength(md)).toBeLessThan(MIB);
    const { tables, html } = renderChecked(md);
    expect(tables.map((t) => t[0]!.length)).toEqual([5, 4, 2]);
    const [imagesTable, containersTable, keptTable] = tables;
    const last = imagesTable!.at(-1)!;
    const shown = imagesTable!.length - 2;
    expect(shown).toBeGreaterThan(100);
    expect(last).toEqual([
      `… and ${(n - shown).toLocaleString('en-US')} more (full list in the report)`,
      '',
      '',
      '',
      ''
    ]);
    // The same cap for every table: the smaller ones stay whole.
    expect(shown).toBeGreaterThan(3_000);
    expect(containersTable).toHaveLength(1 + 3_000);
    expect(keptTable).toHaveLength(1 + 2_000);
    expect(html).toContain('<details><summary>Kept: 2,000 items</summary>');
    expect(html).toContain('&quot;other (292 repositories)');
    // The rows kept are the ones that free the most, largest first.
    const largest = [...images].sort((x, y) => y.freedBytes - x.freedBytes).slice(0, shown);
    expect(imagesTable!.slice(1, -1).map((r) => r[1])).toEqual(
      largest.map((i) => i.references.join(', '))
    );
  });
});
