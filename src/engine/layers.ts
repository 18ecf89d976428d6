// Layer identities and sizes on the classic store, from what the Engine API exposes.
import { createHash } from 'node:crypto';

/** ChainIDs from RootFS diff IDs: chain₀ = diff₀, chainₙ = sha256(chainₙ₋₁ + " " + diffₙ). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const prev = out[out.length - 1];
    out.push(
      prev === undefined
        ? diff
        : `sha256:${createHash('sha256').update(`${prev} ${diff}`).digest('hex')}`
    );
  }
  return out;
}

export interface HistoryEntry {
  Size: number;
  CreatedBy?: string;
}

// Instructions that record metadata only: the legacy builder writes them as "#(nop) CMD …" and
// BuildKit as "CMD …"; neither makes a layer. COPY and ADD are "#(nop)" too, but make one.
const METADATA =
  /^(\/bin\/sh -c )?(#\(nop\)\s*)?(CMD|ENV|LABEL|EXPOSE|ENTRYPOINT|USER|WORKDIR|ARG|VOLUME|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|MAINTAINER)\b/;

/**
 * Each layer's DiffSize, bottom first, from `GET /images/{id}/history` (newest first). The API
 * leaves out the config's empty_layer flags, so layer-making entries are told apart by size and
 * instruction; the result is only trusted if it has one size per layer that adds up to the
 * image's Size (on the classic store, the sum of its layers' DiffSizes).
 */
export function layerSizesFromHistory(
  history: readonly HistoryEntry[],
  layerCount: number,
  imageSize: number
): number[] | undefined {
  const oldestFirst = [...history].reverse();
  const candidates = [
    oldestFirst.filter((h) => h.Size > 0 || !METADATA.test(h.CreatedBy ?? '')),
    oldestFirst.filter((h) => h.Size > 0),
    oldestFirst
  ];
  for (const entries of candidates) {
    const sizes = entries.map((h) => h.Size);
    if (sizes.length === layerCount && sizes.reduce((a, b) => a + b, 0) === imageSize) return sizes;
  }
  // A single layer is the whole image.
  if (layerCount === 1) return [imageSize];
  return undefined;
}

/**
 * Fills in layers the history left unknown: when every layer of an image but one has a known
 * size, that one is the image's Size minus the rest. Repeats while it learns something.
 */
export function deriveMissingSizes(
  images: readonly { layers?: string[]; size: number }[],
  sizes: Record<string, number>
): void {
  for (let learned = true; learned;) {
    learned = false;
    for (const image of images) {
      const unknown = (image.layers ?? []).filter((l) => sizes[l] === undefined);
      if (unknown.length !== 1) continue;
      const known = image.layers!.reduce((sum, l) => sum + (sizes[l] ?? 0), 0);
      const rest = image.size - known;
      if (rest < 0) continue;
      sizes[unknown[0]!] = rest;
      learned = true;
    }
  }
}
