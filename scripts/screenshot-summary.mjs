// node scripts/screenshot-summary.mjs: renders a realistic sample job summary with the real report
// code and saves a screenshot of it to docs/summary.png.
//
// 1. Transpiles src/ into .cache/screenshot-build/ (git-ignored) with scripts/transpile.mjs, and
//    imports the report code from there.
// 2. Renders a sample Outcome and SpaceReport to Markdown, and the Markdown to HTML with marked
//    (GitHub-flavoured), in a page styled like GitHub's job summary.
// 3. Draws the Mermaid chart with mermaid's standalone bundle, which `npm pack` fetches once into
//    .cache/ (no CDN is needed). Without it the chart stays a code block and the caption says so.
// 4. Takes the screenshot with headless Chromium (Debian: apt-get install chromium).
//
// Options: --out FILE (default docs/summary.png), --no-mermaid. The page and the Markdown stay in
// .cache/screenshot-build/ for a look in a browser.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Marked } from 'marked';
import { REPO_ROOT as ROOT } from '../__tests__/harness/action.mjs';
import { transpileSources } from './transpile.mjs';

const MERMAID_VERSION = '12.3.0';
const MERMAID_DIR = path.join(ROOT, '.cache', `mermaid-${MERMAID_VERSION}`);
const MERMAID_JS = path.join(MERMAID_DIR, 'mermaid.min.js');

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const OUT = path.resolve(ROOT, option('--out') ?? 'docs/summary.png');

// --- 1. The report code, transpiled as is.

const SRC = await transpileSources('screenshot-build');
const BUILD = path.dirname(SRC);
const { renderSummary } = await import(pathToFileURL(path.join(SRC, 'report', 'summary.js')).href);

// --- 2. A realistic sample: a self-hosted runner's nightly cleanup with until-free.

const NOW = Date.parse('2026-11-27T03:17:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MB = 1e6;
const GB = 1e9;

let seed = 7;
const hex = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    s += (seed >> 16).toString(16).slice(-1);
  }
  return s;
};
const imageId = () => `sha256:${hex(64)}`;

const image = (references, freed, size, ageMs, over = {}) => ({
  id: imageId(),
  references,
  size,
  basisTime: NOW - ageMs,
  basis: 'last-used',
  prunedParent: false,
  freedBytes: freed,
  ...over
});

const images = [
  image(
    ['ghcr.io/acme/api:pr-1841', 'ghcr.io/acme/api:pr-1841-3f2a9c1'],
    1.42 * GB,
    2.31 * GB,
    9 * DAY + 5 * HOUR
  ),
  image(['ghcr.io/acme/api:pr-1829'], 1.38 * GB, 2.29 * GB, 16 * DAY + 2 * HOUR),
  image(['localhost:5000/ci/runner-cache:2026-08'], 890 * MB, 1.12 * GB, 3 * 30 * DAY + 9 * DAY),
  image(['acme/web:staging-2026-10-02'], 612 * MB, 988 * MB, 56 * DAY),
  image(['postgres:15.4'], 412 * MB, 425 * MB, 400 * DAY, { basis: 'created' }),
  image([], 240 * MB, 240 * MB, 97 * DAY),
  image([], 118 * MB, 530 * MB, 97 * DAY, { prunedParent: true }),
  image(
    ['python:3.10-slim', 'python@sha256:' + hex(64)],
    45 * MB,
    128 * MB,
    2 * 365 * DAY + 40 * DAY,
    {
      basis: 'created'
    }
  )
];
const containerId = () => hex(64);
const removedContainers = [
  { id: containerId(), name: 'pr-1841-db', image: images[4].id, sizeRw: 48 * MB },
  { id: containerId(), name: 'pr-1841-api', image: images[0].id, sizeRw: 12.4 * MB },
  { id: containerId(), name: 'cache-warm-0917', image: images[2].id, sizeRw: 310 * MB }
];
const keptImage = imageId();
const outcome = {
  dryRun: false,
  deletedImages: images,
  untagged: images.flatMap((i) => i.references),
  removedContainers,
  skipped: [
    {
      target: 'acme/web:staging',
      reason: { kind: 'in-use-by-running-container', container: 'web-staging', state: 'running' }
    },
    { target: 'ghcr.io/acme/api:main', reason: { kind: 'excluded', pattern: '*/*:main' } },
    { target: 'acme/web:stable', reason: { kind: 'kept-by-keep-latest', rank: 1, keep: 3 } },
    { target: 'node:22-bookworm', reason: { kind: 'free-space-target-met', targetBytes: 20 * GB } },
    { target: keptImage, reason: { kind: 'parent-of-kept-image', child: imageId() } },
    {
      target: 'acme/worker:pr-77',
      reason: {
        kind: 'removal-failed',
        status: 409,
        message:
          'conflict: unable to delete 9b1e7d3c2a60 (cannot be forced) - image is being used by running container 4c1a0e2d9b7f'
      }
    }
  ],
  removedVolumes: [],
  prunedBuildCache: [],
  results: [],
  ms: 3_100
};
const freed = images.reduce((s, i) => s + i.freedBytes, 0);
const containers = removedContainers.reduce((s, c) => s + c.sizeRw, 0);
const predicted = freed + containers + 655 * MB;
const freeBefore = 14.9 * GB;
const space = {
  predictedBytes: predicted,
  predictionExact: true,
  measuredBytes: predicted - 184 * MB,
  measuredFrom: 'delete-responses',
  systemDfBytes: predicted + 112 * MB,
  disk: {
    path: '/var/lib/docker',
    totalBytes: 145 * GB,
    freeBefore,
    freeAfter: freeBefore + predicted - 184 * MB
  },
  target: { targetBytes: 20 * GB, freeBytes: freeBefore },
  elapsedMs: 4_700
};

