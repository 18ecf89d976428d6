// What went wrong, told apart: the engine refused (an HTTP status), the engine could not be reached
// (the transport failed or timed out), or docker-reclaim itself failed (a bug, never the engine's).

/** The engine cannot be chosen or does not answer before the run; the message is for users. */
export class EngineUnreachable extends Error {}

/**
 * A failed engine call. `status` is the HTTP status when the engine answered, except that the
 * refusals Podman answers with 500 carry 409, the status Docker gives them. `transport` is set when
 * it did not answer at all.
 */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly transport = false
  ) {
    super(message);
  }
}

// Node's codes for a connection that could not be made, was cut, or was refused by TLS.
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOENT',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
  'UND_ERR_SOCKET'
]);

/**
 * Whether `e` says the engine could not be reached: a socket error, a cut connection, or our own
 * timeout (docker-modem destroys the request, which surfaces as "socket hang up").
 */
export function isTransportFailure(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; statusCode?: unknown };
  if (typeof err?.statusCode === 'number') return false;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (
    TRANSPORT_CODES.has(code) ||
    /^ERR_(SSL|TLS)_|^HPE_|^ERR_STREAM_PREMATURE_CLOSE$/.test(code)
  ) {
    return true;
  }
  // Any other errno-style code is the operating system's word on the socket.
  if (/^E[A-Z]+$/.test(code)) return true;
  return typeof err?.message === 'string' && /socket hang up|aborted/i.test(err.message);
}
