// Which engine the action talks to: the docker CLI's order, contexts and TLS settings.
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseEndpoint, DEFAULT_HOST } from '../../src/engine/endpoint.js';
import { EngineUnreachable } from '../../src/engine/errors.js';

/** A DOCKER_CONFIG folder with these contexts (name → host, with TLS files if asked). */
function config(
  contexts: Record<string, { host: string; tls?: boolean; skipVerify?: boolean }>,
  current?: string
): string {
  const dir = mkdtempSync(join(tmpdir(), 'docker-config-'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(current ? { currentContext: current } : {})
  );
  for (const [name, c] of Object.entries(contexts)) {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(dir, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(
      join(dir, 'contexts', 'meta', id, 'meta.json'),
      JSON.stringify({
        Name: name,
        Metadata: {},
        Endpoints: { docker: { Host: c.host, SkipTLSVerify: Boolean(c.skipVerify) } }
      })
    );
    if (c.tls) {
      const tls = join(dir, 'contexts', 'tls', id, 'docker');
      mkdirSync(tls, { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(tls, f), 'pem');
    }
  }
  return dir;
}

describe('the engine is chosen as the docker CLI chooses it', () => {
  const cfg = config(
    { ci: { host: 'unix:///run/ci.sock' }, other: { host: 'unix:///run/other.sock' } },
    'ci'
  );
  const cases: [string, string | undefined, NodeJS.ProcessEnv, string, string][] = [
    [
      'the input first',
      'unix:///in.sock',
      { DOCKER_HOST: 'unix:///env.sock', DOCKER_CONFIG: cfg },
      'unix:///in.sock',
      'the docker-host input'
    ],
    [
      'then DOCKER_HOST',
      undefined,
      { DOCKER_HOST: 'unix:///env.sock', DOCKER_CONTEXT: 'other', DOCKER_CONFIG: cfg },
      'unix:///env.sock',
      'DOCKER_HOST'
    ],
    [
      'then DOCKER_CONTEXT',
      undefined,
      { DOCKER_CONTEXT: 'other', DOCKER_CONFIG: cfg },
      'unix:///run/other.sock',
      'context "other" (DOCKER_CONTEXT)'
    ],
    [
      'then the current context',
      undefined,
      { DOCKER_CONFIG: cfg },
      'unix:///run/ci.sock',
      `context "ci" (currentContext in ${join(cfg, 'config.json')})`
    ],
    [
      'the context named default is the default socket',
      undefined,
      { DOCKER_CONTEXT: 'default', DOCKER_CONFIG: cfg },
      DEFAULT_HOST,
      'the default socket'
    ],
    [
      'and with none, the default socket',
      undefined,
      { DOCKER_CONFIG: config({}) },
      DEFAULT_HOST,
      'the default socket'
    ]
  ];
  it.each(cases)('%s', (_, input, env, address, from) => {
    expect(chooseEndpoint(input, env)).toMatchObject({ address, from });
  });

  it('refuses a context that does not exist, naming it and where it looked', () => {
    const env = { DOCKER_CONTEXT: 'nope', DOCKER_CONFIG: cfg };
    expect(() => chooseEndpoint(undefined, env)).toThrow(EngineUnreachable);
    expect(() => chooseEndpoint(undefined, env)).toThrow(
      /^Cannot choose the Docker engine: the context "nope" \(DOCKER_CONTEXT\) does not exist \(.*meta\.json\)\. /
    );
  });

  it('refuses a config.json that is not JSON rather than guess', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docker-config-'));
    writeFileSync(join(dir, 'config.json'), '{ nope');
    expect(() => chooseEndpoint(undefined, { DOCKER_CONFIG: dir })).toThrow(/is not valid JSON/);
  });
});

describe('TLS', () => {
  it('DOCKER_TLS_VERIFY turns it on with the files in DOCKER_CERT_PATH, and checks the engine', () => {
    const e = chooseEndpoint('tcp://10.0.0.2:2376', {
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: '/certs'
    });
    expect(e.tls).toEqual({
      dir: '/certs',
      ca: '/certs/ca.pem',
      cert: '/certs/cert.pem',
      key: '/certs/key.pem',
      verify: true,
      from: 'DOCKER_CERT_PATH'
    });
  });

  it('DOCKER_TLS turns it on without the check', () => {
    const e = chooseEndpoint('tcp://10.0.0.2:2376', { DOCKER_TLS: '1', DOCKER_CERT_PATH: '/none' });
    expect(e.tls).toMatchObject({ verify: false });
  });

  it('port 2376 alone does not turn it on: the CLI does not either', () => {
    expect(chooseEndpoint('tcp://10.0.0.2:2376', {}).tls).toBeUndefined();
  });

  it('a context brings its own TLS files, and SkipTLSVerify turns the check off', () => {
    const cfg = config({
      remote: { host: 'tcp://10.0.0.2:2376', tls: true },
      lax: { host: 'tcp://10.0.0.3:2376', tls: true, skipVerify: true },
      plain: { host: 'tcp://10.0.0.4:2375' }
    });
    const remote = chooseEndpoint(undefined, { DOCKER_CONTEXT: 'remote', DOCKER_CONFIG: cfg });
    expect(remote.tls).toMatchObject({ verify: true, from: 'context "remote"' });
    expect(remote.tls?.ca).toMatch(/contexts\/tls\/[0-9a-f]{64}\/docker\/ca\.pem$/);
    const lax = chooseEndpoint(undefined, { DOCKER_CONTEXT: 'lax', DOCKER_CONFIG: cfg });
    expect(lax.tls).toMatchObject({ verify: false });
    expect(
      chooseEndpoint(undefined, { DOCKER_CONTEXT: 'plain', DOCKER_CONFIG: cfg }).tls
    ).toBeUndefined();
  });

  it('a context ignores DOCKER_TLS_VERIFY: the context says how to reach its engine', () => {
    const cfg = config({ plain: { host: 'tcp://10.0.0.4:2375' } });
    const env = { DOCKER_CONTEXT: 'plain', DOCKER_CONFIG: cfg, DOCKER_TLS_VERIFY: '1' };
    expect(chooseEndpoint(undefined, env).tls).toBeUndefined();
  });
});
