// The job summary: GitHub-flavoured Markdown, every piece of engine or user text escaped.
import { formatDuration } from '../duration.js';
import type { Leftovers, Outcome, Skip, SpaceReport } from '../plan/types.js';
import { isTargetAlreadyMet, predictedFreeBytes } from '../plan/until-free.js';
import { truncate } from '../text.js';
import { formatAge } from './age.js';
import { formatBytes } from './bytes.js';
import { renderPie, spaceSlices } from './chart.js';
import { describeReason, failuresOf, isFailure, shortId } from './reason.js';

/** GitHub refuses a step summary over 1 MiB; stay well under it. */
export const SUMMARY_BUDGET = 900 * 1024;
/** One enormous engine message or tag list must not crowd out every other row. */
const CELL_MAX = 1000;

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '|': '&#124;',
  '`': '&#96;'
};

/**
 * Text that renders literally inside a table cell or a paragraph: no HTML, no table separator,
 * no code span, no link or emphasis, no line break. Pipes become an entity rather than `\|` so
 * that no backslash in the input can un-escape them.
 */
export function escapeCell(text: string): string {
  return truncate(text, CELL_MAX)
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/[&<>|`]/g, (c) => ENTITIES[c] ?? c)
    .replace(/[\\*_[\]~]/g, '\\$&')
    .replace(/^ +| +$/g, (spaces) => '&#32;'.repeat(spaces.length));
}

const row = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |\n`;
const formatCount = (n: number) => n.toLocaleString('en-US');
export const plural = (n: number, noun: string) => `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
const isImageId = (s: string) => /^sha256:[0-9a-f]{64}$/.test(s);
/**
 * `repo@sha256:4a7882cd7cc4…`: a digest shortened the way `docker images` shortens IDs, so that
 * one digest reference does not squeeze every other column. The outputs and the report keep it
 * whole.
 */
const showReference = (r: string) => r.replace(/(@sha256:[0-9a-f]{12})[0-9a-f]{52}$/, '$1…');
/** Keeps `1.4 GB` and `3mo 7d` on one line when a long reference squeezes the table. */
const nowrap = (s: string) => s.replace(/ /g, '\u00a0');

/** `4.2 s` under a minute, then `3m 5s`. */
function formatElapsed(ms: number): string {
  return ms < 60_000 ? `${(Math.round(ms / 100) / 10).toFixed(1)} s` : formatDuration(ms);
}

export interface SummaryContext {
  /** The engine address, shown in the footer. */
  address: string;
  /** The plan's clock: ages are measured up to it. */
  now: number;
  space: SpaceReport;
  /** Defaults to `outcome.dryRun`. */
  dryRun?: boolean;
  /** What the run leaves that an input would reclaim (the plan's). */
  leftovers?: Leftovers;
  /** Default: `docker-reclaim`. */
  heading?: string;
  /** Markdown right under the heading. */
  preface?: string;
}

interface Section {
  /** Markdown above the table, or the `<summary>` text when `collapsed`. */
  title: string;
  collapsed?: boolean;
  empty: string;
  head: string[];
  align: string[];
  rows: string[];
}

function renderSection(s: Section, cap: number): string {
  if (s.rows.length === 0) return s.empty ? `${s.empty}\n\n` : '';
  const shown = s.rows.slice(0, cap);
  const more = s.rows.length - shown.length;
  const table =
    row(s.head) +
    `| ${s.align.join(' | ')} |\n` +
    shown.join('') +
    (more > 0
      ? row([
          `… and ${formatCount(more)} more (full list in the report)`,
          ...s.head.slice(1).map(() => '')
        ])
      : '');
  // A blank line after <summary> is what makes GitHub render the Markdown inside <details>.
  return s.collapsed
    ? `<details><summary>${s.title}</summary>\n\n${table}\n</details>\n\n`
    : `${s.title}\n\n${table}\n`;
}

function skipRows(skips: Skip[]): string[] {
  return skips.map((s) =>
    row([isImageId(s.target) ? shortId(s.target) : s.target, describeReason(s.reason)])
  );
}

/** `≈` before a predicted figure that counts some layers of unknown size as 0. */
const approx = (space: SpaceReport) => (space.predictionExact ? '' : '≈');

/** The one line that says how much space went, what went, and the free disk before and after. */
function headline(outcome: Outcome, space: SpaceReport, dry: boolean): string {
  const predicted = `${approx(space)}${formatBytes(space.predictedBytes)}`;
  let amount: string;
  if (dry) amount = `**Would reclaim ${predicted}**`;
  else if (space.measuredBytes !== undefined) {
    amount = `**Reclaimed ${formatBytes(space.measuredBytes)} (predicted ${predicted})**`;
  } else amount = `**Reclaimed ${predicted} (predicted; not measured)**`;
  const parts = [
    amount,
    plural(outcome.deletedImages.length, 'image'),
    // Digest references are counted with their images and tags, not as tags of their own.
    plural(outcome.untagged.filter((r) => !r.includes('@')).length, 'tag'),
    plural(outcome.removedContainers.length, 'container')
  ];
  if (outcome.removedVolumes.length > 0)
    parts.push(plural(outcome.removedVolumes.length, 'volume'));
  if (outcome.prunedBuildCache.length > 0) {
    parts.push(plural(outcome.prunedBuildCache.length, 'build cache record'));
  }
  if (space.disk) {
    const before = formatBytes(space.disk.freeBefore);
    parts.push(
      !dry && space.disk.freeAfter !== undefined
        ? `free disk ${before} → ${formatBytes(space.disk.freeAfter)}`
        : `free disk ${before} → ${approx(space)}${formatBytes(space.disk.freeBefore + space.predictedBytes)} predicted`
    );
  }
  const time = formatElapsed(space.elapsedMs);
  return `${parts.join(' · ')}${dry ? ` (planned in ${time})` : ` in ${time}`}\n\n`;
}

/** Footnotes to the headline's figures, one paragraph each. */
function notes(space: SpaceReport, dry: boolean): string {
  const lines: string[] = [];
  if (!space.predictionExact) {
    lines.push(
      '≈ The engine did not report the size of every layer that goes, so the prediction counts those layers as 0 and the real figure may be higher.'
    );
  }
  if (!dry) {
    const measured: string[] = [];
    if (space.measuredBytes !== undefined && space.measuredFrom === 'delete-responses') {
      measured.push(
        "Measured: the layers the engine reported deleting, plus the removed containers' writable layers."
      );
    } else if (space.measuredBytes !== undefined && space.measuredFrom === 'system-df') {
      measured.push("Measured: the drop in the engine's disk usage (docker system df).");
    }
    if (space.systemDfBytes !== undefined && space.systemDfBytes !== space.measuredBytes) {
      const df = space.systemDfBytes;
      measured.push(
        `By docker system df, the engine's disk usage ${df < 0 ? 'grew' : 'fell'} by ${formatBytes(Math.abs(df))} over the run (that also counts anything else the engine did meanwhile).`
      );
    }
    if (measured.length > 0) lines.push(measured.join(' '));
  }
  return lines.map((l) => `${l}\n\n`).join('');
}

