// Which engine to talk to, chosen the way the docker CLI chooses: the docker-host input (where the
// CLI has --host), then DOCKER_HOST, then DOCKER_CONTEXT, then the current context of the CLI's
// config, then the default socket. TLS follows DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH,
// or a context's own TLS files.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineUnreachable } from './errors.js';

export const DEFAULT_HOST = 'unix:///var/run/docker.sock';

/** The docker CLI reaches an ssh:// engine through the system's ssh; this action has no such path. */
export const SSH_UNSUPPORTED =
  "ssh:// is not supported: forward the engine's socket first (ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock user@host) and use unix:///tmp/docker.sock";

export interface TlsFiles {
  /** The folder the files are in, for messages. */
  dir: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Check the engine's certificate against `ca` (DOCKER_TLS_VERIFY; a context without SkipTLSVerify). */
  verify: boolean;
  /** Where the folder came from, for messages: `DOCKER_CERT_PATH` or `context "x"`. */
  from: string;
}

export interface Endpoint {
  address: string;
  /** How the address was chosen, for the log: `DOCKER_HOST`, `context "rootless" (DOCKER_CONTEXT)`, … */
  from: string;
  /** For a TCP address: the TLS files to use, when TLS is on. */
  tls?: TlsFiles;
}

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

const CERT_FILES = ['ca.pem', 'cert.pem', 'key.pem'] as const;

export function chooseEndpoint(hostInput: string | undefined, env: NodeJS.ProcessEnv): Endpoint {
  if (hostInput) return withEnvTls({ address: hostInput, from: 'the docker-host input' }, env);
  if (env.DOCKER_HOST) return withEnvTls({ address: env.DOCKER_HOST, from: 'DOCKER_HOST' }, env);
  const configDir = env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
  const named = env.DOCKER_CONTEXT
    ? { name: env.DOCKER_CONTEXT, by: 'DOCKER_CONTEXT' }
    : currentContext(configDir);
  // The CLI's built-in context is the default socket with TLS from the environment.
  if (!named || named.name === 'default') {
    return withEnvTls({ address: DEFAULT_HOST, from: 'the default socket' }, env);
  }
  return fromContext(configDir, named.name, named.by);
}

/** `currentContext` in the CLI's config.json, if it names one. */
function currentContext(configDir: string): { name: string; by: string } | undefined {
  const file = path.join(configDir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let config: { currentContext?: unknown };
  try {
    config = JSON.parse(text) as { currentContext?: unknown };
  } catch {
    throw new EngineUnreachable(
      `Cannot choose the Docker engine: ${file} is not valid JSON, so its current context cannot be read. Fix the file, or set the docker-host input or DOCKER_HOST.`
    );
  }
  const name = config?.currentContext;
  return typeof name === 'string' && name !== ''
    ? { name, by: `currentContext in ${file}` }
    : undefined;
}

/** The CLI's context store: the endpoint in meta/<sha256 of the name>/, TLS files in tls/<same>/docker/. */
function fromContext(configDir: string, name: string, by: string): Endpoint {
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = path.join(configDir, 'contexts', 'meta', id, 'meta.json');
  const from = `context ${JSON.stringify(name)} (${by})`;
  let meta: ContextMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as ContextMeta;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EngineUnreachable(
      `Cannot choose the Docker engine: the ${from} ${missing ? 'does not exist' : 'cannot be read'} (${metaFile}). Create it with docker context create, or set the docker-host input or DOCKER_HOST.`
    );
  }
  const endpoint = meta?.Endpoints?.docker;
  if (!endpoint?.Host) {
    throw new EngineUnreachable(
      `Cannot choose the Docker engine: the ${from} has no Docker endpoint in ${metaFile}. Set the docker-host input or DOCKER_HOST instead.`
    );
  }
  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
  const files = existingCertFiles(tlsDir);
  const hasFiles = Object.keys(files).length > 0;
  const result: Endpoint = { address: endpoint.Host, from };
  if (isTcp(endpoint.Host) && (hasFiles || endpoint.SkipTLSVerify)) {
    result.tls = {
      dir: tlsDir,
      ...files,
      verify: !endpoint.SkipTLSVerify,
      from: `context ${JSON.stringify(name)}`
    };
  }
  return result;
}

/** DOCKER_TLS_VERIFY turns TLS on and checks the engine; DOCKER_TLS turns it on without the check. */
function withEnvTls(endpoint: Endpoint, env: NodeJS.ProcessEnv): Endpoint {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!isTcp(endpoint.address) || !(verify || env.DOCKER_TLS)) return endpoint;
  const dir = env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
  // With the check on, every file is needed, and a missing one is reported by name when read.
  const files = verify
    ? Object.fromEntries(CERT_FILES.map((f) => [f.replace('.pem', ''), path.join(dir, f)]))
    : existingCertFiles(dir);
  return { ...endpoint, tls: { dir, ...files, verify, from: 'DOCKER_CERT_PATH' } };
}

function existingCertFiles(dir: string): Pick<TlsFiles, 'ca' | 'cert' | 'key'> {
  const found: Pick<TlsFiles, 'ca' | 'cert' | 'key'> = {};
  for (const f of CERT_FILES) {
    const file = path.join(dir, f);
    if (fs.existsSync(file)) found[f.replace('.pem', '') as 'ca' | 'cert' | 'key'] = file;
  }
  return found;
}

const isTcp = (address: string) => /^(tcp|https?):\/\//.test(address) || !address.includes('://');
