// The right engine and the right disk: Docker contexts made with the docker CLI itself, chosen in
// the CLI's order, one with TLS files; and until-free against a dockerd whose data root lives in a
// mount namespace of its own, as a docker:dind sidecar's does.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import {
  busyboxImage,
  createCertificates,
  inventory,
  loadImages,
  run,
  startEngine,
  type Engine
} from '../harness/engine.mjs';
import { runAction, type ActionRun } from '../harness/action.mjs';

const errorLine = (r: ActionRun) =>
  r.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
const imageIds = async (e: Engine) => (await inventory(e)).images.map((i) => i.id);

describe('Docker contexts', () => {
  let scratch: string;
  let a: Engine;
  let b: Engine;
  let secure: Engine;
  /** A DOCKER_CONFIG with contexts alpha (engine a), beta (b, the current one) and secure (TLS
   * files), made with the docker CLI. */
  let config: string;
  let home: string;

  beforeAll(async () => {
    scratch = await mkdtemp('/tmp/drctx-');
    const certs = await createCertificates(join(scratch, 'certs'));
    [a, b, secure] = await Promise.all([
      startEngine({ name: 'ctx-a' }),
      startEngine({ name: 'ctx-b' }),
      startEngine({
        name: 'ctx-tls',
        tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey }
      })
    ]);
    config = join(scratch, 'config');
    home = join(scratch, 'home');
    const cli = (args: string[]) =>
      run('docker', args, { env: { ...process.env, DOCKER_CONFIG: config, HOME: home } });
    await cli(['context', 'create', 'alpha', '--docker', `host=${a.host}`]);
    await cli(['context', 'create', 'beta', '--docker', `host=${b.host}`]);
    const c = certs.clientDir;
    await cli([
      'context', 'create', 'secure', '--docker',
      `host=${secure.tcpHost},ca=${c}/ca.pem,cert=${c}/cert.pem,key=${c}/key.pem`
    ]); // prettier-ignore
    await cli(['context', 'use', 'beta']);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), secure?.stop()]);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }, 120_000);

  /** One dangling image on each engine: whichever the action cleaned has lost its own. */
  async function danglingEverywhere(): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    for (const [name, e] of [
      ['a', a],
      ['b', b],
      ['secure', secure]
    ] as const) {
      ids[name] = (await loadImages(e, [{ tags: [], created: '2019-01-01T00:00:00Z' }]))[0]!;
    }
    return ids;
  }

  async function cleaned(env: Record<string, string>, inputs: Record<string, string> = {}) {
    const ids = await danglingEverywhere();
    const run = await runAction({
      inputs,
      env: { DOCKER_CONFIG: config, HOME: home, ...env },
      tmpDir: scratch
    });
    expect(run.code).toBe(0);
    const left: string[] = [];
    for (const [name, e] of [
      ['a', a],
      ['b', b],
      ['secure', secure]
    ] as const) {
      if (!(await imageIds(e)).includes(ids[name]!)) left.push(name);
    }
    return { run, cleaned: left };
  }

  it.each([
    ['the current context of config.json', {}, {}, 'b', 'context "beta" (currentContext in'],
    [
      'DOCKER_CONTEXT over the current context',
      { DOCKER_CONTEXT: 'alpha' },
      {},
      'a',
      'context "alpha" (DOCKER_CONTEXT)'
    ],
    [
      'DOCKER_HOST over DOCKER_CONTEXT',
      { DOCKER_CONTEXT: 'alpha', DOCKER_HOST: '' },
      {},
      'b',
      '(DOCKER_HOST)'
    ],
    [
      'the docker-host input over all of them',
      { DOCKER_CONTEXT: 'beta', DOCKER_HOST: '' },
      { 'docker-host': '' },
      'a',
      '(the docker-host input)'
    ]
  ] as const)('follows %s', async (_, env, inputs, expected, from) => {
    // Addresses are only known once the engines run.
    const resolved: Record<string, string> = { ...env };
    if ('DOCKER_HOST' in env) resolved.DOCKER_HOST = b.host;
    const inputValues: Record<string, string> = { ...inputs };
    if ('docker-host' in inputs) inputValues['docker-host'] = a.host;
    const { run, cleaned: which } = await cleaned(resolved, inputValues);
    expect(which).toEqual([expected]);
    expect(run.stdout).toContain(from);
  });

  it('reaches a context’s TLS engine with the context’s own TLS files', async () => {
    const { run, cleaned: which } = await cleaned({ DOCKER_CONTEXT: 'secure' });
    expect(which).toEqual(['secure']);
    expect(run.stdout).toContain(
      `Connect to ${secure.tcpHost} (context "secure" (DOCKER_CONTEXT))`
    );
  });

  it('refuses a context that does not exist, by name, and removes nothing', async () => {
    const ids = await danglingEverywhere();
    const run = await runAction({
      env: { DOCKER_CONFIG: config, HOME: home, DOCKER_CONTEXT: 'gone' },
      tmpDir: scratch
    });
    expect(run.code).not.toBe(0);
    expect(errorLine(run)).toMatch(/the context "gone" \(DOCKER_CONTEXT\) does not exist/);
    for (const [name, e] of [
      ['a', a],
      ['b', b],
      ['secure', secure]
    ] as const) {
      expect(await imageIds(e)).toContain(ids[name]);
    }
  });
});

