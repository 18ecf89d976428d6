// Glob patterns for image references and container names, and the reference forms they match.
import { Minimatch, type MinimatchOptions } from 'minimatch';
import type { Reference } from './types.js';

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

/**
 * Where the repository of `REPOSITORY[:TAG]` or `REPOSITORY@DIGEST` ends: the index of its `@` or
 * of the `:` before the tag, or -1 when it has neither. A colon before the last slash is a
 * registry port.
 */
function repositoryEnd(text: string): number {
  const at = text.indexOf('@');
  if (at >= 0) return at;
  const colon = text.lastIndexOf(':');
  return colon > text.lastIndexOf('/') ? colon : -1;
}

const AT = '@'.charCodeAt(0);

/** Splits `REPOSITORY[:TAG]` or `REPOSITORY@DIGEST`. */
function splitReference(text: string): { repository: string; tag?: string; digest?: string } {
  const end = repositoryEnd(text);
  if (end < 0) return { repository: text };
  const repository = text.slice(0, end);
  const rest = text.slice(end + 1);
  return text.charCodeAt(end) === AT ? { repository, digest: rest } : { repository, tag: rest };
}

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

/** A repository that references name: one object per name, so that phases compare by identity. */
export interface Repository {
  /** Its position among its parser's repositories: matchers keep their answers in arrays by it. */
  n: number;
  name: string;
  /** As `docker images` shows it. */
  familiar: string;
}

/** A reference split once into its repository and its tag or digest. */
export interface ParsedRef {
  ref: Reference;
  repository: Repository;
  /** `REPOSITORY@DIGEST` rather than `REPOSITORY[:TAG]`. */
  isDigest: boolean;
  /** Where the tag or digest starts, or -1 when there is none. */
  partAt: number;
}

/**
 * Parses references, one Repository object per repository name. A plan parses each reference of
 * the inventory once: on 100,000 references, splitting and rehashing the same strings in every
 * phase was a large part of its time.
 */
export function referenceParser(): (ref: Reference) => ParsedRef {
  const repositories = new Map<string, Repository>();
  return (ref) => {
    const end = repositoryEnd(ref);
    const name = end < 0 ? ref : ref.slice(0, end);
    let repository = repositories.get(name);
    if (!repository) {
      repository = { n: repositories.size, name, familiar: familiarName(name) };
      repositories.set(name, repository);
    }
    const isDigest = end >= 0 && ref.charCodeAt(end) === AT;
    return { ref, repository, isDigest, partAt: end < 0 ? -1 : end + 1 };
  };
}

/** The patterns whose repository glob matches one repository, in policy order. */
interface RepositoryCandidates {
  repository: Repository;
  /** Those that can match one of its tag references: no digest glob. */
  forTags: readonly ImagePattern[];
  /** Those that can match one of its digest references: no tag glob. */
  forDigests: readonly ImagePattern[];
}

/**
 * "Which pattern matches this reference", memoised: inventories repeat repositories thousands of
 * times, so each repository's names are globbed once per pattern, not once per reference. Most
 * answers need nothing more (`**`, `app`, a pattern list that is empty), so only the rarer ones
 * that took a tag or digest glob are remembered per reference.
 */
export function patternMatcher(
  patterns: readonly ImagePattern[]
): (ref: ParsedRef) => string | undefined {
  if (patterns.length === 0) return () => undefined;
  // By Repository.n; a repository of another parser with the same n takes the slot over.
  const byRepository: (RepositoryCandidates | undefined)[] = [];
  // null: globbed, and no pattern matched.
  const globbed = new Map<string, string | null>();
  const candidatesOf = (repository: Repository): RepositoryCandidates => {
    let candidates = byRepository[repository.n];
    if (candidates?.repository !== repository) {
      const forms = repositoryForms(repository.name);
      const matching = patterns.filter((p) => forms.some((name) => p.repository.match(name)));
      candidates = {
        repository,
        forTags: matching.filter((p) => !p.digest),
        forDigests: matching.filter((p) => !p.tag)
      };
      byRepository[repository.n] = candidates;
    }
    return candidates;
  };
  return ({ ref, repository, isDigest, partAt }) => {
    const { forTags, forDigests } = candidatesOf(repository);
    const candidates = isDigest ? forDigests : forTags;
    const first = candidates[0];
    if (first === undefined) return undefined;
    // The first candidate has no glob for the tag or digest: it matches every such reference.
    if (!(isDigest ? first.digest : first.tag)) return first.source;
    const known = globbed.get(ref);
    if (known !== undefined) return known ?? undefined;
    const hit = firstMatching(candidates, isDigest, partAt < 0 ? undefined : ref.slice(partAt));
    globbed.set(ref, hit ?? null);
    return hit;
  };
}

/**
 * The first candidate whose tag or digest glob matches `part`. Apart from the matcher, whose every
 * call would otherwise allocate the scope this closure reads.
 */
function firstMatching(
  candidates: readonly ImagePattern[],
  isDigest: boolean,
  part: string | undefined
): string | undefined {
  return candidates.find((p) => {
    const glob = isDigest ? p.digest : p.tag;
    return !glob || (part !== undefined && glob.match(part));
  })?.source;
}

/** patternMatcher for references given as strings. */
export function referenceMatcher(
  patterns: readonly ImagePattern[]
): (ref: string) => string | undefined {
  if (patterns.length === 0) return () => undefined;
  const parse = referenceParser();
  const match = patternMatcher(patterns);
  return (ref) => match(parse(ref as Reference));
}
