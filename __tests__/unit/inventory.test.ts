// Reading layer sizes: one history call per image would cost a request for each of thousands of
// images that mostly share their layers. These check that the sizes stay exact while the calls go
// only to images that hold a layer nothing else has sized, against a stand-in for dockerode.
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import fc from 'fast-check';
import { readInventory } from '../../src/engine/inventory.js';
import { chainIds } from '../../src/engine/layers.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** A layer's size, the same wherever the layer appears: a function of its ChainID. */
const sizeOf = (chain: string) => (parseInt(chain.slice(7, 13), 16) % 1000) + 1;

interface FakeImage {
  id: string;
  tags: string[];
  /** Diff IDs, bottom first. */
  diffs: string[];
}

/** dockerode as readInventory uses it; `gone` answers 404 to those images' history. */
function fakeDocker(images: FakeImage[], gone: Set<string> = new Set()) {
  const historyCalls: string[] = [];
  const byId = new Map(images.map((i) => [i.id, i]));
  const notFound = () => Object.assign(new Error('no such image'), { statusCode: 404 });
  const docker = {
    listImages: async () =>
      images.map((i) => ({
        Id: i.id,
        RepoTags: i.tags,
        RepoDigests: [],
        Created: 1_700_000_000,
        Size: chainIds(i.diffs).reduce((sum, c) => sum + sizeOf(c), 0),
        ParentId: ''
      })),
    listContainers: async () => [],
    getImage: (id: string) => ({
      inspect: async () => {
        const i = byId.get(id);
        if (!i) throw notFound();
        return { Id: i.id, Created: '2024-01-01T00:00:00Z', RootFS: { Layers: i.diffs } };
      },
      history: async () => {
        historyCalls.push(id);
        const i = byId.get(id);
        if (!i || gone.has(id)) throw notFound();
        // Newest first, with a metadata-only entry on top, as `docker history` shows.
        const layers = chainIds(i.diffs).map((c) => ({ Size: sizeOf(c), CreatedBy: 'RUN make' }));
        return [{ Size: 0, CreatedBy: 'CMD ["app"]' }, ...layers.reverse()];
      }
    })
  };
  return { docker: docker as unknown as Docker, historyCalls };
}

const base = [sha('base 0'), sha('base 1')];
const image = (n: number, own: string[] = [sha(`own ${n}`)]): FakeImage => ({
  id: sha(`image ${n}`),
  tags: [`app:${n}`],
  diffs: [...base, ...own]
});

describe('layer sizes from history', () => {
  it('asks once for layers that many images share, and each image with a layer of its own', async () => {
    // Five images with a layer of their own, and five rebuilt on the same two layers alone.
    const images = [
      ...[0, 1, 2, 3, 4].map((n) => image(n)),
      ...[5, 6, 7, 8, 9].map((n) => image(n, []))
    ];
    const { docker, historyCalls } = fakeDocker(images);
    const { layerSizes = {} } = await readInventory(docker);
    expect(historyCalls).toHaveLength(5);
    for (const i of images) {
      for (const chain of chainIds(i.diffs)) expect(layerSizes[chain]).toBe(sizeOf(chain));
    }
  });

  it('asks another image when the first one asked is gone', async () => {
    const images = [image(0, []), image(1, [])];
    const { docker, historyCalls } = fakeDocker(images, new Set([images[0]!.id]));
    const { layerSizes = {} } = await readInventory(docker);
    expect(historyCalls).toEqual([images[0]!.id, images[1]!.id]);
    for (const chain of chainIds(images[1]!.diffs)) {
      expect(layerSizes[chain]).toBe(sizeOf(chain));
    }
  });

  it('asks nothing for images the plan cannot delete, nor for a single layer', async () => {
    const single: FakeImage = { id: sha('single'), tags: ['tool:1'], diffs: [sha('only')] };
    const { docker, historyCalls } = fakeDocker([
      image(0),
      { ...image(1), tags: ['keep:1'] },
      single
    ]);
    const { layerSizes = {} } = await readInventory(docker, (refs) => !refs.includes('keep:1'));
    expect(historyCalls).toEqual([sha('image 0')]);
    expect(layerSizes[sha('only')]).toBe(sizeOf(sha('only')));
  });

  it('sizes every layer of every image that may go exactly, with at most one call per layer', async () => {
    // Images as paths in a small tree of layers, so that they share bottoms in many ways.
    const images = fc.array(
      fc.record({
        diffs: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
        mayFree: fc.boolean(),
        gone: fc.boolean()
      }),
      { minLength: 1, maxLength: 25 }
    );
    await fc.assert(
      fc.asyncProperty(images, async (specs) => {
        const fakes = specs.map((s, n) => ({
          id: sha(`image ${n}`),
          tags: [s.mayFree ? `app:${n}` : `keep:${n}`],
          diffs: s.diffs.map((d, depth) => sha(`diff ${depth} ${d}`))
        }));
        const gone = new Set(fakes.filter((_, n) => specs[n]!.gone).map((f) => f.id));
        const { docker, historyCalls } = fakeDocker(fakes, gone);
        const { layerSizes = {} } = await readInventory(docker, (refs) =>
          refs[0]!.startsWith('app:')
        );
        const mayGo = fakes.filter((_, n) => specs[n]!.mayFree);
        const answered = mayGo.filter((f) => !gone.has(f.id) || f.diffs.length === 1);
        // Every layer that some answering image holds has its exact size.
        for (const chain of new Set(answered.flatMap((f) => chainIds(f.diffs)))) {
          expect(layerSizes[chain]).toBe(sizeOf(chain));
        }
        // And nothing is sized wrong, derived sizes included.
        for (const [chain, size] of Object.entries(layerSizes)) {
          expect(size).toBe(sizeOf(chain));
        }
        const multi = mayGo.filter((f) => f.diffs.length > 1);
        expect(new Set(historyCalls).size).toBe(historyCalls.length);
        // A call that was answered sized a layer that nothing had sized before.
        expect(historyCalls.filter((id) => !gone.has(id)).length).toBeLessThanOrEqual(
          new Set(multi.flatMap((f) => chainIds(f.diffs))).size
        );
        for (const id of historyCalls) expect(multi.map((f) => f.id)).toContain(id);
      })
    );
  });
});
