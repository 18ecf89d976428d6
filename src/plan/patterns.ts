// Glob patterns for image references and container names, and the reference forms they match.
import { Minimatch, type MinimatchOptions } from 'minimatch';

// Negation and comments would let a pattern select more than it says; extglobs add nothing here.
const GLOB: MinimatchOptions = { dot: true, nonegate: true, nocomment: true, noext: true };

export type PatternKind = 'image' | 'container' | 'volume' | 'exclude';

/** Newline- or comma-separated; a comma inside `{a,b}` belongs to the glob. */
export function splitPatterns(raw: string): string[] {
  const out: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of raw) {
    if (ch === '\n' || ch === '\r' || (ch === ',' && depth === 0)) {
      out.push(current);
      current = '';
      depth = 0;
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}' && depth > 0) depth--;
    current += ch;
  }
  out.push(current);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

const GLOB_CHARS = '*?[]{},^!';
const REPO_CHARS = new RegExp(`^[a-z0-9._\\-/:${escapeClass(GLOB_CHARS)}]+$`);
const TAG_CHARS = new RegExp(`^[A-Za-z0-9._\\-${escapeClass(GLOB_CHARS)}]+$`);
const DIGEST_CHARS = new RegExp(`^[a-z0-9:${escapeClass(GLOB_CHARS)}]+$`);
const NAME_CHARS = new RegExp(`^[A-Za-z0-9._\\-${escapeClass(GLOB_CHARS)}]+$`);
const MAX_PATTERN = 512;

function escapeClass(chars: string): string {
  return chars.replace(/[\]\\^-]/g, '\\$&');
}

export interface ImagePattern {
  source: string;
  repository: Minimatch;
  tag?: Minimatch;
  digest?: Minimatch;
}

/** Splits `REPOSITORY[:TAG]` or `REPOSITORY@DIGEST`; a colon before the last slash is a registry port. */
function splitReference(text: string): { repository: string; tag?: string; digest?: string } {
  const at = text.indexOf('@');
  if (at >= 0) return { repository: text.slice(0, at), digest: text.slice(at + 1) };
  const colon = text.lastIndexOf(':');
  if (colon > text.lastIndexOf('/')) {
    return { repository: text.slice(0, colon), tag: text.slice(colon + 1) };
  }
  return { repository: text };
}

/** The repository of a reference: everything before its tag or digest. */
export const repositoryOf = (ref: string): string => splitReference(ref).repository;

function imagePatternProblem(p: string): string | undefined {
  const { repository, tag, digest } = splitReference(p);
  if (repository === '') return 'the repository part is empty';
  if (/[A-Z]/.test(repository)) return 'repository names are lowercase';
  if (!REPO_CHARS.test(repository))
    return 'the repository part has characters no image name can have';
  const segments = repository.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    return 'the repository has an empty, "." or ".." path segment';
  }
  // A colon in a repository is a registry's port: only in the first of several segments.
  const port = /^[^:]+:[0-9*?[\]{},]+$/;
  if (
    segments.some((s, n) => s.includes(':') && (n > 0 || segments.length === 1 || !port.test(s)))
  ) {
    return 'a colon belongs only after the registry host (host:5000/repo:tag) or before the tag';
  }
  if (tag !== undefined && (tag === '' || !TAG_CHARS.test(tag))) {
    return 'the tag part is empty or has characters no tag can have';
  }
  if (digest !== undefined && (digest === '' || !DIGEST_CHARS.test(digest))) {
    return 'the digest part should look like sha256:<hex>';
  }
  return bracesProblem(p);
}

function containerPatternProblem(p: string): string | undefined {
  if (!NAME_CHARS.test(p)) return 'container names have only letters, digits, ".", "_" and "-"';
  return bracesProblem(p);
}

// Each {a,b} group multiplies the globs minimatch expands a pattern into.
const MAX_BRACE_GROUPS = 4;

