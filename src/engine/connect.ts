// Connecting to the engine: one address, resolved the way the docker CLI resolves it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

export const DEFAULT_HOST = 'unix:///var/run/docker.sock';
// A hung engine must not hold the job: every call gives up after this long without an answer.
const CALL_TIMEOUT_MS = 120_000;

export class EngineUnreachable extends Error {}

export interface Connection {
  docker: Docker;
  /** The address tried, for messages (never any credentials). */
  address: string;
  /** True when the engine's files are on this machine (a unix socket). */
  local: boolean;
}

export function connect(hostInput: string | undefined, env = process.env): Connection {
  const address = hostInput || env.DOCKER_HOST || DEFAULT_HOST;
  const url = parseAddress(address);
  if (url.protocol === 'unix:' || url.protocol === 'npipe:') {
    const socketPath = decodeURIComponent(url.pathname) || '/var/run/docker.sock';
    return {
      docker: new Docker({ socketPath, timeout: CALL_TIMEOUT_MS }),
      address,
      local: url.protocol === 'unix:'
    };
  }
  const port = url.port || (url.protocol === 'ssh:' ? '22' : '2375');
  // The docker CLI takes any non-empty DOCKER_TLS_VERIFY as "on"; 2376 is the TLS port by convention.
  const tls = Boolean(env.DOCKER_TLS_VERIFY) || port === '2376';
  const opts: Docker.DockerOptions = {
    host: url.hostname,
    port,
    protocol: url.protocol === 'ssh:' ? 'ssh' : tls ? 'https' : 'http',
    timeout: CALL_TIMEOUT_MS
  };
  if (url.protocol === 'ssh:') opts.username = url.username || undefined;
  if (tls) Object.assign(opts, readCertificates(address, env));
  return { docker: new Docker(opts), address, local: false };
}

function parseAddress(address: string): URL {
  try {
    const url = new URL(address.includes('://') ? address : `tcp://${address}`);
    if (['unix:', 'npipe:', 'tcp:', 'ssh:', 'http:', 'https:'].includes(url.protocol)) return url;
  } catch {
    // reported below
  }
  throw new EngineUnreachable(
    `The engine address ${JSON.stringify(address)} is not valid: use unix:///var/run/docker.sock or tcp://host:2376.`
  );
}

function readCertificates(address: string, env: NodeJS.ProcessEnv) {
  const dir = env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
  const read = (file: string) => {
    try {
      return fs.readFileSync(path.join(dir, file));
    } catch (e) {
      // Name the file, never its contents.
      throw new EngineUnreachable(
        `Cannot reach the engine at ${address}: TLS is on (DOCKER_TLS_VERIFY) but ${path.join(dir, file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}). Set DOCKER_CERT_PATH to a folder with ca.pem, cert.pem and key.pem.`
      );
    }
  };
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

/** One cheap call that proves the engine answers, with a message that says where we looked. */
export async function ping(conn: Connection): Promise<void> {
  try {
    await conn.docker.ping();
  } catch (e) {
    throw new EngineUnreachable(
      `Cannot reach the Docker engine at ${conn.address}: ${describeError(e)}. Set the docker-host input or DOCKER_HOST to the engine's address.`
    );
  }
}

/** The engine's message when it answered, else the transport error. */
export function describeError(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string; code?: string };
  const message = err?.json?.message ?? err?.message ?? String(e);
  return err?.code && !message.includes(err.code) ? `${err.code}: ${message}` : message;
}
