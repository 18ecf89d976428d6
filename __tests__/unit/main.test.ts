// The main step's own logic, with @actions/core faked and the engine behind a seam: what it fails
// on, how it turns a percentage into bytes, and what it tells the user.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../__fixtures__/core.js';
import type { EngineState } from '../../src/read-engine.js';
import type { ReclaimRun, Reclaimed } from '../../src/reclaim.js';
import { outcome } from '../../__fixtures__/outcome.js';

const GB = 1e9;
const engineState = (over: Partial<EngineState> = {}): EngineState => ({
  inventory: { images: [], containers: [], volumes: [] },
  disk: {
    disk: { path: '/var/lib/docker', freeBytes: 10 * GB, totalBytes: 100 * GB },
    how: 'test'
  },
  totalsBefore: 0,
  events: [],
  engineNow: Date.parse('2026-12-01T00:00:00Z'),
  ...over
});

let state = engineState();
let seen: ReclaimRun | undefined;
let result: Reclaimed;
const ping = jest.fn(async () => {});

jest.unstable_mockModule('@actions/core', () => core);
jest.unstable_mockModule('../../src/engine/connect.js', () => ({
  connect: (host?: string) => ({
    docker: {},
    address: host ?? 'unix:///x.sock',
    from: 'test',
    local: true
  }),
  ping,
  describeError: (e: unknown) => String(e),
  DEFAULT_TIMEOUT_MS: 120_000,
  EngineUnreachable: class extends Error {}
}));
jest.unstable_mockModule('../../src/read-engine.js', () => ({ readEngine: async () => state }));
jest.unstable_mockModule('../../src/reclaim.js', () => ({
  reclaim: async (run: ReclaimRun) => {
    seen = run;
    return result;
  }
}));
const { main } = await import('../../src/main.js');

beforeEach(() => {
  core.resetCore();
  state = engineState();
  seen = undefined;
  result = {
    plan: {} as Reclaimed['plan'],
    outcome: outcome(),
    space: { predictedBytes: 0, predictionExact: true, elapsedMs: 1 }
  };
  core.inputs['docker-host'] = 'unix:///private.sock';
});
afterEach(() => {
  jest.clearAllMocks();
});

describe('the main step', () => {
  it('refuses a bad input before it connects, with the input, the value and an example', async () => {
    core.inputs['older-than'] = '7 days';
    await main();
    expect(ping).not.toHaveBeenCalled();
    expect(core.setFailed).toHaveBeenCalledWith(
      expect.stringMatching(/^Input "older-than" has an invalid value "7 days": .*such as 7d/)
    );
  });

  it('turns an until-free percentage into bytes of the engine’s disk', async () => {
    core.inputs['until-free'] = '25%';
    await main();
    expect(seen?.policy.untilFreeBytes).toBe(25 * GB);
    core.resetCore();
    core.inputs['docker-host'] = 'unix:///private.sock';
    core.inputs['until-free'] = '20GB';
    await main();
    expect(seen?.policy.untilFreeBytes).toBe(20 * GB);
  });

  it('refuses until-free when no disk can be shown to be the engine’s, saying why', async () => {
    state = engineState({ disk: { refusal: '/var/lib/docker is empty here' } });
    core.inputs['until-free'] = '25%';
    await main();
    expect(seen).toBeUndefined();
    expect(core.setFailed).toHaveBeenCalledWith(
      expect.stringContaining(
        'Input "until-free" needs the engine\'s data disk on this machine, and none can be shown: /var/lib/docker is empty here.'
      )
    );
  });

  it('with fail-on-error, fails on a removal that did not happen, naming it and why', async () => {
    core.inputs['fail-on-error'] = 'true';
    result.outcome = outcome({
      skipped: [
        { target: 'app:1', reason: { kind: 'removal-failed', status: 409, message: 'conflict' } }
      ]
    });
    await main();
    expect(core.setFailed).toHaveBeenCalledWith(
      '1 planned removals did not happen:\napp:1: removal failed (HTTP 409): conflict'
    );
  });

  it('without fail-on-error, warns instead, and a changed precondition is no failure at all', async () => {
    result.outcome = outcome({
      skipped: [
        { target: 'app:1', reason: { kind: 'removal-failed', status: 409, message: 'conflict' } },
        { target: 'app:2', reason: { kind: 'changed-since-plan', message: 'app:2 now names …' } }
      ]
    });
    await main();
    expect(core.setFailed).not.toHaveBeenCalled();
    expect(core.warning).toHaveBeenCalledTimes(1);
    expect(core.warning).toHaveBeenCalledWith('app:1: removal failed (HTTP 409): conflict');
  });

  it('fails when it lost the engine mid-run, with the address and how far it got', async () => {
    result.outcome = outcome({ engineLost: 'connect ECONNREFUSED', results: [] });
    await main();
    expect(core.setFailed).toHaveBeenCalledWith(
      expect.stringMatching(
        /^Lost the Docker engine at unix:\/\/\/private\.sock during the run \(connect ECONNREFUSED\)\. 0 of 0 steps were done\./
      )
    );
  });

  it('saves a snapshot’s path for job cleanup, never the snapshot itself', async () => {
    core.inputs['job-cleanup'] = 'true';
    const before = process.env.RUNNER_TEMP;
    process.env.RUNNER_TEMP = (await import('node:os')).tmpdir();
    try {
      await main();
    } finally {
      if (before === undefined) delete process.env.RUNNER_TEMP;
      else process.env.RUNNER_TEMP = before;
    }
    expect(core.state.snapshot).toMatch(/docker-reclaim-snapshot-.*\.json$/);
    expect(core.state.since).toBe(String(state.engineNow));
    expect(core.state.address).toBe('unix:///private.sock');
  });
});