function bracesProblem(p: string): string | undefined {
  if ((p.match(/\{/g) ?? []).length > MAX_BRACE_GROUPS) {
    return `it has more than ${MAX_BRACE_GROUPS} {…} groups; list the patterns instead`;
  }
  let depth = 0;
  for (const ch of p) {
    if (ch === '{') depth++;
    if (ch === '}' && --depth < 0) return 'a "}" has no matching "{"';
  }
  return depth === 0 ? undefined : 'a "{" is not closed';
}

/** undefined when `p` is a valid pattern of this kind, else a short reason for the user. */
export function validatePattern(kind: PatternKind, p: string): string | undefined {
  if (p.length > MAX_PATTERN) return `it is longer than ${MAX_PATTERN} characters`;
  // A leading "!" reads as negation, which would select everything else; exclude says that safely.
  if (p.startsWith('!')) return 'negation is not supported here; list what to keep under "exclude"';
  if (kind === 'image') return imagePatternProblem(p);
  // Volume names have the same characters as container names.
  if (kind === 'container' || kind === 'volume') return containerPatternProblem(p);
  // An exclude pattern protects image references and container names alike.
  const asImage = imagePatternProblem(p);
  const asContainer = containerPatternProblem(p);
  return asImage && asContainer ? asImage : undefined;
}

/** Compiles a pattern already accepted by validatePattern('image' | 'exclude'); undefined if it cannot match a reference. */
export function compileImagePattern(p: string): ImagePattern | undefined {
  if (imagePatternProblem(p)) return undefined;
  const { repository, tag, digest } = splitReference(p);
  return {
    source: p,
    repository: new Minimatch(repository, GLOB),
    tag: tag === undefined ? undefined : new Minimatch(tag, GLOB),
    digest: digest === undefined ? undefined : new Minimatch(digest, GLOB)
  };
}

export function compileNamePattern(p: string): Minimatch | undefined {
  return containerPatternProblem(p) ? undefined : new Minimatch(p, GLOB);
}

export interface ParsedReference {
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseReference(ref: string): ParsedReference {
  return splitReference(ref);
}

const FAMILIAR_PREFIXES = ['docker.io/library/', 'docker.io/', 'localhost/'];

/** The name `docker images` shows, without docker.io/library/, docker.io/ or Podman's localhost/. */
export function familiarName(repository: string): string {
  for (const prefix of FAMILIAR_PREFIXES) {
    if (repository.startsWith(prefix)) return repository.slice(prefix.length);
  }
  return repository;
}

/** The names a pattern is matched against: as listed, familiar, and fully qualified. */
export function repositoryForms(repository: string): string[] {
  const familiar = familiarName(repository);
  const first = familiar.split('/')[0] ?? '';
  const hasRegistry = familiar.includes('/') && /[.:]|^localhost$/.test(first);
  const forms = new Set([repository, familiar]);
  if (!hasRegistry && !repository.startsWith('localhost/')) {
    forms.add(`docker.io/${familiar.includes('/') ? '' : 'library/'}${familiar}`);
  }
  return [...forms];
}

export function matchesReference(pattern: ImagePattern, ref: string): boolean {
  const { repository, tag, digest } = splitReference(ref);
  if (!repositoryForms(repository).some((name) => pattern.repository.match(name))) return false;
  if (digest !== undefined) {
    // A digest reference matches a pattern without a tag, or one whose digest glob matches.
    if (pattern.tag) return false;
    return pattern.digest ? pattern.digest.match(digest) : true;
  }
  if (pattern.digest) return false;
  return pattern.tag ? tag !== undefined && pattern.tag.match(tag) : true;
}

/**
 * A memoised "which pattern matches this reference": inventories repeat repositories thousands
 * of times, so each repository's names are globbed once per pattern, not once per reference.
 */
export function referenceMatcher(
  patterns: readonly ImagePattern[]
): (ref: string) => string | undefined {
  const byRepository = new Map<string, ImagePattern[]>();
  const byReference = new Map<string, string | undefined>();
  return (ref) => {
    if (byReference.has(ref)) return byReference.get(ref);
    const { repository, tag, digest } = splitReference(ref);
    let candidates = byRepository.get(repository);
    if (!candidates) {
      const forms = repositoryForms(repository);
      candidates = patterns.filter((p) => forms.some((name) => p.repository.match(name)));
      byRepository.set(repository, candidates);
    }
    const hit = candidates.find((p) =>
      digest !== undefined
        ? !p.tag && (!p.digest || p.digest.match(digest))
        : !p.digest && (!p.tag || (tag !== undefined && p.tag.match(tag)))
    );
    byReference.set(ref, hit?.source);
    return hit?.source;
  };
}
