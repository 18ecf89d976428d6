// The full report: everything the summary had to leave out, as JSON for people and tools.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Outcome, Plan, SpaceReport } from '../plan/types.js';

export interface ReportData {
  version: string;
  /** Which step wrote it: main, or the post step's job cleanup. */
  stage: 'main' | 'post';
  settings: unknown;
  inventorySize: { images: number; containers: number };
  plan: Plan;
  outcome: Outcome;
  /** Predicted and measured bytes and the free disk; per-layer figures are in plan.space. */
  space: SpaceReport;
}

/** RUNNER_TEMP is emptied after every job, so reports never pile up on self-hosted runners. */
export function reportDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_TEMP || os.tmpdir();
}

/**
 * The report's JSON in pieces, for a file written piece by piece: at 50,000 images it is about
 * 100 MB of text, and made as one string, with the copies JSON.stringify makes while it works,
 * it was the action's peak memory (940 MB RSS in a dry run, against a stand-in engine). An
 * object's members go one per line; each element of an array goes on one line of its own, which
 * keeps the file a quarter smaller than indented throughout, with one step or layer per line.
 */
export function* jsonPieces(value: unknown, indent = ''): Generator<string> {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return yield '[]';
    yield '[';
    for (let i = 0; i < value.length; i++) {
      // As JSON.stringify has them: what JSON cannot hold is null in an array.
      yield `${i ? ',' : ''}\n${inner}${JSON.stringify(value[i]) ?? 'null'}`;
    }
    return yield `\n${indent}]`;
  }
  if (value === null || typeof value !== 'object' || 'toJSON' in value) {
    return yield JSON.stringify(value) ?? 'null';
  }
  const members = Object.entries(value).filter(
    ([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol'
  );
  if (members.length === 0) return yield '{}';
  yield '{';
  for (const [n, [key, member]] of members.entries()) {
    yield `${n ? ',' : ''}\n${inner}${JSON.stringify(key)}: `;
    yield* jsonPieces(member, inner);
  }
  yield `\n${indent}}`;
}

/** Pieces are gathered to about this size before each write. */
const WRITE_CHUNK = 1 << 20;

/** Writes the report to a new file in `dir` and returns its path. */
export function writeReport(dir: string, data: ReportData): string {
  fs.mkdirSync(dir, { recursive: true });
  const now = new Date();
  // No colons: the name must be valid on Windows runners too.
  const stamp = now.toISOString().replace(/[-:]/g, '');
  // Two runs in the same millisecond and process (main and post) must not overwrite each other.
  for (let n = 0; ; n++) {
    const file = path.join(dir, `docker-reclaim-${stamp}-${process.pid}${n ? `-${n}` : ''}.json`);
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      continue;
    }
    try {
      let chunk = '';
      for (const piece of jsonPieces({ generatedAt: now.toISOString(), ...data })) {
        chunk += piece;
        if (chunk.length >= WRITE_CHUNK) {
          fs.writeSync(fd, chunk);
          chunk = '';
        }
      }
      fs.writeSync(fd, `${chunk}\n`);
    } catch (e) {
      // Half a report would read as a broken one: none, and the warning says why.
      fs.closeSync(fd);
      fs.unlinkSync(file);
      throw e;
    }
    fs.closeSync(fd);
    return file;
  }
}
