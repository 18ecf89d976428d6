// "Where the space went": a Mermaid pie chart, which GitHub renders in job summaries.
import { familiarName, parseReference } from '../plan/patterns.js';
import type { Outcome } from '../plan/types.js';
import { formatBytes } from './bytes.js';

/** Repositories shown by name; the rest share one "other" slice. */
export const CHART_REPOSITORIES = 8;
const LABEL_MAX = 40;

export interface Slice {
  label: string;
  bytes: number;
}

/** The familiar repository of an image's first reference, or `<none>` for an untagged image. */
export function chartRepository(references: readonly string[]): string {
  const first = references[0];
  return first === undefined ? '<none>' : familiarName(parseReference(first).repository);
}

/**
 * Predicted bytes freed, by repository (largest first, the top ones by name and the rest as one
 * "other" slice), then the removed containers' writable layers, then the freed layers that
 * several deleted images shared: whatever of the prediction no single image or container holds.
 * Slices of zero bytes are left out.
 */
export function spaceSlices(
  outcome: Pick<Outcome, 'deletedImages' | 'removedContainers'>,
  predictedBytes: number
): Slice[] {
  const byRepository = new Map<string, number>();
  let attributed = 0;
  for (const image of outcome.deletedImages) {
    if (!(image.freedBytes > 0)) continue;
    const repository = chartRepository(image.references);
    byRepository.set(repository, (byRepository.get(repository) ?? 0) + image.freedBytes);
    attributed += image.freedBytes;
  }
  const ranked = [...byRepository].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  // Nine repositories fit in nine slices: an "other" slice would only hide the ninth name.
  const named = ranked.length <= CHART_REPOSITORIES + 1 ? ranked.length : CHART_REPOSITORIES;
  const slices: Slice[] = ranked.slice(0, named).map(([label, bytes]) => ({ label, bytes }));
  const rest = ranked.slice(named);
  if (rest.length > 0) {
    slices.push({
      // A space cannot occur in a repository name, so these labels never collide with one.
      label: `other (${rest.length.toLocaleString('en-US')} repositories)`,
      bytes: rest.reduce((sum, [, bytes]) => sum + bytes, 0)
    });
  }
  const containers = outcome.removedContainers.reduce((sum, c) => sum + (c.sizeRw || 0), 0);
  if (containers > 0) slices.push({ label: 'containers', bytes: containers });
  const shared = predictedBytes - attributed - containers;
  if (shared > 0) slices.push({ label: 'shared layers', bytes: shared });
  return slices;
}

// Mermaid's own entity syntax (`#name;` or `#code;`): decoded when the chart is drawn. `#` and
// `;` must be written this way too, or `#quot;` in a name would turn into a quote.
const MERMAID_ENTITIES: Record<string, string> = {
  '"': '#quot;',
  '#': '#35;',
  ';': '#59;',
  '`': '#96;',
  '<': '#lt;',
  '>': '#gt;',
  '&': '#amp;',
  '%': '#37;',
  '\\': '#92;'
};

/**
 * Text for a quoted Mermaid label: one short line, with every character that could end the
 * string, start a comment or an entity, or close the Markdown code fence written as an entity.
 */
export function mermaidLabel(text: string): string {
  let t = text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (t.length > LABEL_MAX) {
    const cut = /[\uD800-\uDBFF]/.test(t[LABEL_MAX - 2] ?? '') ? LABEL_MAX - 2 : LABEL_MAX - 1;
    t = `${t.slice(0, cut)}…`;
  }
  return t.replace(/["#;`<>&%\\]/g, (c) => MERMAID_ENTITIES[c] ?? c);
}

/** A fenced `mermaid` pie chart of the slices, each labelled with its size; '' when all are 0. */
export function renderPie(slices: readonly Slice[]): string {
  const shown = slices.filter((s) => Number.isFinite(s.bytes) && Math.round(s.bytes) > 0);
  if (shown.length === 0) return '';
  const lines = shown.map(
    (s) => `    "${mermaidLabel(s.label)} (${formatBytes(s.bytes)})" : ${Math.round(s.bytes)}`
  );
  return `\`\`\`mermaid\npie\n${lines.join('\n')}\n\`\`\`\n`;
}
