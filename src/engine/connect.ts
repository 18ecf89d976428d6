// Connecting to the engine that endpoint.ts chose, and proving that it answers.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import Docker from 'dockerode';
import { formatDuration } from '../duration.js';
import { chooseEndpoint, DEFAULT_HOST, SSH_UNSUPPORTED, type TlsFiles } from './endpoint.js';
import { EngineUnreachable } from './errors.js';

export { EngineUnreachable } from './errors.js';

// A hung engine must not hold the job: every call gives up after this long without an answer.
export const DEFAULT_TIMEOUT_MS = 120_000;

export { DEFAULT_HOST };

export interface Connection {
  docker: Docker;
  /** The address tried, for messages (never any credentials). */
  address: string;
  /** How the address was chosen: `DOCKER_HOST`, `context "x" (DOCKER_CONTEXT)`, … */
  from: string;
  /** True when the engine's files are on this machine (a unix socket). */
  local: boolean;
  /** With TLS: the folder ca.pem, cert.pem and key.pem were read from, and what named it. */
  tls?: { dir: string; from: string };
  /** How long one call may go unanswered (engine-timeout). */
  timeoutMs?: number;
}

export function connect(
  hostInput: string | undefined,
  env = process.env,
  timeoutMs = DEFAULT_TIMEOUT_MS
): Connection {
  const endpoint = chooseEndpoint(hostInput, env);
  const { address, from } = endpoint;
  const url = parseAddress(address);
  if (url.protocol === 'unix:' || url.protocol === 'npipe:') {
    // The path as written: URL parsing would drop the "." of //./pipe/docker_engine.
    const socketPath = address.slice(url.protocol.length + 2);
    if (socketPath === '') {
      throw new EngineUnreachable(
        `The engine address ${JSON.stringify(address)} (from ${from}) names no socket: use unix:///var/run/docker.sock or npipe:////./pipe/docker_engine.`
      );
    }
    return {
      docker: new Docker({ socketPath, timeout: timeoutMs }),
      address,
      from,
      local: url.protocol === 'unix:',
      timeoutMs
    };
  }
  if (url.protocol === 'ssh:') {
    throw new EngineUnreachable(
      `Cannot reach the engine at ${address} (from ${from}): ${SSH_UNSUPPORTED}.`
    );
  }
  const port = url.port || '2375';
  const tls = endpoint.tls;
  const opts: Docker.DockerOptions = {
    host: url.hostname,
    port,
    protocol: tls ? 'https' : 'http',
    timeout: timeoutMs
  };
  if (!tls) return { docker: new Docker(opts), address, from, local: false, timeoutMs };
  const files = readCertificates(address, tls);
  if (tls.verify) Object.assign(opts, files);
  // DOCKER_TLS without DOCKER_TLS_VERIFY, or a context with SkipTLSVerify: TLS, but the engine's
  // certificate is not checked, as the docker CLI does it.
  else
    (opts as { agent?: https.Agent }).agent = new https.Agent({
      ...files,
      rejectUnauthorized: false
    });
  return {
    docker: new Docker(opts),
    address,
    from,
    local: false,
    tls: { dir: tls.dir, from: tls.from },
    timeoutMs
  };
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

function readCertificates(address: string, tls: TlsFiles) {
  const read = (file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      // Name the file, never its contents.
      throw new EngineUnreachable(
        `Cannot reach the engine at ${address}: TLS is on but ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}). ${certAdvice(tls.from)}`
      );
    }
  };
  const files = { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined));
}

function certAdvice(from: string): string {
  return from === 'DOCKER_CERT_PATH'
    ? 'Set DOCKER_CERT_PATH to a folder with ca.pem, cert.pem and key.pem.'
    : `Give the ${from} its TLS files again (docker context create … --docker "host=…,ca=…,cert=…,key=…").`;
}