/** What until-free aimed at and how the plan got there. */
function untilFree(outcome: Outcome, space: SpaceReport, dry: boolean): string {
  const t = space.target;
  if (!t) return '';
  let text = `**until-free: ${formatBytes(t.targetBytes)} free.** `;
  const predictedFree = predictedFreeBytes(t, space.predictedBytes);
  if (isTargetAlreadyMet(t)) {
    text += `The disk already had ${formatBytes(t.freeBytes)} free: nothing ${dry ? 'to remove' : 'removed'}.`;
  } else if (predictedFree < t.targetBytes) {
    text +=
      `Every candidate together frees only ${formatBytes(space.predictedBytes)}; ` +
      `the target is short by ${formatBytes(t.targetBytes - predictedFree)}.`;
  } else {
    const n = outcome.deletedImages.length;
    text +=
      `${dry ? 'Would take' : 'Took'} the ${n === 1 ? 'least recently used image' : `${formatCount(n)} least recently used images`} ` +
      `needed to reach it (predicted free afterwards: ${formatBytes(predictedFree)}).`;
  }
  if (t.upperBound) {
    text +=
      " Some layers' sizes were unknown, so until-free counted each at its image's size, an upper bound: the disk may end short of the target, and a second run takes the rest.";
  }
  return `${text}\n\n`;
}

