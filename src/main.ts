// The main step: read inputs → connect → read the engine → plan → remove → report, and what the
// post step needs from it.
import * as core from '@actions/core';
import { Input, State, VERSION } from './constants.js';
import { connect, ping, EngineUnreachable } from './engine/connect.js';
import { getSettings, InputError, type Settings } from './inputs.js';
import { readEngine } from './read-engine.js';
import { conclude } from './conclude.js';
import { reclaim } from './reclaim.js';
import { reportDir } from './report/json.js';
import { takeSnapshot, writeSnapshot } from './snapshot.js';

export async function main(): Promise<void> {
  const started = Date.now();
  core.info(`docker-reclaim ${VERSION} on Node ${process.version}`);
  let settings: Settings;
  try {
    settings = getSettings();
  } catch (e) {
    if (e instanceof InputError) return core.setFailed(e.message);
    throw e;
  }

  let conn;
  try {
    conn = connect(settings.dockerHost, process.env, settings.engineTimeoutMs);
    await core.group(`Connect to ${conn.address} (${conn.from})`, () => ping(conn!));
  } catch (e) {
    if (e instanceof EngineUnreachable) return core.setFailed(e.message);
    throw e;
  }

  const state = await readEngine(conn, settings);
  const { disk } = state;

  const policy = { ...settings.policy };
  if (settings.untilFree) {
    if (!('disk' in disk)) {
      return core.setFailed(
        `Input "${Input.UntilFree}" needs the engine's data disk on this machine, and none can be shown: ${disk.refusal}. Name where this machine sees the engine's data root with ${Input.EngineDataRoot} (for example /mnt/dind-data), or leave ${Input.UntilFree} empty to remove every candidate.`
      );
    }
    policy.untilFreeBytes =
      'bytes' in settings.untilFree
        ? settings.untilFree.bytes
        : Math.ceil((disk.disk.totalBytes * settings.untilFree.percent) / 100);
  }

  // What the post step compares the engine with: everything there when the job's own work began.
  if (settings.jobCleanup || settings.recordUsage) {
    core.saveState(State.Since, String(state.engineNow));
    core.saveState(State.Address, conn.address);
  }
  if (settings.jobCleanup) {
    await core.group('Snapshot for job cleanup', async () => {
      const file = writeSnapshot(
        reportDir(),
        takeSnapshot(state.inventory, state.engineNow, conn.address)
      );
      // Only the path: the runner passes state as environment variables, which Linux bounds.
      core.saveState(State.Snapshot, file);
      core.info(`Snapshot: ${file}`);
    });
  }

  const run = { conn, settings, state, policy, started, stage: 'main' as const };
  conclude(run, await reclaim(run));
}
