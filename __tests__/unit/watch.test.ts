// The event feed that stands in for an inspect before each untag: it must say "changed" for every
// event that can name an image, and for a feed it can no longer trust.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import { namesAnImage, watchReferences } from '../../src/engine/watch.js';
import { openReferenceWatch } from '../../src/read-engine.js';

const SINCE = Date.parse('2026-12-01T10:00:00Z');

function feed() {
  const stream = new PassThrough();
  let asked: unknown;
  const docker = {
    getEvents: async (options: unknown) => ((asked = options), stream)
  } as unknown as Docker;
  const send = (e: object) => stream.write(`${JSON.stringify(e)}\n`);
  return { docker, stream, send, asked: () => asked };
}

const at = (ms: number) => ({ time: Math.floor(ms / 1000), timeNano: ms * 1e6 });

describe('the reference watch', () => {
  it('asks for image and container events from the engine time the inventory was read at', async () => {
    const f = feed();
    await watchReferences(f.docker, SINCE);
    expect(f.asked()).toEqual({
      since: SINCE / 1000,
      filters: { type: ['image', 'container'] }
    });
  });

  it('stays unchanged through the untags and deletes that removals make', async () => {
    const f = feed();
    const w = await watchReferences(f.docker, SINCE);
    f.send({ Type: 'image', Action: 'untag', Actor: { ID: 'sha256:a' }, ...at(SINCE + 5) });
    f.send({ Type: 'image', Action: 'delete', Actor: { ID: 'sha256:a' }, ...at(SINCE + 6) });
    f.send({ Type: 'container', Action: 'destroy', Actor: { ID: 'c1' }, ...at(SINCE + 7) });
    expect(await w.unchanged()).toBe(true);
  });

  it.each(['tag', 'pull', 'load', 'import', 'build', 'create', 'something-new'])(
    'reports a change on an image %s event, read before it answers',
    async (action) => {
      const f = feed();
      const w = await watchReferences(f.docker, SINCE);
      // Written, not yet read: unchanged() must read what is on the stream before answering.
      f.send({ Type: 'image', Action: action, Actor: { ID: 'app:1' }, ...at(SINCE + 10) });
      expect(await w.unchanged()).toBe(false);
    }
  );

  it('reports a change on a container commit, which makes an image', () => {
    expect(namesAnImage({ Type: 'container', Action: 'commit' })).toBe(true);
    expect(namesAnImage({ Type: 'container', Action: 'start' })).toBe(false);
  });

  it('ignores what came before the inventory, unless it has no engine time to go by', async () => {
    const f = feed();
    const w = await watchReferences(f.docker, SINCE);
    f.send({ Type: 'image', Action: 'tag', Actor: { ID: 'app:1' }, ...at(SINCE - 400) });
    expect(await w.unchanged()).toBe(true);
    const g = feed();
    const unclocked = await watchReferences(g.docker, undefined);
    g.send({ Type: 'image', Action: 'tag', Actor: { ID: 'app:1' }, ...at(SINCE - 400) });
    expect(await unclocked.unchanged()).toBe(false);
  });

  it('counts a line it cannot read, a feed that ends and a closed watch as changes', async () => {
    const f = feed();
    const w = await watchReferences(f.docker, SINCE);
    f.stream.write('{"Type": "ima\n');
    expect(await w.unchanged()).toBe(false);
    const g = feed();
    const ended = await watchReferences(g.docker, SINCE);
    const ending = once(g.stream, 'end');
    g.stream.end();
    await ending;
    expect(await ended.unchanged()).toBe(false);
    const h = feed();
    const closed = await watchReferences(h.docker, SINCE);
    closed.close();
    expect(await closed.unchanged()).toBe(false);
  });

  it('is opened on dockerd, from its clock, and never on Podman, whose events come after its answers', async () => {
    const f = feed();
    const onDocker = await openReferenceWatch(f.docker, {
      SystemTime: new Date(SINCE).toISOString()
    });
    expect(onDocker).toBeDefined();
    expect(f.asked()).toMatchObject({ since: SINCE / 1000 });
    onDocker?.close();
    const g = feed();
    const onPodman = await openReferenceWatch(g.docker, {
      SystemTime: new Date(SINCE).toISOString(),
      BuildahVersion: '1.28.2'
    });
    expect(onPodman).toBeUndefined();
    expect(g.asked()).toBeUndefined();
  });
});