const markdown = renderSummary(outcome, {
  address: 'unix:///var/run/docker.sock',
  now: NOW,
  space
});
fs.writeFileSync(path.join(BUILD, 'summary.md'), markdown);

// --- 3. Markdown to a page that looks like a job summary.

function mermaidBundle() {
  if (args.includes('--no-mermaid')) return undefined;
  if (fs.existsSync(MERMAID_JS)) return MERMAID_JS;
  fs.mkdirSync(MERMAID_DIR, { recursive: true });
  console.log(`Fetching mermaid ${MERMAID_VERSION} with npm pack (once, into .cache/)…`);
  const pack = spawnSync(
    'npm',
    ['pack', `mermaid@${MERMAID_VERSION}`, '--silent', '--pack-destination', MERMAID_DIR],
    { encoding: 'utf8' }
  );
  const tgz = pack.status === 0 ? path.join(MERMAID_DIR, pack.stdout.trim().split('\n').pop()) : '';
  if (!tgz || !fs.existsSync(tgz)) {
    console.warn(`npm pack mermaid failed; the chart stays a code block.\n${pack.stderr}`);
    return undefined;
  }
  const untar = spawnSync('tar', [
    'xzf',
    tgz,
    '-C',
    MERMAID_DIR,
    '--strip-components=2',
    'package/dist/mermaid.min.js'
  ]);
  fs.rmSync(tgz, { force: true });
  return untar.status === 0 && fs.existsSync(MERMAID_JS) ? MERMAID_JS : undefined;
}

const mermaidJs = mermaidBundle();
const decodeHtml = (s) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
const escapeHtml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const ALERTS = {
  NOTE: [
    'note',
    'Note',
    'M0 8a8 8 0 1 1 16 0A8 8 0 0 1 0 8Zm8-6.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13ZM6.5 7.75A.75.75 0 0 1 7.25 7h1a.75.75 0 0 1 .75.75v2.75h.25a.75.75 0 0 1 0 1.5h-2a.75.75 0 0 1 0-1.5h.25v-2h-.25a.75.75 0 0 1-.75-.75ZM8 6a1 1 0 1 1 0-2 1 1 0 0 1 0 2Z'
  ],
  WARNING: [
    'warning',
    'Warning',
    'M6.457 1.047c.659-1.234 2.427-1.234 3.086 0l6.082 11.378A1.75 1.75 0 0 1 14.082 15H1.918a1.75 1.75 0 0 1-1.543-2.575Zm1.763.707a.25.25 0 0 0-.44 0L1.698 13.132a.25.25 0 0 0 .22.368h12.164a.25.25 0 0 0 .22-.368Zm.53 3.996v2.5a.75.75 0 0 1-1.5 0v-2.5a.75.75 0 0 1 1.5 0ZM9 11a1 1 0 1 1-2 0 1 1 0 0 1 2 0Z'
  ]
};

