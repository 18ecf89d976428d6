// How engine answers and transport failures become results and messages, for Docker and Podman.
import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import { describeTlsError, ping, type Connection } from '../../src/engine/connect.js';
import { dockerRemover, EngineError, wrap } from '../../src/engine/remove.js';
import { imageId } from '../../src/engine/inventory.js';
import { isTransportFailure } from '../../src/engine/errors.js';

const HEX = 'f4789be2d0bd7611e1dea3ab9a34f4caadab36f0458296386cd32bb99a5bcb53';

/** What docker-modem rejects with when the engine answers with an error status. */
function httpError(statusCode: number, message: string, cause?: string) {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
    statusCode,
    json: { cause, message, response: statusCode }
  });
}

function fakeDocker(answer: () => unknown): Docker {
  const call = async () => answer();
  return {
    getImage: () => ({ remove: call }),
    getContainer: () => ({ remove: call }),
    ping: call
  } as unknown as Docker;
}

describe('remove: engine answers', () => {
  it('writes Podman’s bare deleted IDs as sha256:… and keeps Docker’s as they are', async () => {
    const podman = dockerRemover(
      fakeDocker(() => [{ Deleted: HEX }, { Untagged: 'docker.io/two/app:1' }])
    );
    expect(await podman.removeImage('docker.io/two/app:1')).toEqual({
      untagged: ['docker.io/two/app:1'],
      deleted: [`sha256:${HEX}`]
    });
    const docker = dockerRemover(
      fakeDocker(() => [
        { Untagged: 'two/app:1' },
        { Deleted: `sha256:${HEX}` },
        { Deleted: 'sha256:0123' }
      ])
    );
    expect(await docker.removeImage('two/app:1')).toEqual({
      untagged: ['two/app:1'],
      deleted: [`sha256:${HEX}`, 'sha256:0123']
    });
    expect(imageId('abc')).toBe('abc');
  });

  const CASES: [what: string, status: number, error: ReturnType<typeof httpError>][] = [
    [
      'a running container (Podman)',
      409,
      httpError(
        500,
        `cannot remove container ${HEX} as it is running - running or paused containers cannot be removed without force: container state improper`,
        'container state improper'
      )
    ],
    [
      'an image with several tags by ID (Podman)',
      409,
      httpError(
        500,
        `unable to delete image "${HEX}" by ID with more than one tag ([docker.io/one/app:1 docker.io/two/app:1]): please force removal`
      )
    ],
    [
      'an image a container uses (Podman)',
      409,
      httpError(
        409,
        'image docker.io/run/bb:1 is in use: image used by 4d9d: image is in use by a container: consider listing external containers and force-removing image',
        'image is in use by a container'
      )
    ],
    [
      'an image with several repositories (Docker)',
      409,
      httpError(
        409,
        'conflict: unable to delete f4789be2d0bd (must be forced) - image is referenced in multiple repositories'
      )
    ],
    ['an unknown image (Podman)', 404, httpError(404, 'failed to find image x: image not known')],
    ['an engine fault', 500, httpError(500, 'layer not known')]
  ];
  it.each(CASES)(
    'classifies %s as HTTP %i, with the engine’s message',
    async (_what, status, error) => {
      const remover = dockerRemover(
        fakeDocker(() => {
          throw error;
        })
      );
      const failure = await remover.removeContainer('x').catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(EngineError);
      expect(failure).toMatchObject({ status, message: error.json.message });
    }
  );

  it('leaves a transport failure without a status', () => {
    const e = wrap(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    expect(e.status).toBeUndefined();
    expect(e.message).toBe('ECONNRESET: socket hang up');
  });
});

describe('connect: TLS failures are certificate problems that name DOCKER_CERT_PATH', () => {
  const certPath = '/home/runner/.docker/prod';
  const tlsError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each([
    [
      'a server certificate from another CA',
      tlsError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      /^TLS certificate problem: the engine's certificate is not trusted \(unable to verify the first certificate, UNABLE_TO_VERIFY_LEAF_SIGNATURE\)\. It must be signed by the CA in \/home\/runner\/\.docker\/prod\/ca\.pem/
    ],
    [
      'a server certificate for another address',
      tlsError(
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames: IP: 10.0.0.2 is not in the cert's list: 127.0.0.1"
      ),
      /not trusted \(Hostname\/IP does not match .*ERR_TLS_CERT_ALTNAME_INVALID\)/
    ],
    [
      'a client certificate the engine rejects',
      tlsError(
        'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
        '805C23E9227F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n'
      ),
      /^TLS certificate problem: the engine refused the client certificate \/home\/runner\/\.docker\/prod\/cert\.pem \(TLS alert "bad certificate"\)/
    ],
    [
      'no client certificate sent',
      tlsError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tlsv13 alert certificate required'),
      /refused the client certificate .*\(TLS alert "certificate required"\)/
    ],
    [
      'a key that is not the certificate’s',
      tlsError(
        'ERR_OSSL_X509_KEY_VALUES_MISMATCH',
        'error:05800074:x509 certificate routines::key values mismatch'
      ),
      /\/prod\/key\.pem is not the key of \/home\/runner\/\.docker\/prod\/cert\.pem/
    ],
    [
      'a file that is no PEM',
      tlsError('ERR_OSSL_UNSUPPORTED', 'error:1E08010C:DECODER routines::unsupported'),
      /is not a valid PEM certificate or key \(unsupported, ERR_OSSL_UNSUPPORTED\)/
    ],
    [
      'an engine without TLS',
      tlsError(
        'EPROTO',
        'write EPROTO 809C85C5557F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n'
      ),
      /^TLS handshake failed: the engine does not answer with TLS there \(wrong version number\)\. Unset DOCKER_TLS_VERIFY/
    ]
  ])('%s', (_what, error, expected) => {
    const message = describeTlsError(error, certPath)!;
    expect(message).toMatch(expected);
    expect(message).toMatch(
      /DOCKER_CERT_PATH \(\/home\/runner\/\.docker\/prod\)|DOCKER_TLS_VERIFY/
    );
    expect(message).not.toMatch(/\.c:\d+|deps\/openssl|\n/);
  });

  it('leaves other failures alone', () => {
    expect(describeTlsError(tlsError('ECONNREFUSED', 'connect ECONNREFUSED'), certPath)).toBe(
      undefined
    );
    expect(describeTlsError(httpError(500, 'boom'), certPath)).toBeUndefined();
  });

  const conn = (docker: Docker, certPath?: string): Connection => ({
    docker,
    address: 'tcp://10.0.0.2:2376',
    from: 'the docker-host input',
    local: false,
    ...(certPath === undefined ? {} : { tls: { dir: certPath, from: 'DOCKER_CERT_PATH' } })
  });

  it('ping names the address and the certificate problem', async () => {
    const docker = fakeDocker(() => {
      throw tlsError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain');
    });
    await expect(ping(conn(docker, certPath))).rejects.toThrow(
      /^Cannot reach the Docker engine at tcp:\/\/10\.0\.0\.2:2376: TLS certificate problem: .*Check DOCKER_CERT_PATH \(\/home\/runner\/\.docker\/prod\)/
    );
  });

  it('ping says when an engine expects TLS that was not used', async () => {
    const docker = fakeDocker(() => {
      throw httpError(400, 'Client sent an HTTP request to an HTTPS server.\n');
    });
    await expect(ping(conn(docker))).rejects.toThrow(
      'Cannot reach the Docker engine at tcp://10.0.0.2:2376: Client sent an HTTP request to an HTTPS server. The engine expects TLS there: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a folder with ca.pem, cert.pem and key.pem.'
    );
  });

  it('ping keeps the address hint for other failures', async () => {
    const docker = fakeDocker(() => {
      throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.2:2376'), {
        code: 'ECONNREFUSED'
      });
    });
    await expect(ping(conn(docker))).rejects.toThrow(
      "Cannot reach the Docker engine at tcp://10.0.0.2:2376: connect ECONNREFUSED 10.0.0.2:2376. Set the docker-host input or DOCKER_HOST to the engine's address."
    );
  });
});