/** One cheap call that proves the engine answers, with a message that says where we looked. */
export async function ping(conn: Connection): Promise<void> {
  const started = Date.now();
  try {
    await conn.docker.ping();
  } catch (e) {
    // The transport only says "socket hang up" when our own timeout cut the call.
    if (conn.timeoutMs !== undefined && Date.now() - started >= conn.timeoutMs * 0.95) {
      throw new EngineUnreachable(
        `The Docker engine at ${conn.address} accepted the connection but did not answer within ${formatDuration(conn.timeoutMs)} (engine-timeout). It may be hung or overloaded; check the engine, or raise engine-timeout.`
      );
    }
    const tls = conn.tls && describeTlsError(e, conn.tls.dir, conn.tls.from);
    if (tls)
      throw new EngineUnreachable(`Cannot reach the Docker engine at ${conn.address}: ${tls}`);
    const message = describeError(e);
    const hint = /HTTP request to an HTTPS server/i.test(message)
      ? 'The engine expects TLS there: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a folder with ca.pem, cert.pem and key.pem.'
      : "Set the docker-host input or DOCKER_HOST to the engine's address.";
    const chosen = conn.from === 'the docker-host input' ? '' : ` (chosen by ${conn.from})`;
    throw new EngineUnreachable(
      `Cannot reach the Docker engine at ${conn.address}${chosen}: ${sentence(message)}. ${hint}`
    );
  }
}

// Node's codes for a server certificate that does not verify against ca.pem (see
// https://nodejs.org/api/tls.html, X509 certificate error codes) and for a name it does not carry.
const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID'
]);

/**
 * A TLS failure said as a certificate problem that names DOCKER_CERT_PATH; undefined when `e` is no
 * TLS failure. Built from the error's code and OpenSSL's reason only: never from file contents.
 */
export function describeTlsError(
  e: unknown,
  certPath: string,
  from = 'DOCKER_CERT_PATH'
): string | undefined {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : '';
  const check =
    from === 'DOCKER_CERT_PATH'
      ? `Check DOCKER_CERT_PATH (${certPath}): it must hold ca.pem, cert.pem and key.pem for this engine.`
      : `Check the TLS files of the ${from} (${certPath}): ca.pem, cert.pem and key.pem for this engine.`;
  if (UNTRUSTED_SERVER.has(code)) {
    return `TLS certificate problem: the engine's certificate is not trusted (${sentence(message, code)}, ${code}). It must be signed by the CA in ${path.join(certPath, 'ca.pem')} and name the host of the address. ${check}`;
  }
  const reason = opensslReason(message);
  if (/wrong version number|packet length too long|http request/i.test(reason ?? message)) {
    return `TLS handshake failed: the engine does not answer with TLS there (${reason ?? code}). Unset DOCKER_TLS_VERIFY if it listens without TLS, or use its TLS port (usually 2376).`;
  }
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code);
  if (alert) {
    const what = alert[1]!.toLowerCase().replace(/_/g, ' ');
    return `TLS certificate problem: the engine refused the client certificate ${path.join(certPath, 'cert.pem')} (TLS alert "${what}"). It must be signed by a CA the engine trusts (dockerd --tlscacert). ${check}`;
  }
  if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
    return `TLS certificate problem: ${path.join(certPath, 'key.pem')} is not the key of ${path.join(certPath, 'cert.pem')} (${code}). ${check}`;
  }
  if (/^ERR_OSSL_(PEM_|ASN1_|UNSUPPORTED|X509_)/.test(code)) {
    return `TLS certificate problem: ca.pem, cert.pem or key.pem in ${certPath} is not a valid PEM certificate or key (${reason ?? code}, ${code}). ${check}`;
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_') || code === 'EPROTO') {
    return `TLS certificate problem: ${reason ?? sentence(message, code)} (${code}). ${check}`;
  }
  return undefined;
}

/** "sslv3 alert bad certificate" out of OpenSSL's `…:error:0A000412:SSL routines:func:reason:file.c:…`. */
function opensslReason(message: string): string | undefined {
  const m = /error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:\n]+)/.exec(message);
  return m?.[1]?.trim() || undefined;
}

/** One line without a trailing period, newline or OpenSSL source locations. */
function sentence(message: string, fallback = 'unknown error'): string {
  const line = (opensslReason(message) ?? message).split('\n')[0]!.trim().replace(/\.$/, '');
  return line || fallback;
}

/** The engine's message when it answered, else the transport error. */
export function describeError(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string; code?: string };
  const message = err?.json?.message ?? err?.message ?? String(e);
  return err?.code && !message.includes(err.code) ? `${err.code}: ${message}` : message;
}
