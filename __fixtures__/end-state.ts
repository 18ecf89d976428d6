// The end state a plan predicts, checked against what an engine (fake or real) was left with.
import { expect } from '@jest/globals';
import type { Inventory, Plan } from '../src/plan/types.js';

/** Every image and container the plan removes is gone, and nothing else is. */
export function expectPlannedImagesAndContainers(
  before: Inventory,
  p: Plan,
  after: Inventory
): void {
  const deleted = new Set(p.deleteImages.map((i) => i.id));
  expect(after.images.map((i) => i.id).sort()).toEqual(
    before.images
      .filter((i) => !deleted.has(i.id))
      .map((i) => i.id)
      .sort()
  );
  const removed = new Set(p.removeContainers.map((c) => c.id));
  expect(after.containers.map((c) => c.id).sort()).toEqual(
    before.containers
      .filter((c) => !removed.has(c.id))
      .map((c) => c.id)
      .sort()
  );
}
