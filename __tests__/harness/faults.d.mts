// Types for faults.mjs, so that TypeScript tests import the helpers with types.

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