describe('until-free and a data root this machine cannot see', () => {
  let engine: Engine;
  let hiddenRoot: string;
  const MB = 1_000_000;

  beforeAll(async () => {
    engine = await startEngine({ name: 'dind', dataSize: '200m', hiddenDataRoot: true });
    hiddenRoot = `/proc/${engine.pid}/root${engine.dataRoot}`;
    await busyboxImage(engine, 'dind/bb:1');
    await loadImages(engine, [
      { tags: ['dind/old:1'], created: '2019-01-01T00:00:00Z', bytes: 5 * MB },
      { tags: ['dind/old:2'], created: '2019-02-01T00:00:00Z', bytes: 5 * MB }
    ]);
  }, 120_000);
  afterAll(async () => engine?.stop(), 120_000);

  it('the engine’s path exists here, empty, on another disk than the engine’s', () => {
    expect(statfsSync(engine.dataRoot).type).not.toBe(statfsSync(hiddenRoot).type);
    expect(statfsSync(hiddenRoot).blocks * statfsSync(hiddenRoot).bsize).toBe(200 * 1024 * 1024);
  });

  it('refuses until-free, naming the path and why it is not the engine’s disk, and removes nothing', async () => {
    const before = await inventory(engine);
    const run = await runAction({
      inputs: { images: 'dind/**', 'until-free': '100GB' },
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir
    });
    expect(run.code).not.toBe(0);
    expect(errorLine(run)).toContain(
      `Input "until-free" needs the engine's data disk on this machine, and none can be shown: ${engine.dataRoot} exists here but holds none of this engine's`
    );
    expect(errorLine(run)).toContain('engine-data-root');
    expect(await inventory(engine)).toEqual(before);
  });

  it('without until-free, runs and leaves the free-disk figures out rather than report the wrong disk', async () => {
    const run = await runAction({
      inputs: { images: 'nothing/**' },
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir
    });
    expect(run.code).toBe(0);
    expect(run.summary).not.toContain('free disk');
    expect(run.stdout).toContain(
      `The engine's data disk is not measured: ${engine.dataRoot} exists here`
    );
  });

  it('measures the right disk through engine-data-root, checked the same way', async () => {
    const free = () => statfsSync(hiddenRoot).bavail * statfsSync(hiddenRoot).bsize;
    // Just above what is free: the least recently used image has to go, and only that one.
    const run = await runAction({
      inputs: {
        images: 'dind/old:*',
        'until-free': `${free() + MB}B`,
        'engine-data-root': hiddenRoot
      },
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `free on ${hiddenRoot}, the engine's data disk: it holds this engine's`
    );
    const report = run.report as { space: { disk: { path: string; totalBytes: number } } };
    expect(report.space.disk).toMatchObject({ path: hiddenRoot, totalBytes: 200 * 1024 * 1024 });
    expect(JSON.parse(run.outputs['untagged']!)).toEqual(['dind/old:1']);
  });

  it('refuses an engine-data-root that does not hold this engine’s data', async () => {
    const run = await runAction({
      inputs: { images: 'dind/**', 'until-free': '1GB', 'engine-data-root': engine.dataRoot },
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir
    });
    expect(run.code).not.toBe(0);
    expect(errorLine(run)).toContain(
      `${engine.dataRoot} exists here but holds none of this engine's`
    );
  });
});
