import { describe, expect, it } from '@jest/globals';
import { mayFree, plan } from '../../src/plan/planner.js';
import type {
  AgeBasis,
  AgeRecord,
  Inventory,
  InventoryImage,
  Plan,
  Reason,
  Reference,
  Step
} from '../../src/plan/types.js';
import { DAY, NOW, container, image, policy } from '../../__fixtures__/inventory.js';
import { untagOnly } from '../../__fixtures__/plan.js';

const inv = (images: Inventory['images'], containers: Inventory['containers'] = []): Inventory => ({
  images,
  containers
});
const stepIds = (p: Plan) => p.steps.map((s) => s.id);
const step = (p: Plan, id: string): Step => {
  const s = p.steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id} in ${stepIds(p).join(', ')}`);
  return s;
};
const reasonsFor = (p: Plan, target: string): Reason['kind'][] =>
  p.skipped.filter((s) => s.target === target).map((s) => s.reason.kind);
/** Every step a step waits on, directly or not. */
const ancestors = (p: Plan, id: string): Set<string> => {
  const out = new Set<string>();
  const walk = (x: string) =>
    step(p, x).dependsOn.forEach((d) => {
      if (!out.has(d)) {
        out.add(d);
        walk(d);
      }
    });
  walk(id);
  return out;
};
const imgStep = (id: string) => `image:${id}`;

describe('tags and images', () => {
  it('an image tagged in two repositories is untagged by name, the last untag after the first', () => {
    const a = image(['app:1', 'other/app:1']);
    const p = plan(inv([a]), policy({ images: ['**'] }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
    const untags = p.steps.filter((s) => s.kind === 'untag');
    expect(untags.map((s) => (s as { reference: string }).reference).sort()).toEqual([
      'app:1',
      'other/app:1'
    ]);
    expect(ancestors(p, imgStep(a.id))).toEqual(new Set(untags.map((s) => s.id)));
  });

  it('a selected tag next to an unselected tag is only untagged, and the image reports what still tags it', () => {
    const a = image(['app:1', 'keep:1']);
    const p = plan(inv([a]), policy({ images: ['app'] }), NOW);
    expect(untagOnly(p)).toEqual(['app:1']);
    expect(p.deleteImages).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: a.id,
      reason: { kind: 'still-tagged', references: ['keep:1'] }
    });
  });

  it('an excluded tag stays and keeps its image, and exclusion wins over selection', () => {
    const a = image(['app:1', 'app:stable']);
    const p = plan(inv([a]), policy({ images: ['app'], exclude: ['app:stable'] }), NOW);
    expect(untagOnly(p)).toEqual(['app:1']);
    expect(p.skipped).toContainEqual({
      target: 'app:stable',
      reason: { kind: 'excluded', pattern: 'app:stable' }
    });
    expect(p.deleteImages).toEqual([]);
  });

  it('an empty images input selects no tagged image', () => {
    const p = plan(inv([image(['app:1'])]), policy({ images: [] }), NOW);
    expect(p.steps).toEqual([]);
  });

  it('a digest-only image is removed by its digest reference when its repository is selected', () => {
    const a = image([], { digests: ['app@sha256:' + 'f'.repeat(64)] as never });
    const p = plan(inv([a]), policy({ images: ['app'] }), NOW);
    expect(stepIds(p)).toEqual([`untag:app@sha256:${'f'.repeat(64)}`, imgStep(a.id)]);
  });

  it('a tag pattern does not select digest references', () => {
    const a = image([], { digests: ['app@sha256:' + 'f'.repeat(64)] as never });
    expect(plan(inv([a]), policy({ images: ['app:*'] }), NOW).steps).toEqual([]);
  });

  it('the digests of a tagged repository go with its last tag instead of being steps of their own', () => {
    const d = `app@sha256:${'e'.repeat(64)}`;
    const a = image(['app:1'], { digests: [d] as never });
    const p = plan(inv([a]), policy({ images: ['app'] }), NOW);
    expect(stepIds(p)).toEqual(['untag:app:1', imgStep(a.id)]);
  });

  it('an excluded digest keeps the tags of its repository', () => {
    const d = `app@sha256:${'e'.repeat(64)}`;
    const a = image(['app:1'], { digests: [d] as never });
    const p = plan(inv([a]), policy({ images: ['app'], exclude: ['app@sha256:*'] }), NOW);
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, 'app:1')).toEqual(['excluded']);
  });
});

describe('digest references', () => {
  const digest = (repo: string, c: string) => `${repo}@sha256:${c.repeat(64)}`;

  it('the last tag of a repository carries its digests, after the other tags there', () => {
    const a = image(['app:1', 'app:2', 'lib:1'], { digests: [digest('app', 'e')] as never });
    const p = plan(inv([a]), policy({ images: ['**'] }), NOW);
    const carrier = step(p, 'untag:app:2');
    expect(carrier).toMatchObject({ digests: [digest('app', 'e')] });
    expect(carrier.dependsOn).toContain('untag:app:1');
    expect(step(p, 'untag:app:1')).toMatchObject({ digests: [] });
    expect(step(p, 'untag:lib:1')).toMatchObject({ digests: [] });
  });

  it('an image that stays loses the digests of a repository whose every tag goes', () => {
    const a = image(['app:1', 'keep:1'], {
      digests: [digest('app', 'e'), digest('keep', 'f')] as never
    });
    const p = plan(inv([a]), policy({ images: ['app'] }), NOW);
    expect(p.deleteImages).toEqual([]);
    expect(untagOnly(p)).toEqual(['app:1', digest('app', 'e')]);
  });

  it('a repository that keeps a tag keeps its digests', () => {
    const a = image(['app:1', 'app:2'], { digests: [digest('app', 'e')] as never });
    const p = plan(inv([a]), policy({ images: ['app:1'] }), NOW);
    expect(untagOnly(p)).toEqual(['app:1']);
    expect(step(p, 'untag:app:1')).toMatchObject({ digests: [] });
  });

  it('so does one whose kept tag sorts before the tag that goes', () => {
    const a = image(['app:1', 'app:2'], { digests: [digest('app', 'e')] as never });
    const p = plan(inv([a]), policy({ images: ['app:2'] }), NOW);
    expect(untagOnly(p)).toEqual(['app:2']);
    expect(step(p, 'untag:app:2')).toMatchObject({ digests: [], dependsOn: [] });
  });

  it("a repository's digests all go with its one carrier", () => {
    const a = image(['app:1', 'lib:1'], {
      digests: [digest('app', 'e'), digest('lib', 'd'), digest('app', 'f')] as never
    });
    const p = plan(inv([a]), policy({ images: ['**'] }), NOW);
    expect(step(p, 'untag:app:1')).toMatchObject({
      digests: [digest('app', 'e'), digest('app', 'f')]
    });
    expect(step(p, 'untag:lib:1')).toMatchObject({ digests: [digest('lib', 'd')] });
  });
});

describe('digest-only images are dangling, as Docker says', () => {
  const digest = (repo: string, c: string) => `${repo}@sha256:${c.repeat(64)}`;

  it('an image a re-pull left with only its digest is untagged by that digest, which deletes it', () => {
    const a = image([], { digests: [digest('app', 'e')] as never });
    const p = plan(inv([a]), policy({ dangling: true }), NOW);
    expect(stepIds(p)).toEqual([`untag:${digest('app', 'e')}`, imgStep(a.id)]);
    expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
  });

  it('digests in two repositories go one by one, never by ID, which the engine would refuse', () => {
    const a = image([], { digests: [digest('one/app', 'e'), digest('two/app', 'e')] as never });
    const p = plan(inv([a]), policy({ dangling: true }), NOW);
    const untags = p.steps.filter((s) => s.kind === 'untag').map((s) => s.id);
    expect(untags).toHaveLength(2);
    expect(step(p, untags[1]!).dependsOn).toContain(untags[0]);
    expect(step(p, imgStep(a.id)).dependsOn).toEqual([untags[1]]);
  });

  it('are left alone when dangling is off', () => {
    const a = image([], { digests: [digest('app', 'e')] as never });
    expect(plan(inv([a]), policy({ dangling: false }), NOW).steps).toEqual([]);
  });

  it('a digest-only parent of a kept child loses its digests and stays, as docker image prune leaves it', () => {
    const base = image([], { digests: [digest('base', 'e')] as never });
    const child = image(['app:1'], { parent: base.id });
    const p = plan(inv([base, child]), policy({ dangling: true }), NOW);
    expect(p.deleteImages).toEqual([]);
    expect(untagOnly(p)).toEqual([digest('base', 'e')]);
    expect(reasonsFor(p, base.id)).toEqual(['parent-of-kept-image']);
  });

  it('one that a stopped container uses stays unless containers selects the container', () => {
    const a = image([], { digests: [digest('app', 'e')] as never });
    const c = container(a, 'exited', { names: ['old'] });
    const p = plan(inv([a], [c]), policy({ dangling: true }), NOW);
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, a.id)).toEqual(['used-by-unselected-container']);
  });

  it('an excluded digest keeps its dangling image', () => {
    const a = image([], { digests: [digest('app', 'e')] as never });
    const p = plan(inv([a]), policy({ dangling: true, exclude: ['app@sha256:*'] }), NOW);
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, digest('app', 'e'))).toEqual(['excluded']);
  });

  it('a REPO@sha256:* pattern selects digest-only images of that repository', () => {
    const a = image([], { digests: [digest('app', 'e')] as never });
    const b = image([], { digests: [digest('lib', 'f')] as never });
    const p = plan(inv([a, b]), policy({ images: ['app@sha256:*'] }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
  });
});

describe('containers hold their image', () => {
  it('a stopped container is removed before its image’s last tag', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited');
    const p = plan(inv([a], [c]), policy({ images: ['app'] }), NOW);
    expect(p.removeContainers.map((x) => x.id)).toEqual([c.id]);
    expect(step(p, 'untag:app:1').dependsOn).toContain(`container:${c.id}`);
  });

  it.each(['running', 'paused', 'restarting'] as const)(
    'a %s container keeps its image with all its tags',
    (state) => {
      const a = image(['app:1', 'app:2']);
      const c = container(a, state);
      const p = plan(inv([a], [c]), policy({ images: ['**'], containers: ['*'] }), NOW);
      expect(p.steps).toEqual([]);
      expect(reasonsFor(p, 'app:1')).toEqual(['in-use-by-running-container']);
      expect(reasonsFor(p, 'app:2')).toEqual(['in-use-by-running-container']);
    }
  );

  it('an excluded stopped container keeps its image, and the reason names the container', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited', { names: ['precious'] });
    const p = plan(inv([a], [c]), policy({ images: ['app'], exclude: ['precious'] }), NOW);
    expect(p.steps).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: 'app:1',
      reason: {
        kind: 'held-by-kept-container',
        container: 'precious',
        because: { kind: 'excluded', pattern: 'precious' }
      }
    });
  });

  it('a stopped container younger than containers-older-than keeps its image', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited', { stoppedDaysAgo: 1 });
    const p = plan(
      inv([a], [c]),
      policy({ images: ['app'], containersOlderThanMs: 2 * DAY, ageBasis: 'created' }),
      NOW
    );
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, 'app:1')).toEqual(['held-by-kept-container']);
  });

  it('the runner’s own containers are never removed, by label or by network', () => {
    const a = image(['svc:1']);
    const byLabel = container(a, 'exited', { labels: { '1a2b3c': '' } });
    const b = image(['svc:2']);
    const byNet = container(b, 'exited', { networks: ['github_network_' + 'a'.repeat(32)] });
    const p = plan(
      inv([a, b], [byLabel, byNet]),
      policy({ images: ['**'], containers: ['*'] }),
      NOW
    );
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, byLabel.names[0]!)).toEqual(['runner-owned']);
    expect(reasonsFor(p, byNet.names[0]!)).toEqual(['runner-owned']);
  });

  it('a label with a 6-hex key but a value does not make a container the runner’s', () => {
    const a = image(['x:1']);
    const c = container(a, 'exited', { labels: { abcdef: 'yes' } });
    const p = plan(inv([a], [c]), policy({ images: ['**'] }), NOW);
    expect(p.removeContainers.map((x) => x.id)).toEqual([c.id]);
  });

  it('containers patterns remove old stopped containers and never running ones', () => {
    const a = image(['base:1']);
    const old = container(a, 'exited', { names: ['job-1'], stoppedDaysAgo: 5 });
    const young = container(a, 'exited', { names: ['job-2'], stoppedDaysAgo: 0.5 });
    const neverRan = container(a, 'created', { names: ['job-3'], stoppedDaysAgo: 5 });
    const running = container(a, 'running', { names: ['job-4'] });
    const other = container(a, 'exited', { names: ['web'] });
    const p = plan(
      inv([a], [old, young, neverRan, running, other]),
      policy({ containers: ['job-*'], containersOlderThanMs: DAY }),
      NOW
    );
    expect(p.removeContainers.map((c) => c.name).sort()).toEqual(['job-1', 'job-3']);
    expect(reasonsFor(p, 'job-2')).toEqual(['too-young']);
    expect(p.skipped).toContainEqual({
      target: 'job-4',
      reason: { kind: 'container-running', state: 'running' }
    });
    expect(p.steps.every((s) => s.kind === 'remove-container')).toBe(true);
  });
});

describe('parents and children', () => {
  it('a parent/child chain where both are selected deletes the child first', () => {
    const parent = image(['base:1']);
    const child = image(['app:1'], { parent: parent.id });
    const p = plan(inv([parent, child]), policy({ images: ['**'] }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([child.id, parent.id]);
    expect(ancestors(p, 'untag:base:1')).toContain(imgStep(child.id));
  });

  it('a selected parent whose child is kept is only untagged', () => {
    const parent = image(['base:1']);
    const child = image(['app:1'], { parent: parent.id });
    const p = plan(inv([parent, child]), policy({ images: ['base'] }), NOW);
    expect(p.deleteImages).toEqual([]);
    expect(untagOnly(p)).toEqual(['base:1']);
    expect(reasonsFor(p, parent.id)).toEqual(['parent-of-kept-image']);
  });

  it('an untagged intermediate parent is predicted to be pruned with its last child', () => {
    const mid = image([]);
    const child = image(['app:1'], { parent: mid.id });
    const p = plan(inv([mid, child]), policy({ images: ['app'] }), NOW);
    expect(p.deleteImages.map((i) => [i.id, i.prunedParent])).toEqual([
      [child.id, false],
      [mid.id, true]
    ]);
  });

  it('a container of an untagged parent goes before the child whose deletion prunes that parent', () => {
    const mid = image([]);
    const c = container(mid, 'exited', { names: ['job'] });
    const child = image(['app:1'], { parent: mid.id });
    const p = plan(inv([mid, child], [c]), policy({ images: ['app'], containers: ['job'] }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([child.id, mid.id]);
    expect(ancestors(p, imgStep(child.id))).toContain(`container:${c.id}`);
  });

  it('a selected parent kept by its child keeps its references while a container uses it', () => {
    const parent = image(['base:1']);
    const child = image(['app:1'], { parent: parent.id });
    const c = container(parent, 'exited');
    const p = plan(inv([parent, child], [c]), policy({ images: ['base'] }), NOW);
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, parent.id)).toEqual(['parent-of-kept-image']);
  });

  it('an intermediate parent is not dangling: dangling=true leaves it to its children', () => {
    const mid = image([]);
    const child = image(['app:1'], { parent: mid.id });
    expect(plan(inv([mid, child]), policy({ dangling: true }), NOW).steps).toEqual([]);
  });
});

describe('calls that may prune one untagged parent never run at once', () => {
  // dockerd reads a parent's children and then asks whether it is dangling, with no lock held:
  // a sibling deleted in between turns a call into a refusal (steps.ts, pruneLocks).
  const locks = (p: Plan, id: string) => {
    const s = step(p, id);
    return s.kind === 'untag' || s.kind === 'delete-image' ? (s.locks ?? []) : [];
  };

  it('siblings that go lock their untagged parent, on the steps that delete them', () => {
    const mid = image([]);
    const tagged = image(['app:1', 'app:2'], { parent: mid.id });
    const dangling = image([], { parent: mid.id });
    const p = plan(inv([mid, tagged, dangling]), policy({ images: ['app'], dangling: true }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toContain(mid.id);
    // The untag that leaves a reference deletes nothing; the last one deletes the image.
    const [first, last] = stepIds(p).filter((s) => s.startsWith('untag:'));
    expect(locks(p, first!)).toEqual([]);
    expect(locks(p, last!)).toEqual([mid.id]);
    expect(locks(p, imgStep(tagged.id))).toEqual([mid.id]);
    expect(locks(p, imgStep(dangling.id))).toEqual([mid.id]);
    expect(locks(p, imgStep(mid.id))).toEqual([]);
  });

  it('cousins lock the untagged ancestor they may both reach, and only that one', () => {
    const root = image([]);
    const mid = image([], { parent: root.id });
    const a = image(['app:1'], { parent: mid.id });
    const b = image(['app:2'], { parent: root.id });
    const p = plan(inv([root, mid, a, b]), policy({ images: ['app'] }), NOW);
    expect(p.deleteImages.map((i) => i.id).sort()).toEqual(
      [root, mid, a, b].map((i) => i.id).sort()
    );
    // a's call reaches root through mid, once mid is pruned with it; mid is reached through a alone.
    for (const id of [a.id, mid.id, b.id]) expect(locks(p, imgStep(id))).toEqual([root.id]);
    expect(locks(p, 'untag:app:1')).toEqual([root.id]);
  });

  it('a parent that keeps a reference is never dangling, and locks nothing', () => {
    const base = image(['base:1']);
    const kids = [image(['app:1'], { parent: base.id }), image([], { parent: base.id })];
    const p = plan(inv([base, ...kids]), policy({ images: ['app'], dangling: true }), NOW);
    expect(p.deleteImages.map((i) => i.id).sort()).toEqual(kids.map((i) => i.id).sort());
    expect(p.steps.filter((s) => 'locks' in s)).toEqual([]);
  });

  it('a chain is one call after another already, and locks nothing', () => {
    const root = image([]);
    const mid = image([], { parent: root.id });
    const child = image(['app:1'], { parent: mid.id });
    const p = plan(inv([root, mid, child]), policy({ images: ['app'] }), NOW);
    expect(p.deleteImages).toHaveLength(3);
    expect(p.steps.filter((s) => 'locks' in s)).toEqual([]);
  });

  it('a parent that loses every tag but stays for a kept child is never dangling: no lock', () => {
    const base = image(['base:1']);
    const kept = image(['keep:1'], { parent: base.id });
    const x = image(['app:1'], { parent: base.id });
    const y = image(['app:2'], { parent: base.id });
    const p = plan(inv([base, kept, x, y]), policy({ images: ['app', 'base'] }), NOW);
    expect(untagOnly(p)).toEqual(['base:1']);
    expect(p.deleteImages.map((i) => i.id).sort()).toEqual([x.id, y.id].sort());
    expect(p.steps.filter((s) => 'locks' in s)).toEqual([]);
  });

  it('an untagged parent that a container keeps is locked: the engine checks its children first', () => {
    const mid = image([]);
    const user = container(mid, 'running', { names: ['web'] });
    const kids = [image(['app:1'], { parent: mid.id }), image([], { parent: mid.id })];
    const p = plan(inv([mid, ...kids], [user]), policy({ images: ['app'], dangling: true }), NOW);
    expect(p.deleteImages.map((i) => i.id).sort()).toEqual(kids.map((i) => i.id).sort());
    expect(locks(p, 'untag:app:1')).toEqual([mid.id]);
    expect(locks(p, imgStep(kids[1]!.id))).toEqual([mid.id]);
  });

  it('a tagged parent that goes stops its children quietly, and its own last untag locks above it', () => {
    const root = image([]);
    const base = image(['base:1'], { parent: root.id });
    const kids = [image(['app:1'], { parent: base.id }), image(['app:2'], { parent: base.id })];
    const other = image(['app:3'], { parent: root.id });
    const p = plan(inv([root, base, ...kids, other]), policy({ images: ['app', 'base'] }), NOW);
    expect(p.deleteImages).toHaveLength(5);
    for (const k of kids) expect(locks(p, imgStep(k.id))).toEqual([]);
    expect(locks(p, 'untag:base:1')).toEqual([root.id]);
    expect(locks(p, 'untag:app:3')).toEqual([root.id]);
  });
});

describe('dangling images', () => {
  it('are deleted by ID when dangling is on', () => {
    const d = image([]);
    const p = plan(inv([d]), policy({ dangling: true }), NOW);
    expect(p.steps).toEqual([
      {
        id: imgStep(d.id),
        kind: 'delete-image',
        image: d.id,
        requires: { kind: 'unreferenced' },
        dependsOn: []
      }
    ]);
  });

  it('are left alone when dangling is off', () => {
    expect(plan(inv([image([])]), policy({ dangling: false }), NOW).steps).toEqual([]);
  });

  it('are kept when a container that containers does not select uses them', () => {
    const d = image([]);
    const c = container(d, 'exited', { names: ['old'] });
    const p = plan(inv([d], [c]), policy({ dangling: true }), NOW);
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, d.id)).toEqual(['used-by-unselected-container']);
    const p2 = plan(inv([d], [c]), policy({ dangling: true, containers: ['old'] }), NOW);
    expect(stepIds(p2)).toEqual([`container:${c.id}`, imgStep(d.id)]);
  });

  it('respect older-than', () => {
    const d = image([], { ageDays: 1 });
    const p = plan(inv([d]), policy({ dangling: true, olderThanMs: 2 * DAY }), NOW);
    expect(p.steps).toEqual([]);
    expect(reasonsFor(p, d.id)).toEqual(['too-young']);
  });
});

describe('age bases', () => {
  const old = NOW - 3 * 365 * DAY;
  const H = 3_600_000;
  const pulled = (hoursAgo: number, earlierRun = false) => ({
    event: { time: NOW - hoursAgo * H, action: 'pull' as const, earlierRun }
  });
  const cases: {
    name: string;
    basis: AgeBasis;
    image: Partial<InventoryImage>;
    usedHoursAgo?: number;
    record?: AgeRecord;
  }[] = [
    { name: 'created: the build date, even 1970', basis: 'created', image: { created: 0 } },
    {
      name: 'tagged: the engine’s tag time',
      basis: 'tagged',
      image: { lastTagTime: NOW - 24 * H },
      record: { kind: 'tag-time' }
    },
    {
      name: 'tagged: a pull event of a years-old build',
      basis: 'tagged',
      image: { lastTagTime: undefined, arrival: pulled(1) },
      record: { kind: 'event', action: 'pull', earlierRun: false }
    },
    {
      name: 'tagged: a pull event later than the tag time',
      basis: 'tagged',
      image: { lastTagTime: NOW - 30 * 24 * H, arrival: pulled(1) },
      record: { kind: 'event', action: 'pull', earlierRun: false }
    },
    {
      name: 'tagged: an old pull event an earlier run kept',
      basis: 'tagged',
      image: { lastTagTime: undefined, arrival: pulled(30 * 24, true) }
    },
    {
      name: 'tagged: the ledger’s first sight, with no other record',
      basis: 'tagged',
      image: { lastTagTime: undefined, arrival: { firstSeen: NOW - 24 * H } },
      record: { kind: 'first-seen', earlierRun: true }
    },
    {
      name: 'tagged: an old first sight',
      basis: 'tagged',
      image: { lastTagTime: undefined, arrival: { firstSeen: NOW - 30 * 24 * H } }
    },
    {
      name: 'tagged: the tag time wins over a later first sight',
      basis: 'tagged',
      image: { lastTagTime: NOW - 30 * 24 * H, arrival: { firstSeen: NOW - H } }
    },
    {
      name: 'tagged: no record at all counts from now, never from the build date',
      basis: 'tagged',
      image: { lastTagTime: undefined, created: 0 },
      record: { kind: 'first-seen', earlierRun: false }
    },
    {
      name: 'last-used: a container used it after it arrived',
      basis: 'last-used',
      image: { lastTagTime: NOW - 30 * 24 * H },
      usedHoursAgo: 24,
      record: { kind: 'container', container: 'job' }
    },
    {
      name: 'last-used: an old arrival and no container',
      basis: 'last-used',
      image: { lastTagTime: NOW - 30 * 24 * H }
    },
    {
      name: 'last-used: no record at all counts from now',
      basis: 'last-used',
      image: { lastTagTime: undefined },
      record: { kind: 'first-seen', earlierRun: false }
    }
  ];
  it.each(cases)('$name', ({ basis, image: over, usedHoursAgo, record }) => {
    const a = image(['app:1'], { created: old, ...over });
    const used = usedHoursAgo === undefined ? undefined : NOW - usedHoursAgo * H;
    const cs = used
      ? [
          container(a, 'exited', {
            names: ['job'],
            created: used,
            startedAt: used,
            finishedAt: used
          })
        ]
      : [];
    const p = plan(
      inv([a], cs),
      policy({ images: ['app'], olderThanMs: 7 * DAY, ageBasis: basis }),
      NOW
    );
    if (record === undefined) {
      expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
    } else {
      expect(p.deleteImages).toEqual([]);
      const reason = p.skipped.find((s) => s.target === 'app:1')?.reason;
      expect(reason).toMatchObject({ kind: 'too-young', record });
    }
  });

  it('a too-young reason carries the age, the basis and the record that decided it', () => {
    const a = image(['app:1'], { created: old, lastTagTime: NOW - 2 * DAY });
    const p = plan(
      inv([a]),
      policy({ images: ['app'], olderThanMs: 7 * DAY, ageBasis: 'tagged' }),
      NOW
    );
    expect(p.skipped[0]!.reason).toEqual({
      kind: 'too-young',
      ageMs: 2 * DAY,
      minMs: 7 * DAY,
      basis: 'tagged',
      record: { kind: 'tag-time' }
    });
  });

  it('a deleted image reports the record its age was read from', () => {
    const a = image(['app:1'], { lastTagTime: undefined, arrival: pulled(30 * 24, true) });
    const p = plan(inv([a]), policy({ images: ['app'], olderThanMs: 7 * DAY }), NOW);
    expect(p.deleteImages[0]).toMatchObject({
      basis: 'tagged',
      basisTime: NOW - 30 * DAY,
      ageRecord: { kind: 'event', action: 'pull', earlierRun: true }
    });
  });
});

describe('keep-latest', () => {
  it('keeps the N newest selected tags of each repository', () => {
    const imgs = [1, 2, 3, 4].map((n) => image([`app:${n}`], { ageDays: 10 - n }));
    const others = [1, 2].map((n) => image([`lib:${n}`], { ageDays: 10 - n }));
    const p = plan(inv([...imgs, ...others]), policy({ images: ['**'], keepLatest: 2 }), NOW);
    expect(p.deleteImages.map((i) => i.references[0]).sort()).toEqual(['app:1', 'app:2']);
    expect(reasonsFor(p, 'app:4')).toEqual(['kept-by-keep-latest']);
    expect(reasonsFor(p, 'lib:1')).toEqual(['kept-by-keep-latest']);
  });

  it('counts images, not tags: every tag of a kept image stays', () => {
    const old = image(['app:1.0'], { ageDays: 9 });
    const newest = image(['app:1.1', 'app:latest'], { ageDays: 1 });
    const p = plan(inv([old, newest]), policy({ images: ['app'], keepLatest: 1 }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([old.id]);
    expect(untagOnly(p)).toEqual([]);
    expect(reasonsFor(p, 'app:latest')).toEqual(['kept-by-keep-latest']);
    expect(reasonsFor(p, 'app:1.1')).toEqual(['kept-by-keep-latest']);
  });

  it('does not count excluded references toward N', () => {
    const imgs = [1, 2, 3].map((n) => image([`app:${n}`], { ageDays: 10 - n }));
    const p = plan(inv(imgs), policy({ images: ['app'], exclude: ['app:3'], keepLatest: 1 }), NOW);
    expect(p.deleteImages.map((i) => i.references[0])).toEqual(['app:1']);
    expect(reasonsFor(p, 'app:2')).toEqual(['kept-by-keep-latest']);
    expect(reasonsFor(p, 'app:3')).toEqual(['excluded']);
  });

  it('groups docker.io/library names with their familiar form', () => {
    const a = image(['docker.io/library/app:1'], { ageDays: 5 });
    const b = image(['app:2'], { ageDays: 1 });
    const p = plan(inv([a, b]), policy({ images: ['app'], keepLatest: 1 }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
  });

  it('counts an ID the engine lists twice once, and keeps the tags of both listings', () => {
    const old = image(['app:1'], { ageDays: 9 });
    const kept = image(['app:2'], { ageDays: 1 });
    const again = { ...kept, tags: ['app:3'] as Reference[] };
    const p = plan(inv([old, kept, again]), policy({ images: ['app'], keepLatest: 1 }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([old.id]);
    expect(reasonsFor(p, 'app:2')).toEqual(['kept-by-keep-latest']);
    expect(reasonsFor(p, 'app:3')).toEqual(['kept-by-keep-latest']);
  });
});

describe('each step carries its precondition', () => {
  it('a container must still be stopped, a reference must still name the planned image, an image must have no reference left', () => {
    const a = image(['app:1']);
    const c = container(a, 'exited');
    const d = image([]);
    const p = plan(inv([a, d], [c]), policy({ images: ['app'], dangling: true }), NOW);
    expect(step(p, `container:${c.id}`).requires).toEqual({ kind: 'stopped' });
    expect(step(p, 'untag:app:1').requires).toEqual({ kind: 'names-image', image: a.id });
    expect(step(p, imgStep(d.id)).requires).toEqual({ kind: 'unreferenced' });
  });
});

describe('the plan as data', () => {
  it('is the same for the same inventory, policy and time', () => {
    const a = image(['app:1', 'app:2']);
    const c = container(a);
    const i = inv([a, image([])], [c]);
    const pol = policy({ images: ['**'], dangling: true });
    expect(plan(i, pol, NOW)).toEqual(plan(structuredClone(i), pol, NOW));
  });

  it('depends only on its arguments: a later clock can only make more images old enough', () => {
    const a = image(['app:1'], { ageDays: 3 });
    const pol = policy({ images: ['app'], olderThanMs: 5 * DAY });
    expect(plan(inv([a]), pol, NOW).steps).toEqual([]);
    expect(plan(inv([a]), pol, NOW + 3 * DAY).steps.length).toBe(2);
  });
});

describe('determinism', () => {
  it('gives the same plan whatever order the engine lists things in', () => {
    const a = image(['app:1', 'app:2']);
    const b = image(['app:3']);
    const d = image([]);
    const c1 = container(a);
    const c2 = container(b);
    const pol = policy({ images: ['**'], dangling: true });
    const forward = plan(inv([a, b, d], [c1, c2]), pol, NOW);
    const backward = plan(inv([d, b, a], [c2, c1]), pol, NOW);
    expect(backward).toEqual(forward);
  });
});

describe('container states', () => {
  it.each(['stopping', 'removing', 'some-future-state'])(
    'a container in state %s counts as running: never removed, and its image stays',
    (state) => {
      const a = image(['app:1']);
      const c = container(a, state as never);
      const p = plan(inv([a], [c]), policy({ images: ['**'], containers: ['*'] }), NOW);
      expect(p.steps).toEqual([]);
      expect(reasonsFor(p, 'app:1')).toEqual(['in-use-by-running-container']);
    }
  );
});

describe('which images need their layer sizes', () => {
  it('only those a pattern selects, or that have no tag', () => {
    const may = mayFree(policy({ images: ['app'] }));
    expect(may(['app:1', 'other:1'])).toBe(true);
    expect(may(['other:1'])).toBe(false);
    expect(may([])).toBe(true);
    expect(may([`other@sha256:${'e'.repeat(64)}`])).toBe(true);
  });
});
