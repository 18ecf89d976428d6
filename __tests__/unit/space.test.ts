import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { chainIds, deriveMissingSizes, layerSizesFromHistory } from '../../src/engine/layers.js';
import { plan } from '../../src/plan/planner.js';
import { estimateSpace } from '../../src/plan/space.js';
import type { Inventory, InventoryImage } from '../../src/plan/types.js';
import { parseSize, SizeError } from '../../src/size.js';
import { DAY, NOW, container, image, policy } from '../../__fixtures__/inventory.js';
import { untagOnly } from '../../__fixtures__/plan.js';
import { isTargetAlreadyMet, predictedFreeBytes } from '../../src/plan/until-free.js';

const layer = (name: string) => `sha256:${createHash('sha256').update(name).digest('hex')}`;

/** An image whose layers are named; sizes go in the inventory's layerSizes. */
function layered(tags: string[], layers: string[], opts: Partial<InventoryImage> = {}) {
  return image(tags, { layers: layers.map(layer), ...opts });
}

function inventoryOf(
  images: InventoryImage[],
  sizes: Record<string, number>,
  containers: Inventory['containers'] = []
): Inventory {
  const layerSizes = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [layer(k), v]));
  for (const i of images) i.size = (i.layers ?? []).reduce((s, l) => s + (layerSizes[l] ?? 0), 0);
  return { images, containers, layerSizes };
}

describe('layer identities', () => {
  it('the first ChainID is the first diff ID, and each next one hashes the previous with the diff', () => {
    const [a, b, c] = [
      'sha256:' + 'a'.repeat(64),
      'sha256:' + 'b'.repeat(64),
      'sha256:' + 'c'.repeat(64)
    ];
    const ab = 'sha256:' + createHash('sha256').update(`${a} ${b}`).digest('hex');
    const abc = 'sha256:' + createHash('sha256').update(`${ab} ${c}`).digest('hex');
    expect(chainIds([a!, b!, c!])).toEqual([a, ab, abc]);
  });

  it('images that share a base share its ChainIDs, and differ above it', () => {
    const base = 'sha256:' + '1'.repeat(64);
    const x = chainIds([base, 'sha256:' + '2'.repeat(64)]);
    const y = chainIds([base, 'sha256:' + '3'.repeat(64)]);
    expect(x[0]).toBe(y[0]);
    expect(x[1]).not.toBe(y[1]);
  });
});

describe('layer sizes from history', () => {
  it('skips the legacy builder’s metadata entries but not its COPY', () => {
    const history = [
      { Size: 0, CreatedBy: '/bin/sh -c #(nop)  CMD ["sh"]' },
      { Size: 0, CreatedBy: '/bin/sh -c #(nop) COPY file:abc in /empty ' },
      { Size: 300, CreatedBy: '/bin/sh -c #(nop) ADD file:def in / ' }
    ];
    expect(layerSizesFromHistory(history, 2, 300)).toEqual([300, 0]);
  });

  it('reads BuildKit-style entries', () => {
    const history = [
      { Size: 0, CreatedBy: 'ENV A=1' },
      { Size: 50, CreatedBy: 'RUN /bin/sh -c make' },
      { Size: 0, CreatedBy: 'LABEL x=y' },
      { Size: 100, CreatedBy: 'COPY . /app # buildkit' }
    ];
    expect(layerSizesFromHistory(history, 2, 150)).toEqual([100, 50]);
  });

  it('trusts nothing that does not add up to the image size', () => {
    expect(layerSizesFromHistory([{ Size: 10 }, { Size: 20 }], 2, 31)).toBeUndefined();
  });

  it('a one-layer image without history is all one layer', () => {
    expect(layerSizesFromHistory([], 1, 77)).toEqual([77]);
  });

  it('derives the one unknown layer of an image from its size', () => {
    const sizes: Record<string, number> = { a: 10 };
    deriveMissingSizes(
      [
        { layers: ['a', 'b'], size: 30 },
        { layers: ['a', 'b', 'c'], size: 35 }
      ],
      sizes
    );
    expect(sizes).toEqual({ a: 10, b: 20, c: 5 });
  });
});

