// A remote engine over TCP with TLS client authentication (dockerd --tlsverify), reached by the
// bundled action with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. The engine's state is checked through
// its private unix socket, which stays plain. No certificate or key content may ever be printed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  buildImage,
  createCertificates,
  inventory,
  runContainer,
  busyboxImage,
  startEngine,
  type Certificates,
  type Engine
} from '../harness/engine.mjs';
import { runAction, type ActionRun } from '../harness/action.mjs';

let scratch: string;
let good: Certificates;
let unrelated: Certificates;
let engine: Engine;
/** DOCKER_CERT_PATH folders, each with what its name says. */
const certPaths: Record<'good' | 'wrongCa' | 'foreignClient' | 'noClient', string> = {
  good: '',
  wrongCa: '',
  foreignClient: '',
  noClient: ''
};

function folder(name: string, files: Record<string, string>): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir);
  for (const [file, from] of Object.entries(files)) fs.copyFileSync(from, path.join(dir, file));
  return dir;
}

beforeAll(async () => {
  scratch = await mkdtemp('/tmp/drtls-');
  [good, unrelated] = await Promise.all([
    createCertificates(path.join(scratch, 'pki')),
    createCertificates(path.join(scratch, 'unrelated-pki'), { name: 'unrelated' })
  ]);
  const client = (dir: string, file: string) => path.join(dir, file);
  certPaths.good = good.clientDir;
  // ca.pem of a second CA that never signed the engine's certificate; the client pair is valid.
  certPaths.wrongCa = folder('wrong-ca', {
    'ca.pem': unrelated.ca,
    'cert.pem': client(good.clientDir, 'cert.pem'),
    'key.pem': client(good.clientDir, 'key.pem')
  });
  // The right ca.pem, but a client certificate the engine's CA never signed.
  certPaths.foreignClient = folder('foreign-client', {
    'ca.pem': good.ca,
    'cert.pem': client(unrelated.clientDir, 'cert.pem'),
    'key.pem': client(unrelated.clientDir, 'key.pem')
  });
  certPaths.noClient = folder('no-client', { 'ca.pem': good.ca });
  engine = await startEngine({
    name: 'tls',
    tls: { ca: good.ca, cert: good.serverCert, key: good.serverKey }
  });
}, 180_000);

afterAll(async () => {
  await engine?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 120_000);

/** The base64 body lines of every PEM file made here: keys and certificates of both CAs. */
function pemBodies(): string[] {
  const files = fs
    .readdirSync(scratch, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.pem'))
    .map((e) => path.join(e.parentPath, e.name));
  const lines = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n'));
  const bodies = [...new Set(lines.filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l.trim())))];
  expect(bodies.length).toBeGreaterThan(20); // the check below must have something to look for
  return bodies;
}

function expectNoPemContent(run: ActionRun): void {
  const report = run.reportPath && fs.existsSync(run.reportPath) ? run.reportPath : undefined;
  const texts: Record<string, string> = {
    stdout: run.stdout,
    stderr: run.stderr,
    summary: run.summary,
    outputs: JSON.stringify(run.outputs),
    report: report ? fs.readFileSync(report, 'utf8') : ''
  };
  const bodies = pemBodies();
  for (const [where, text] of Object.entries(texts)) {
    const found = bodies.filter((b) => text.includes(b));
    expect([where, found]).toEqual([where, []]);
    expect([where, /-----BEGIN [A-Z ]+-----/.test(text)]).toEqual([where, false]);
  }
}

const errorLine = (run: ActionRun) =>
  run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';

async function reclaimOverTls(certPath: string | undefined, inputs: Record<string, string>) {
  const env: Record<string, string> = {};
  if (certPath !== undefined)
    Object.assign(env, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath });
  return runAction({
    inputs: { 'docker-host': engine.tcpHost!, ...inputs },
    env,
    tmpDir: engine.dir
  });
}