let body = new Marked({ gfm: true }).parse(markdown);
// GitHub draws `> [!NOTE]` and `> [!WARNING]` as alerts; marked leaves them as quotes.
body = body.replace(
  /<blockquote>\n<p>\[!(NOTE|WARNING)\]\n([\s\S]*?)<\/p>\n<\/blockquote>/g,
  (_, kind, text) => {
    const [cls, title, icon] = ALERTS[kind];
    return `<div class="alert alert-${cls}"><p class="alert-title"><svg viewBox="0 0 16 16" width="16" height="16"><path d="${icon}"></path></svg>${title}</p><p>${text}</p></div>`;
  }
);
if (mermaidJs) {
  body = body.replace(
    /<pre><code class="language-mermaid">([\s\S]*?)<\/code><\/pre>/g,
    (_, code) => `<pre class="mermaid">${escapeHtml(decodeHtml(code))}</pre>`
  );
}
const caption = mermaidJs
  ? `Sample summary rendered offline: the Markdown with marked (GFM), the chart with Mermaid ${MERMAID_VERSION}. GitHub's own rendering differs in detail.`
  : 'Sample summary rendered offline with marked (GFM). The Mermaid chart is shown as its code block here; GitHub draws it as a pie chart.';

const CSS = `
  * { box-sizing: border-box; }
  body { margin: 0; background: #f6f8fa; color: #1f2328;
    font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
  .frame { margin: 16px; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
  .frame-head { padding: 10px 16px; border-bottom: 1px solid #d1d9e0; color: #59636e; font-size: 12px; }
  .markdown-body { padding: 8px 24px 16px; font-size: 14px; }
  .markdown-body h2 { font-size: 1.5em; font-weight: 600; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; margin: 16px 0; }
  .markdown-body h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
  .markdown-body p, .markdown-body table, .markdown-body pre, .markdown-body details, .markdown-body .alert { margin: 0 0 16px; }
  .markdown-body table { border-spacing: 0; border-collapse: collapse; display: block; width: max-content; max-width: 100%; overflow: auto; font-variant-numeric: tabular-nums; }
  .markdown-body th { font-weight: 600; }
  .markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
  .markdown-body tr { background: #fff; border-top: 1px solid #d1d9e0b3; }
  .markdown-body tr:nth-child(2n) { background: #f6f8fa; }
  .markdown-body pre { padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; background: #f6f8fa; border-radius: 6px;
    font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
  .markdown-body pre.mermaid { background: none; padding: 0; text-align: left; }
  /* Smaller than Mermaid draws it by default, so that the whole sample fits the screenshot. */
  .markdown-body pre.mermaid svg { max-height: 330px; }
  .markdown-body summary { cursor: pointer; }
  .alert { padding: 8px 16px; border-left: .25em solid; }
  .alert p { margin: 0; }
  .alert-title { display: flex; align-items: center; gap: 8px; font-weight: 500; }
  .alert-title svg { fill: currentColor; }
  .alert-note { border-color: #0969da; } .alert-note .alert-title { color: #0969da; }
  .alert-warning { border-color: #9a6700; } .alert-warning .alert-title { color: #9a6700; }
`;

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>docker-reclaim job summary</title>
<style>${CSS}</style></head>
<body>
<div class="frame"><div class="frame-head">${escapeHtml(caption)}</div>
<div class="markdown-body">
${body}
</div></div>
${
  mermaidJs
    ? `<script src="${pathToFileURL(mermaidJs).href}"></script>
<script>mermaid.initialize({ startOnLoad: true, theme: 'default', pie: { textPosition: 0.7 } });</script>`
    : ''
}
</body></html>
`;
const htmlFile = path.join(BUILD, 'summary.html');
fs.writeFileSync(htmlFile, page);

// --- 4. The screenshot.

fs.mkdirSync(path.dirname(OUT), { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'reclaim-chromium-'));
try {
  const shot = spawnSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      // Lets Mermaid finish drawing (it renders asynchronously) before the picture is taken.
      '--virtual-time-budget=10000',
      `--screenshot=${OUT}`,
      '--window-size=1100,1600',
      pathToFileURL(htmlFile).href
    ],
    { encoding: 'utf8', timeout: 120_000 }
  );
  if (shot.status !== 0 || !fs.existsSync(OUT)) {
    throw new Error(`chromium failed (${shot.status ?? shot.signal}):\n${shot.stderr}`);
  }
} finally {
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`Wrote ${path.relative(ROOT, OUT)} (page: ${path.relative(ROOT, htmlFile)})`);