describe('predicted space', () => {
  it('a base layer shared only by deleted images is freed once', () => {
    const x = layered(['x:1'], ['base', 'x']);
    const y = layered(['y:1'], ['base', 'y']);
    const inv = inventoryOf([x, y], { base: 1000, x: 10, y: 20 });
    const p = plan(inv, policy({ images: ['**'] }), NOW);
    expect(p.space.bytes).toBe(1030);
    expect(p.space.sharedBytes).toBe(1000);
    expect(p.deleteImages.map((i) => i.freedBytes).sort()).toEqual([10, 20]);
  });

  it('a layer a remaining image holds is not freed', () => {
    const x = layered(['x:1'], ['base', 'x']);
    const keep = layered(['keep:1'], ['base', 'k']);
    const inv = inventoryOf([x, keep], { base: 1000, x: 10, k: 5 });
    expect(plan(inv, policy({ images: ['x'] }), NOW).space.bytes).toBe(10);
  });

  it('an image that only loses a tag frees nothing', () => {
    const x = layered(['x:1', 'y:1'], ['base']);
    const inv = inventoryOf([x], { base: 1000 });
    const p = plan(inv, policy({ images: ['x'] }), NOW);
    expect(untagOnly(p)).toEqual(['x:1']);
    expect(p.space.bytes).toBe(0);
  });

  it('removed containers add their writable layers', () => {
    const x = layered(['x:1'], ['x']);
    const inv = inventoryOf([x], { x: 10 }, [container(x, 'exited', { sizeRw: 5 })]);
    const p = plan(inv, policy({ images: ['x'] }), NOW);
    expect(p.space.bytes).toBe(15);
    expect(p.space.containerBytes).toBe(5);
  });

  it('says when a freed layer’s size is unknown', () => {
    const x = layered(['x:1'], ['x', 'x2']);
    const inv = inventoryOf([x], { x: 10 });
    const estimate = estimateSpace(inv, new Set([x.id]), new Set());
    expect(estimate.exact).toBe(false);
    expect(estimate.bytes).toBe(10);
  });

  it('frees exactly the layers no remaining image holds (generated)', () => {
    // Images are chains of named layers drawn from a small pool, so bases are shared often.
    const chain = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), {
      minLength: 1,
      maxLength: 3
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(chain, fc.boolean()), { minLength: 1, maxLength: 6 }),
        (specs) => {
          const images = specs.map(([names], n) => {
            // Prefix the layer name with the chain below it, as ChainIDs do.
            const ids = names.map((_, k) => names.slice(0, k + 1).join('/'));
            return layered([`i${n}:1`], ids);
          });
          const sizes: Record<string, number> = {};
          images.forEach((i) => i.layers!.forEach((l) => (sizes[l] = l.charCodeAt(8))));
          const inv: Inventory = { images, containers: [], layerSizes: sizes };
          const deleted = new Set(images.filter((_, n) => specs[n]![1]).map((i) => i.id));
          const kept = new Set(images.filter((i) => !deleted.has(i.id)).flatMap((i) => i.layers!));
          const gone = new Set(images.filter((i) => deleted.has(i.id)).flatMap((i) => i.layers!));
          const expected = [...gone].filter((l) => !kept.has(l)).reduce((s, l) => s + sizes[l]!, 0);
          expect(estimateSpace(inv, deleted, new Set()).bytes).toBe(expected);
        }
      )
    );
  });
});

