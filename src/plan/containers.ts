// Phase 1, containers: which stopped containers `containers` removes, and what keeps a container.
import type { InventoryIndex } from './index-inventory.js';
import type { Matchers } from './matchers.js';
import type {
  ContainerId,
  ContainerState,
  InventoryContainer,
  Policy,
  Reason,
  Skip
} from './types.js';

// Only these are stopped. Anything else — running, paused, restarting, removing, Podman's
// "stopping", a state not yet invented — holds its image and is never removed.
const STOPPED_STATES: ReadonlySet<string> = new Set<ContainerState>(['created', 'exited', 'dead']);

export const isStopped = (state: string): boolean => STOPPED_STATES.has(state);

/** What a container is called in reasons and tables: its first name, else its ID. */
export const displayName = (c: Pick<InventoryContainer, 'names' | 'id'>): string =>
  c.names[0] ?? c.id;

const RUNNER_KEY = /^[0-9a-f]{6}$/;

/** The Actions runner labels its job and service containers with a 6-hex key and an empty value. */
export function isRunnerOwned(c: InventoryContainer): boolean {
  for (const key in c.labels) if (c.labels[key] === '' && RUNNER_KEY.test(key)) return true;
  return c.networks.some((n) => n.startsWith('github_network_'));
}

/** When a container stopped: its finish time, or its creation if it never ran. */
export const stoppedAt = (c: InventoryContainer): number =>
  c.finishedAt && c.finishedAt > 0 ? c.finishedAt : c.created;

export interface ContainerDecisions {
  /** Stopped containers that `containers` selects and nothing protects. */
  removable: ReadonlySet<ContainerId>;
  /** Why a container must stay even if its image goes; undefined when it may be removed. */
  protection(c: InventoryContainer): Reason | undefined;
  skipped: readonly Skip[];
}

export function decideContainers(
  index: InventoryIndex,
  policy: Policy,
  match: Matchers,
  now: number
): ContainerDecisions {
  const protection = (c: InventoryContainer): Reason | undefined => {
    if (!isStopped(c.state)) {
      return { kind: 'in-use-by-running-container', container: displayName(c), state: c.state };
    }
    if (isRunnerOwned(c)) return { kind: 'runner-owned' };
    // Job cleanup takes only the job's own containers.
    if (match.job && !match.job.container(c.id)) return { kind: 'existed-before-job' };
    const pattern = match.excludedName(c.names);
    if (pattern !== undefined) return { kind: 'excluded', pattern };
    const age = now - stoppedAt(c);
    if (age < policy.containersOlderThanMs) {
      return {
        kind: 'too-young',
        ageMs: age,
        minMs: policy.containersOlderThanMs,
        basis: 'stopped'
      };
    }
    return undefined;
  };
  const removable = new Set<ContainerId>();
  const skipped: Skip[] = [];
  const listed = index.inventory.containers;
  for (let i = 0; i < listed.length; i++) {
    const c = listed[i]!;
    const selected = match.job ? match.job.container(c.id) : match.containerSelected(c.names);
    if (!selected) continue;
    const why = protection(c);
    if (!why) removable.add(c.id);
    else if (why.kind === 'in-use-by-running-container') {
      skipped.push({
        target: displayName(c),
        reason: { kind: 'container-running', state: c.state }
      });
    } else skipped.push({ target: displayName(c), reason: why });
  }
  return { removable, protection, skipped };
}