/**
 * What is left that an input would reclaim, measured whatever the inputs were: "Left: 2.1 GB of
 * build cache (`build-cache: 7d` would take 1.8 GB), 14 anonymous volumes (640 MB, …)".
 */
function left(l: Leftovers | undefined): string {
  if (!l) return '';
  const parts: string[] = [];
  const cache = l.buildCache;
  if (cache && cache.bytes > 0) {
    const s = cache.suggestion;
    parts.push(
      `${formatBytes(cache.bytes)} of build cache` +
        (s && s.records > 0
          ? ` (\`build-cache: ${formatDuration(s.olderThanMs)}\` would take ${formatBytes(s.bytes)})`
          : '')
    );
  }
  if (l.anonymousVolumes.count > 0) {
    parts.push(
      `${plural(l.anonymousVolumes.count, 'anonymous volume')} no container uses (${formatBytes(l.anonymousVolumes.bytes)}, \`anonymous-volumes: true\`)`
    );
  }
  if (l.namedVolumes.count > 0) {
    parts.push(
      `${plural(l.namedVolumes.count, 'named volume')} no container uses (${formatBytes(l.namedVolumes.bytes)}; name them in \`volumes\`)`
    );
  }
  return parts.length > 0 ? `**Left:** ${parts.join(', ')}.\n\n` : '';
}

function chart(outcome: Outcome, space: SpaceReport, dry: boolean): string {
  const pie = renderPie(spaceSlices(outcome, space.predictedBytes));
  if (!pie) return '';
  const title = dry ? '### Where the space would go' : '### Where the space went';
  return `${title}\n\nPredicted bytes freed, by the repository of each image's first reference.\n\n${pie}\n`;
}