describe('an engine at tcp://127.0.0.1:PORT with --tlsverify', () => {
  it('serves the API over TLS to the docker CLI with the client certificate, and only then', async () => {
    expect(engine.tcpHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const over = (certPath: string) =>
      engine.docker(['version', '--format', '{{.Server.Version}}'], {
        allowFail: true,
        env: { DOCKER_HOST: engine.tcpHost!, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath }
      });
    const ok = await over(certPaths.good);
    expect([ok.code, ok.stdout.trim()]).toEqual([0, expect.stringMatching(/^\d+\./)]);
    expect((await over(certPaths.foreignClient)).code).not.toBe(0);
  });

  it('with the client certificate, removes what it should and keeps the rest', async () => {
    const removed = await buildImage(engine, { tag: 'tls/app:1', extraTags: ['tls/app:2'] });
    const untagged = await buildImage(engine, { tag: 'tls/keep:1', extraTags: ['tls/app:3'] });
    const stopped = await buildImage(engine, { tag: 'tls/job:1' });
    const cid = await runContainer(engine, {
      image: 'tls/job:1',
      name: 'tls-job',
      state: 'created'
    });
    const bb = await busyboxImage(engine, 'other/bb:1');
    const before = await inventory(engine);
    expect(before.images.map((i) => i.id)).toEqual(
      expect.arrayContaining([removed, untagged, stopped, bb])
    );

    const run = await reclaimOverTls(certPaths.good, {
      images: 'tls/**',
      exclude: 'tls/keep:*',
      containers: 'tls-*'
    });
    try {
      if (run.code !== 0) console.error(run.stdout, run.stderr);
      expect(run.code).toBe(0);
      const after = await inventory(engine);
      const ids = after.images.map((i) => i.id);
      expect(ids).not.toContain(removed);
      expect(ids).not.toContain(stopped);
      expect(after.images.find((i) => i.id === untagged)?.tags).toEqual(['tls/keep:1']);
      expect(ids).toContain(bb);
      expect(after.containers.map((c) => c.id)).not.toContain(cid);
      expect((JSON.parse(run.outputs['deleted-images']!) as string[]).sort()).toEqual(
        [removed, stopped].sort()
      );
      expect(JSON.parse(run.outputs['removed-containers']!)).toEqual([cid]);
      expect(run.summary).toContain(engine.tcpHost);
      expectNoPemContent(run);
    } finally {
      await run.cleanup();
    }
  });

  it.each([
    [
      'a ca.pem from an unrelated CA',
      'wrongCa',
      /TLS certificate problem: the engine's certificate is not trusted .*ca\.pem/
    ],
    [
      'a client certificate the engine does not trust',
      'foreignClient',
      /TLS certificate problem: the engine refused the client certificate .*cert\.pem/
    ],
    ['no client certificate', 'noClient', /cert\.pem cannot be read \(ENOENT\)/]
  ] as const)(
    'with %s, the step fails naming the address, and nothing is removed',
    async (_what, which, problem) => {
      await buildImage(engine, { tag: 'tls/doomed:1' });
      await buildImage(engine, { tag: 'tls/doomed:1' }); // and a dangling one
      const before = await inventory(engine);
      const run = await reclaimOverTls(certPaths[which], { images: '**', containers: '*' });
      try {
        expect(run.code).not.toBe(0);
        const error = errorLine(run);
        expect(error).toContain(engine.tcpHost);
        expect(error).toMatch(problem);
        expect(error).toContain(`DOCKER_CERT_PATH`);
        expect(error).toContain(certPaths[which]);
        expect(run.stdout + run.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
        expect(await inventory(engine)).toEqual(before);
        expectNoPemContent(run);
      } finally {
        await run.cleanup();
      }
    }
  );

  it('until-free is refused for an engine reached over TCP, before anything is removed', async () => {
    await buildImage(engine, { tag: 'tls/space:1' });
    const before = await inventory(engine);
    const run = await reclaimOverTls(certPaths.good, { images: '**', 'until-free': '1GB' });
    expect(run.code).not.toBe(0);
    expect(errorLine(run)).toContain(
      'Input "until-free" needs the engine\'s data disk on this machine, and none can be shown'
    );
    expect(errorLine(run)).toContain(engine.tcpHost!);
    expect(await inventory(engine)).toEqual(before);
  });

  it('without DOCKER_TLS_VERIFY, says the engine expects TLS, and nothing is removed', async () => {
    const before = await inventory(engine);
    const run = await reclaimOverTls(undefined, { images: '**' });
    try {
      expect(run.code).not.toBe(0);
      const error = errorLine(run);
      expect(error).toContain(`Cannot reach the Docker engine at ${engine.tcpHost}`);
      expect(error).toMatch(/expects TLS there: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/);
      expect(await inventory(engine)).toEqual(before);
    } finally {
      await run.cleanup();
    }
  });
});
