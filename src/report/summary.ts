// The job summary: GitHub-flavoured Markdown, every piece of engine or user text escaped.
import { formatDuration } from '../duration.js';
import type { Outcome, Reason, Skip } from '../plan/types.js';
import { formatBytes } from './bytes.js';
import { describeReason, shortId } from './reason.js';

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

function clip(text: string): string {
  if (text.length <= CELL_MAX) return text;
  // Do not leave half a surrogate pair behind.
  const cut = /[\uD800-\uDBFF]/.test(text[CELL_MAX - 1] ?? '') ? CELL_MAX - 1 : CELL_MAX;
  return `${text.slice(0, cut)}…`;
}

/**
 * Text that renders literally inside a table cell or a paragraph: no HTML, no table separator,
 * no code span, no link or emphasis, no line break. Pipes become an entity rather than `\|` so
 * that no backslash in the input can un-escape them.
 */
export function escapeCell(text: string): string {
  return clip(text)
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/[&<>|`]/g, (c) => ENTITIES[c] ?? c)
    .replace(/[\\*_[\]~]/g, '\\$&')
    .replace(/^ +| +$/g, (spaces) => '&#32;'.repeat(spaces.length));
}

const row = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |\n`;
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const isImageId = (s: string) => /^sha256:[0-9a-f]{64}$/.test(s);

function tookFor(ms: number): string {
  return ms < 60_000 ? `${(Math.round(ms / 100) / 10).toFixed(1)}s` : formatDuration(ms);
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
  if (s.rows.length === 0) return `${s.empty}\n\n`;
  const shown = s.rows.slice(0, cap);
  const more = s.rows.length - shown.length;
  const table =
    row(s.head) +
    `| ${s.align.join(' | ')} |\n` +
    shown.join('') +
    (more > 0
      ? row([`… and ${more} more (full list in the report)`, ...s.head.slice(1).map(() => '')])
      : '');
  // A blank line after <summary> is what makes GitHub render the Markdown inside <details>.
  return s.collapsed
    ? `<details><summary>${s.title}</summary>\n\n${table}\n</details>\n\n`
    : `${s.title}\n\n${table}\n`;
}

const isFailure = (r: Reason) => r.kind === 'removal-failed' || r.kind === 'blocked-by-failed-step';

function skipRows(skips: Skip[]): string[] {
  return skips.map((s) =>
    row([isImageId(s.target) ? shortId(s.target) : s.target, describeReason(s.reason)])
  );
}

export function renderSummary(outcome: Outcome, ctx: { address: string; now: number }): string {
  const dry = outcome.dryRun;
  // Largest first: if the table has to be cut, what is left is where the space went.
  const images = [...outcome.deletedImages].sort(
    (a, b) => b.size - a.size || a.id.localeCompare(b.id)
  );
  const deletedRefs = new Set<string>(images.flatMap((i) => i.references));
  const untagOnly = outcome.untagged.filter((r) => !deletedRefs.has(r));
  const failed = outcome.skipped.filter((s) => isFailure(s.reason));
  const kept = outcome.skipped.filter((s) => !isFailure(s.reason));

  let head = `## docker-reclaim${dry ? ' (dry run)' : ''}\n\n`;
  if (dry) {
    head += '> [!NOTE]\n> Dry run: nothing was removed. This is what a real run would remove.\n\n';
  }
  const counts = [
    plural(images.length, 'image'),
    plural(outcome.untagged.length, 'tag'),
    plural(outcome.removedContainers.length, 'container')
  ].map((c) => `**${c}**`);
  head += dry
    ? `Would delete ${counts[0]}, remove ${counts[1]} and ${counts[2]}.\n\n`
    : `Deleted ${counts[0]}, removed ${counts[1]} and ${counts[2]}.\n\n`;
  if (outcome.failures > 0) {
    head += `> [!WARNING]\n> ${plural(outcome.failures, 'step')} failed or could not be attempted; see Failures below.\n\n`;
  }

  const sections: Section[] = [
    {
      title: dry ? '### Images that would be deleted' : '### Deleted images',
      empty: dry ? 'No images would be deleted.' : 'No images deleted.',
      head: ['Image', 'References', 'Size', 'Age'],
      align: ['---', '---', '---:', '---'],
      rows: images.map((i) => {
        const refs = i.references.length > 0 ? i.references.join(', ') : '<none>';
        return row([
          shortId(i.id),
          i.prunedParent ? `${refs} (untagged parent)` : refs,
          formatBytes(i.size),
          `${formatDuration(ctx.now - i.basisTime)} (${i.basis})`
        ]);
      })
    },
    {
      title: dry ? '### Containers that would be removed' : '### Removed containers',
      empty: dry ? 'No containers would be removed.' : 'No containers removed.',
      head: ['Container', 'ID', 'Image'],
      align: ['---', '---', '---'],
      rows: outcome.removedContainers.map((c) => row([c.name, shortId(c.id), shortId(c.image)]))
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
      rows: untagOnly.map((r) => row([r]))
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

  const foot = `Engine ${escapeCell(ctx.address)}, took ${tookFor(outcome.ms)}.\n`;
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