export function renderSummary(outcome: Outcome, ctx: SummaryContext): string {
  const dry = ctx.dryRun ?? outcome.dryRun;
  const space = ctx.space;
  // Largest first: if the table has to be cut, what is left is where the space went.
  const images = [...outcome.deletedImages].sort(
    (a, b) => b.freedBytes - a.freedBytes || b.size - a.size || a.id.localeCompare(b.id)
  );
  const deletedRefs = new Set<string>(images.flatMap((i) => i.references));
  const untagOnly = outcome.untagged.filter((r) => !deletedRefs.has(r));
  const failed = failuresOf(outcome.skipped);
  const kept = outcome.skipped.filter((s) => !isFailure(s.reason));

  let head = `## ${ctx.heading ?? 'docker-reclaim'}${dry ? ' (dry run)' : ''}\n\n`;
  if (ctx.preface) head += `${ctx.preface}\n\n`;
  if (dry) {
    head += '> [!NOTE]\n> Dry run: nothing was removed. This is what a real run would remove.\n\n';
  }
  head += headline(outcome, space, dry);
  if (failed.length > 0) {
    head += `> [!WARNING]\n> ${plural(failed.length, 'step')} failed or could not be attempted; see Failures below.\n\n`;
  }
  head += untilFree(outcome, space, dry);
  head += left(ctx.leftovers);
  head += notes(space, dry);
  head += chart(outcome, space, dry);

  const sections: Section[] = [
    {
      title: dry ? '### Images that would be deleted' : '### Deleted images',
      empty: dry ? 'No images would be deleted.' : 'No images deleted.',
      head: ['Image', 'References', 'Frees', 'Size', 'Age'],
      align: ['---', '---', '---:', '---:', '---'],
      rows: images.map((i) => {
        const refs =
          i.references.length > 0 ? i.references.map(showReference).join(', ') : '<none>';
        return row([
          shortId(i.id),
          i.prunedParent ? `${refs} (untagged parent)` : refs,
          nowrap(formatBytes(i.freedBytes)),
          nowrap(formatBytes(i.size)),
          `${nowrap(formatAge(ctx.now - i.basisTime))} (${i.basis})`
        ]);
      })
    },
    {
      title: dry ? '### Volumes that would be removed' : '### Removed volumes',
      empty: '',
      head: ['Volume', 'Kind', 'Size'],
      align: ['---', '---', '---:'],
      rows: outcome.removedVolumes.map((v) =>
        row([
          v.anonymous ? shortId(v.name) : v.name,
          v.anonymous ? 'anonymous' : 'named',
          nowrap(v.size === undefined ? 'unknown' : formatBytes(v.size))
        ])
      )
    },
    {
      title: `${dry ? 'Build cache that would be pruned' : 'Build cache pruned'}: ${plural(outcome.prunedBuildCache.length, 'record')}, ${formatBytes(outcome.prunedBuildCache.reduce((sum, r) => sum + r.size, 0))}`,
      collapsed: true,
      empty: '',
      head: ['Record', 'Type', 'Description', 'Size', 'Last used'],
      align: ['---', '---', '---', '---:', '---'],
      rows: [...outcome.prunedBuildCache]
        .sort((a, b) => b.size - a.size || a.id.localeCompare(b.id))
        .map((r) =>
          row([
            r.id.slice(0, 12),
            r.type,
            r.description,
            nowrap(formatBytes(r.size)),
            `${nowrap(formatAge(ctx.now - r.lastUsed))} ago`
          ])
        )
    },
    {
      title: dry ? '### Containers that would be removed' : '### Removed containers',
      empty: dry ? 'No containers would be removed.' : 'No containers removed.',
      head: ['Container', 'ID', 'Image', 'Writable layer'],
      align: ['---', '---', '---', '---:'],
      rows: outcome.removedContainers.map((c) =>
        row([c.name, shortId(c.id), shortId(c.image), nowrap(formatBytes(c.sizeRw))])
      )
    }
  ];
  // Tags taken off images that stay are otherwise invisible; say nothing when there are none.
  if (untagOnly.length > 0) {
    sections.push({
      title: dry
        ? '### Tags that would be removed from images that stay'
        : '### Tags removed from images that stay',
      empty: '',
      head: ['Reference'],
      align: ['---'],
      rows: untagOnly.map((r) => row([showReference(r)]))
    });
  }
  if (failed.length > 0) {
    sections.push({
      title: '### Failures',
      empty: '',
      head: ['Target', 'Reason'],
      align: ['---', '---'],
      rows: skipRows(failed)
    });
  }
  sections.push({
    title: `Kept: ${plural(kept.length, 'item')}`,
    collapsed: true,
    empty: 'Nothing selected was kept.',
    head: ['Kept', 'Reason'],
    align: ['---', '---'],
    rows: skipRows(kept)
  });

  let foot = `Engine ${escapeCell(ctx.address)}`;
  if (space.disk) {
    foot += `, data on ${escapeCell(space.disk.path)} (${formatBytes(space.disk.totalBytes)} disk)`;
  }
  if (ctx.leftovers && !ctx.leftovers.buildCache) foot += '; it has no BuildKit build cache';
  foot += dry ? '.\n' : `; the removals took ${formatElapsed(outcome.ms)}.\n`;
  const render = (cap: number) => head + sections.map((s) => renderSection(s, cap)).join('') + foot;

  const full = render(Infinity);
  if (Buffer.byteLength(full) <= SUMMARY_BUDGET) return full;
  return render(fairCap(sections, Buffer.byteLength(render(0))));
}

/**
 * The largest number of rows per table that fits the budget, so that small tables stay whole
 * and the big ones are cut to the same length.
 */
function fairCap(sections: Section[], base: number): number {
  const prefix = sections.map((s) => {
    const sums = [0];
    for (const r of s.rows) sums.push(sums[sums.length - 1]! + Buffer.byteLength(r));
    return sums;
  });
  const size = (cap: number) =>
    prefix.reduce((total, sums) => total + sums[Math.min(cap, sums.length - 1)]!, base);
  let lo = 0;
  let hi = Math.max(0, ...sections.map((s) => s.rows.length));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(mid) <= SUMMARY_BUDGET) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