describe('until-free', () => {
  const disk = (freeBytes: number) => ({ path: '/d', freeBytes, totalBytes: 10_000 });
  const lru = () => {
    const oldest = layered(['a:1'], ['a'], { created: NOW - 30 * DAY });
    const middle = layered(['b:1'], ['b'], { created: NOW - 20 * DAY });
    const newest = layered(['c:1'], ['c'], { created: NOW - 10 * DAY });
    return { oldest, middle, newest };
  };

  it('removes nothing when the disk already has the target free, and says so', () => {
    const { oldest, middle, newest } = lru();
    const inv = {
      ...inventoryOf([oldest, middle, newest], { a: 100, b: 100, c: 100 }),
      disk: disk(5000)
    };
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 4000 }), NOW);
    expect(p.steps).toEqual([]);
    expect(p.target).toEqual({ targetBytes: 4000, freeBytes: 5000 });
    expect(isTargetAlreadyMet(p.target!)).toBe(true);
    expect(p.skipped.map((s) => s.reason.kind)).toEqual([
      'free-space-target-met',
      'free-space-target-met',
      'free-space-target-met'
    ]);
  });

  it('takes the fewest least recently used images that reach the target', () => {
    const { oldest, middle, newest } = lru();
    const inv = {
      ...inventoryOf([newest, middle, oldest], { a: 100, b: 100, c: 100 }),
      disk: disk(1000)
    };
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 1150 }), NOW);
    expect(p.deleteImages.map((i) => i.id).sort()).toEqual([oldest.id, middle.id].sort());
    expect(predictedFreeBytes(p.target!, p.space.bytes)).toBe(1200);
  });

  it('takes everything when even that falls short, and predicts the shortfall', () => {
    const { oldest, middle, newest } = lru();
    const inv = {
      ...inventoryOf([oldest, middle, newest], { a: 100, b: 100, c: 100 }),
      disk: disk(1000)
    };
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 9000 }), NOW);
    expect(p.deleteImages).toHaveLength(3);
    expect(predictedFreeBytes(p.target!, p.space.bytes)).toBe(1300);
  });

  it('counts a shared layer only once the last image holding it is taken', () => {
    const x = layered(['x:1'], ['base', 'x'], { created: NOW - 30 * DAY });
    const y = layered(['y:1'], ['base', 'y'], { created: NOW - 20 * DAY });
    const z = layered(['z:1'], ['z'], { created: NOW - 10 * DAY });
    const inv = { ...inventoryOf([x, y, z], { base: 500, x: 10, y: 10, z: 400 }), disk: disk(0) };
    // x alone frees 10; x and y free 520.
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 500 }), NOW);
    expect(p.deleteImages.map((i) => i.id).sort()).toEqual([x.id, y.id].sort());
  });

  it('takes a child with its parent, since the parent cannot go first', () => {
    const parent = layered(['p:1'], ['p'], { created: NOW - 30 * DAY });
    const child = layered(['c:1'], ['p', 'pc'], { created: NOW - 1 * DAY, parent: parent.id });
    const other = layered(['o:1'], ['o'], { created: NOW - 10 * DAY });
    const inv = {
      ...inventoryOf([parent, child, other], { p: 100, pc: 1, o: 100 }),
      disk: disk(0)
    };
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 50 }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([child.id, parent.id]);
  });

  it('leaves untag-only references alone, since they free nothing', () => {
    const x = layered(['x:1', 'keep:1'], ['x']);
    const inv = { ...inventoryOf([x], { x: 10 }), disk: disk(0) };
    const p = plan(inv, policy({ images: ['x'], untilFreeBytes: 100 }), NOW);
    expect(p.steps).toEqual([]);
    expect(p.skipped).toContainEqual({
      target: 'x:1',
      reason: { kind: 'free-space-target-met', targetBytes: 100 }
    });
  });

  it('keeps the dependency order of what it takes', () => {
    const { oldest } = lru();
    const c = container(oldest, 'exited');
    const inv = { ...inventoryOf([oldest], { a: 100 }, [c]), disk: disk(0) };
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 50 }), NOW);
    expect(p.steps.map((s) => s.kind)).toEqual(['remove-container', 'untag', 'delete-image']);
  });

  it('counts a layer of unknown size at what its image leaves unexplained, an upper bound, and says so', () => {
    const { oldest, middle, newest } = lru();
    const inv = {
      ...inventoryOf([oldest, middle, newest], { a: 100, b: 100, c: 100 }),
      disk: disk(0)
    };
    // The engine gave no size for the oldest image's layer: it counts at its image's 100 bytes,
    // not as 0, which would make until-free take every candidate.
    delete inv.layerSizes![oldest.layers![0]!];
    const p = plan(inv, policy({ images: ['**'], untilFreeBytes: 90 }), NOW);
    expect(p.deleteImages.map((i) => i.id)).toEqual([oldest.id]);
    expect(p.target?.upperBound).toBe(true);
    const exact = plan(
      { ...inventoryOf([oldest, middle, newest], { a: 100, b: 100, c: 100 }), disk: disk(0) },
      policy({ images: ['**'], untilFreeBytes: 90 }),
      NOW
    );
    expect(exact.target?.upperBound).toBeUndefined();
  });

  it('counts an image whose layers the engine does not list (containerd store) at its size', () => {
    const a = image(['a:1'], { created: NOW - 30 * DAY, size: 300 });
    const b = image(['b:1'], { created: NOW - 10 * DAY, size: 300 });
    const p = plan(
      { images: [a, b], containers: [], disk: disk(0) },
      policy({ images: ['**'], untilFreeBytes: 250 }),
      NOW
    );
    expect(p.deleteImages.map((i) => i.id)).toEqual([a.id]);
    expect(p.target?.upperBound).toBe(true);
  });

  it.each([
    ['20GB', { bytes: 20e9 }],
    ['500MiB', { bytes: 500 * 2 ** 20 }],
    ['1.5 GiB', { bytes: 1.5 * 2 ** 30 }],
    ['25%', { percent: 25 }],
    ['100 %', { percent: 100 }],
    ['2kb', { bytes: 2000 }]
  ])('reads %j', (text, expected) => {
    expect(parseSize(text)).toEqual(expected);
  });

  it.each(['', '20', '0GB', '-1GB', '0%', '101%', '5 parsecs', '1e3GB', 'GB', '9999999TB'])(
    'refuses %j',
    (text) => {
      expect(() => parseSize(text)).toThrow(SizeError);
    }
  );
});
