// The volumes phase: which volumes go, after which containers, and what a run leaves.
import { describe, expect, it } from '@jest/globals';
import { plan } from '../../src/plan/planner.js';
import { isAnonymous } from '../../src/plan/volumes.js';
import type { Inventory, Plan, Step } from '../../src/plan/types.js';
import {
  NOW,
  anonymousName,
  container,
  image,
  policy,
  volume
} from '../../__fixtures__/inventory.js';

const inv = (over: Partial<Inventory>): Inventory => ({ images: [], containers: [], ...over });
const removed = (p: Plan) => p.removeVolumes.map((v) => v.name).sort();
const step = (p: Plan, id: string): Step => p.steps.find((s) => s.id === id)!;

describe('which volumes are anonymous', () => {
  it('those labelled by Docker 23 and later, and the 64-hex names of 20.10 and of 23.0–27.3 --mount', () => {
    expect(isAnonymous(volume('db-data', { labels: { 'com.docker.volume.anonymous': '' } }))).toBe(
      true
    );
    expect(isAnonymous(volume(anonymousName(1)))).toBe(true);
    expect(isAnonymous(volume('myapp-pr-7_db-data'))).toBe(false);
    expect(isAnonymous(volume('E'.repeat(64)))).toBe(false);
  });
});

describe('volumes', () => {
  it('are left alone with the default inputs', () => {
    const p = plan(inv({ volumes: [volume('n1'), volume(anonymousName(1))] }), policy(), NOW);
    expect(p.removeVolumes).toEqual([]);
  });

  it('named volumes go only when a volumes pattern selects them', () => {
    const vs = [
      volume('myapp-pr-7_db-data'),
      volume('myapp-main_db-data'),
      volume(anonymousName(1))
    ];
    const p = plan(
      inv({ volumes: vs }),
      policy({ volumes: ['myapp-pr-*'], anonymousVolumes: false }),
      NOW
    );
    expect(removed(p)).toEqual(['myapp-pr-7_db-data']);
  });

  it('anonymous-volumes takes the orphans an earlier docker rm left, and never a named volume', () => {
    const vs = [volume('n1'), volume(anonymousName(1)), volume(anonymousName(2))];
    const p = plan(inv({ volumes: vs }), policy({ anonymousVolumes: true }), NOW);
    expect(removed(p)).toEqual([anonymousName(1), anonymousName(2)].sort());
  });

  it('a volume of a container this run removes goes after that container', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited', { names: ['job'], volumes: [anonymousName(1)] });
    const p = plan(
      inv({ images: [a], containers: [c], volumes: [volume(anonymousName(1))] }),
      policy({ containers: ['job'], anonymousVolumes: true }),
      NOW
    );
    expect(removed(p)).toEqual([anonymousName(1)]);
    expect(step(p, `volume:${anonymousName(1)}`).dependsOn).toEqual([`container:${c.id}`]);
  });

  it('a volume used by a container that stays stays, running or stopped, and says which', () => {
    const a = image(['app:1']);
    const running = container(a, 'running', { names: ['db'], volumes: ['data'] });
    const stopped = container(a, 'exited', { names: ['old'], volumes: [anonymousName(1)] });
    const p = plan(
      inv({
        images: [a],
        containers: [running, stopped],
        volumes: [volume('data'), volume(anonymousName(1))]
      }),
      policy({ volumes: ['*'], anonymousVolumes: true }),
      NOW
    );
    expect(p.removeVolumes).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: 'data',
      reason: { kind: 'volume-in-use', container: 'db', state: 'running' }
    });
    expect(p.skipped).toContainEqual({
      target: anonymousName(1),
      reason: { kind: 'volume-in-use', container: 'old', state: 'exited' }
    });
  });

  it('a volume of an excluded container stays with it', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited', { names: ['precious'], volumes: [anonymousName(1)] });
    const p = plan(
      inv({ images: [a], containers: [c], volumes: [volume(anonymousName(1))] }),
      policy({ containers: ['*'], exclude: ['precious'], anonymousVolumes: true }),
      NOW
    );
    expect(p.removeVolumes).toEqual([]);
    expect(p.skipped.map((s) => s.reason.kind)).toContain('volume-in-use');
  });

  it('exclude protects volume names too', () => {
    const p = plan(
      inv({ volumes: [volume('keep-data'), volume('ci-data')] }),
      policy({ volumes: ['*-data'], exclude: ['keep-*'] }),
      NOW
    );
    expect(removed(p)).toEqual(['ci-data']);
    expect(p.skipped).toContainEqual({
      target: 'keep-data',
      reason: { kind: 'excluded', pattern: 'keep-*' }
    });
  });

  it('a volume two removed containers share waits for both', () => {
    const a = image(['app:1']);
    const c1 = container(a, 'exited', { names: ['j1'], volumes: [anonymousName(1)] });
    const c2 = container(a, 'exited', { names: ['j2'], volumes: [anonymousName(1)] });
    const p = plan(
      inv({ images: [a], containers: [c1, c2], volumes: [volume(anonymousName(1))] }),
      policy({ containers: ['j*'], anonymousVolumes: true }),
      NOW
    );
    expect([...step(p, `volume:${anonymousName(1)}`).dependsOn].sort()).toEqual(
      [`container:${c1.id}`, `container:${c2.id}`].sort()
    );
  });

  it('count in the predicted bytes, and an unmeasured one makes the prediction inexact', () => {
    const p = plan(
      inv({ volumes: [volume('a', { size: 300 }), volume('b', { size: undefined })] }),
      policy({ volumes: ['*'] }),
      NOW
    );
    expect(p.space).toMatchObject({ volumeBytes: 300, bytes: 300, exact: false });
  });
});

describe('what a run leaves', () => {
  it('counts unused volumes it was not asked to take, so that the summary can say which input would', () => {
    const a = image(['app:1']);
    const c = container(a, 'running', { volumes: ['used'] });
    const p = plan(
      inv({
        images: [a],
        containers: [c],
        volumes: [
          volume('used', { size: 5 }),
          volume('named', { size: 7 }),
          volume(anonymousName(1), { size: 11 }),
          volume(anonymousName(2), { size: 13 })
        ]
      }),
      policy(),
      NOW
    );
    expect(p.leftovers).toMatchObject({
      anonymousVolumes: { count: 2, bytes: 24 },
      namedVolumes: { count: 1, bytes: 7 }
    });
    expect(p.leftovers.buildCache).toBeUndefined();
  });

  it('a volume whose only container this run removes is left unused, and counted', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited', { names: ['job'], volumes: [anonymousName(1)] });
    const p = plan(
      inv({ images: [a], containers: [c], volumes: [volume(anonymousName(1), { size: 9 })] }),
      policy({ containers: ['job'] }),
      NOW
    );
    expect(p.leftovers.anonymousVolumes).toEqual({ count: 1, bytes: 9 });
  });
});