describe('engine addresses', () => {
  it('keeps a named pipe path as written, dot segment included', async () => {
    const { connect } = await import('../../src/engine/connect.js');
    const conn = connect('npipe:////./pipe/docker_engine', {});
    expect((conn.docker as unknown as { modem: { socketPath: string } }).modem.socketPath).toBe(
      '//./pipe/docker_engine'
    );
  });

  it('refuses an address that names no socket rather than falling back to the default', async () => {
    const { connect } = await import('../../src/engine/connect.js');
    expect(() => connect('npipe://', {})).toThrow(/names no socket/);
    expect(() => connect('unix://', {})).toThrow(/names no socket/);
  });
});

describe('what counts as losing the engine', () => {
  it('a refused, cut or timed-out connection is a transport failure', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
      'ENOENT',
      'ETIMEDOUT',
      'ERR_SSL_WRONG_VERSION_NUMBER'
    ]) {
      expect([code, isTransportFailure(Object.assign(new Error('x'), { code }))]).toEqual([
        code,
        true
      ]);
    }
    expect(isTransportFailure(new Error('socket hang up'))).toBe(true);
  });

  it('an answer with a status, or a bug in docker-reclaim, is not', () => {
    expect(isTransportFailure(httpError(500, 'boom'))).toBe(false);
    expect(
      isTransportFailure(new TypeError("Cannot read properties of undefined (reading 'Id')"))
    ).toBe(false);
    expect(isTransportFailure(new RangeError('Invalid array length'))).toBe(false);
  });

  it('wrap keeps a status, marks a transport failure, and lets anything else through as it is', () => {
    expect(wrap(httpError(409, 'conflict'))).toMatchObject({ status: 409, transport: false });
    expect(
      wrap(Object.assign(new Error('connect ECONNREFUSED /x.sock'), { code: 'ECONNREFUSED' }))
    ).toMatchObject({
      status: undefined,
      transport: true
    });
    const bug = new TypeError('x is not a function');
    expect(() => wrap(bug)).toThrow(bug);
  });
});
