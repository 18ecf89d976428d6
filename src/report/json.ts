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

/** Writes the report to a new file in `dir` and returns its path. */
export function writeReport(dir: string, data: ReportData): string {
  fs.mkdirSync(dir, { recursive: true });
  const now = new Date();
  // No colons: the name must be valid on Windows runners too.
  const stamp = now.toISOString().replace(/[-:]/g, '');
  const text = `${JSON.stringify({ generatedAt: now.toISOString(), ...data }, null, 2)}\n`;
  // Two runs in the same millisecond and process (main and post) must not overwrite each other.
  for (let n = 0; ; n++) {
    const file = path.join(dir, `docker-reclaim-${stamp}-${process.pid}${n ? `-${n}` : ''}.json`);
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
