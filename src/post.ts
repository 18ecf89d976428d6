// The post step, which the runner runs at the end of the job, even when the job failed: it records
// which images the job's containers used (record-usage), and with job-cleanup it removes what the
// job added since the main step's snapshot. It never fails the job, but for fail-on-error.
import * as core from '@actions/core';
import { Input, State } from './constants.js';
import {
  connect,
  describeError,
  ping,
  EngineUnreachable,
  type Connection
} from './engine/connect.js';
import { containerUses, EVENT_BUFFER, eventTime, readEvents } from './engine/events.js';
import { getSettings, InputError, type Settings } from './inputs.js';
import { mergeLedger, updateLedger } from './ledger.js';
import { displayName, isStopped } from './plan/containers.js';
import type { JobScope, Policy } from './plan/types.js';
import { readEngine, type EngineState } from './read-engine.js';
import { conclude } from './conclude.js';
import { reclaim } from './reclaim.js';
import { shortId } from './report/reason.js';
import { escapeCell, plural } from './report/summary.js';
import { jobScope, readSnapshot } from './snapshot.js';

export async function post(): Promise<void> {
  const started = Date.now();
  let settings: Settings;
  try {
    settings = getSettings();
  } catch (e) {
    if (e instanceof InputError) return core.warning(`Post step: nothing done. ${e.message}`);
    throw e;
  }
  // Neither is asked for: no engine call at all.
  if (!settings.jobCleanup && !settings.recordUsage) return;
  try {
    await afterTheJob(settings, started);
  } catch (e) {
    // Whatever happens here, the job's result is the job's.
    core.warning(`Post step: stopped unexpectedly (${describeError(e)}); nothing more was done.`);
  }
}

async function afterTheJob(settings: Settings, started: number): Promise<void> {
  const since = Number(core.getState(State.Since));
  if (!since) {
    if (settings.jobCleanup) {
      core.warning(
        `Job cleanup skipped: the main step left no snapshot (it did not run, or it stopped before it read the engine), so nothing shows what the job added.`
      );
    }
    return;
  }
  let conn: Connection;
  try {
    conn = connect(settings.dockerHost, process.env, settings.engineTimeoutMs);
    await core.group(`Connect to ${conn.address} (${conn.from})`, () => ping(conn));
  } catch (e) {
    if (e instanceof EngineUnreachable)
      return core.warning(`Post step: nothing done. ${e.message}`);
    throw e;
  }
  const address = core.getState(State.Address);
  if (address && address !== conn.address) {
    return core.warning(
      `Post step: nothing done. The engine is ${conn.address} now, but the main step's was ${address} (did a step of the job change DOCKER_HOST or the Docker context?).`
    );
  }

  const state = await readEngine(conn, settings);
  if (settings.recordUsage) await core.group('Record usage', () => recordUsage(conn, state, since));
  if (!settings.jobCleanup) return;

  const file = core.getState(State.Snapshot);
  const read = file ? readSnapshot(file) : { problem: 'the main step recorded none' };
  if ('problem' in read) {
    return core.warning(`Job cleanup skipped: no snapshot to compare with: ${read.problem}.`);
  }
  const scope = jobScope(read.snapshot, state.inventory);
  const policy: Policy = {
    ...settings.policy,
    // What the job added goes whatever its age; keep-latest, until-free and the other selections
    // are the main step's business.
    olderThanMs: 0,
    keepLatest: 0,
    dangling: false,
    containers: [],
    containersOlderThanMs: 0,
    volumes: [],
    anonymousVolumes: false,
    job: scope
  };
  delete policy.untilFreeBytes;
  delete policy.buildCacheOlderThanMs;
  core.info(`The job added ${describeScope(scope, state)}.`);
  const run = {
    conn,
    settings,
    state,
    policy,
    started,
    stage: 'post' as const,
    summary: {
      heading: 'docker-reclaim: job cleanup',
      preface: preface(scope, state)
    }
  };
  conclude(run, await reclaim(run));
}

/**
 * Which images the job's containers used, from the engine's events since the main step, kept in
 * the ledger: a `docker run --rm` leaves no container for a later run's `last-used` to see.
 */
async function recordUsage(conn: Connection, state: EngineState, since: number): Promise<void> {
  if (!state.ledger) {
    core.info(`No ledger (set ${Input.LedgerDir}): usage is not recorded.`);
    return;
  }
  const { events, complete } = await readEvents(conn.docker, state.engineNow, 30_000, since);
  const used = containerUses(events, state.inventory.images);
  const oldest = events.length > 0 ? eventTime(events[0]!) : undefined;
  if (!complete || (events.length >= EVENT_BUFFER && oldest !== undefined && oldest > since)) {
    core.info(
      `The engine keeps only its last ${EVENT_BUFFER} events and the job made more: use before ${new Date(oldest ?? since).toISOString()} is not recorded.`
    );
  }
  try {
    const ledger = state.ledger;
    await updateLedger(ledger.file, ledger.engine, (current) =>
      mergeLedger(current, state.inventory, state.engineNow, new Set(), used)
    );
    core.info(`Recorded the use of ${used.size} images in ${ledger.file}`);
  } catch (e) {
    core.warning(`Could not record usage in ${state.ledger.file} (${describeError(e)}).`);
  }
}

function describeScope(scope: JobScope, state: EngineState): string {
  const added = new Set<string>(scope.images);
  const jobRefs = new Set<string>(scope.references);
  const onOlder = state.inventory.images
    .filter((i) => !added.has(i.id))
    .flatMap((i) => [...i.tags, ...i.digests].filter((r) => jobRefs.has(r))).length;
  return [
    plural(added.size, 'image'),
    `${plural(onOlder, 'reference')} on older images`,
    plural(scope.containers.length, 'container'),
    plural(scope.volumes.length, 'volume'),
    plural(scope.buildCache.length, 'build cache record')
  ].join(', ');
}

/** What the job added, and the containers it left running with the images they hold. */
function preface(scope: JobScope, state: EngineState): string {
  const lines = [`The job added ${escapeCell(describeScope(scope, state))}.`];
  const mine = new Set<string>(scope.containers);
  const running = state.inventory.containers.filter((c) => mine.has(c.id) && !isStopped(c.state));
  const images = new Map(state.inventory.images.map((i) => [i.id, i]));
  for (const c of running) {
    const name = images.get(c.image)?.tags[0] ?? shortId(c.image);
    lines.push(
      escapeCell(
        `Left running: container ${displayName(c)} (${c.state}), which holds image ${name}.`
      )
    );
  }
  return lines.join('\n\n');
}
