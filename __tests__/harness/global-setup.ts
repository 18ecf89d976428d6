import { ensurePrerequisites } from './engine.mjs';

// Once per run, before any e2e file starts its own private engine.
export default async function setup(): Promise<void> {
  await ensurePrerequisites();
}
