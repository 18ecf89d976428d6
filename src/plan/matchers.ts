// The policy's patterns, compiled once: which references a run selects and which names it protects.
import {
  compileImagePattern,
  compileNamePattern,
  patternMatcher,
  referenceMatcher,
  type ImagePattern,
  type ParsedRef
} from './patterns.js';
import type { JobScope, Policy } from './types.js';

export interface Matchers {
  /** The `images` pattern that selects a reference, if any. */
  selectedBy(ref: ParsedRef): string | undefined;
  /** The `exclude` pattern that protects a reference, if any. */
  excludedBy(ref: ParsedRef): string | undefined;
  /** The `exclude` pattern that protects one of these names, if any. */
  excludedName(names: readonly string[]): string | undefined;
  /** Whether a `containers` pattern selects one of these names. */
  containerSelected(names: readonly string[]): boolean;
  /** Whether a `volumes` pattern selects this volume name. */
  volumeSelected(name: string): boolean;
  /** Job cleanup: what the job added, the only things that may go. */
  job?: {
    image(id: string): boolean;
    reference(ref: string): boolean;
    container(id: string): boolean;
    volume(name: string): boolean;
    buildCache(id: string): boolean;
  };
}

const defined = <T>(x: T | undefined): x is T => x !== undefined;

function imagePatterns(patterns: readonly string[]): ImagePattern[] {
  return patterns.map(compileImagePattern).filter(defined);
}

export function compileMatchers(policy: Policy): Matchers {
  const excludeNames = policy.exclude.flatMap((source) => {
    const m = compileNamePattern(source);
    return m ? [{ source, m }] : [];
  });
  const containerNames = policy.containers.map(compileNamePattern).filter(defined);
  const volumeNames = (policy.volumes ?? []).map(compileNamePattern).filter(defined);
  return {
    selectedBy: patternMatcher(imagePatterns(policy.images)),
    excludedBy: patternMatcher(imagePatterns(policy.exclude)),
    excludedName: (names) => excludeNames.find((e) => names.some((n) => e.m.match(n)))?.source,
    containerSelected: (names) => containerNames.some((m) => names.some((n) => m.match(n))),
    volumeSelected: (name) => volumeNames.some((m) => m.match(name)),
    ...(policy.job ? { job: jobMatchers(policy.job) } : {})
  };
}

function jobMatchers(job: JobScope): NonNullable<Matchers['job']> {
  const has = (list: readonly string[]) => {
    const set = new Set<string>(list);
    return (x: string) => set.has(x);
  };
  return {
    image: has(job.images),
    reference: has(job.references),
    container: has(job.containers),
    volume: has(job.volumes),
    buildCache: has(job.buildCache)
  };
}

/**
 * Whether an image with these references could be deleted under this policy: one a pattern
 * selects, or one without a tag (dangling, or an untagged parent pruned with its children).
 * The inventory reader fetches layer sizes only for these.
 */
export function mayFree(policy: Policy): (refs: string[]) => boolean {
  const selected = referenceMatcher(imagePatterns(policy.images));
  return (refs) =>
    refs.every((r) => r.includes('@')) || refs.some((r) => selected(r) !== undefined);
}
