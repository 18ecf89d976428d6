// Types for faults.mjs, so that TypeScript tests import the helpers with types.
import type { ActionRun, RunActionOptions } from './action.mjs';

/** A unix socket that accepts connections and never answers. */
export interface HungEngine {
  /** Path of the socket. */
  readonly path: string;
  /** `unix://` + path, for the docker-host input. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** Listens on `<dir>/hung.sock`: reads whatever it is sent and never writes back. */
export function startHungEngine(dir: string): Promise<HungEngine>;

export interface StreamingRunOptions extends RunActionOptions {
  /** Called with each line of the action's stdout or stderr as soon as it is printed. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** runAction, with each output line handed to `onLine` while the action runs. */
export function runActionStreaming(options?: StreamingRunOptions): Promise<ActionRun>;
