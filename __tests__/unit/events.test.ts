import { describe, expect, it } from '@jest/globals';
import { eventTime, latestArrivals, type EngineEvent } from '../../src/engine/events.js';
import type { ImageId, Reference } from '../../src/plan/types.js';
import { image } from '../../__fixtures__/inventory.js';

const T = 1_796_116_000;
/** Engine IDs as Docker writes them; Podman leaves off the algorithm in events. */
const sid = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as ImageId;
const pull = (ref: string, time: number, podman = false): EngineEvent =>
  podman
    ? { Type: 'image', Action: 'pull', Actor: { ID: '', Attributes: { name: ref } }, time }
    : { Type: 'image', Action: 'pull', Actor: { ID: ref, Attributes: { name: ref } }, time };
const byId = (action: string, id: string, time: number): EngineEvent => ({
  Type: 'image',
  Action: action,
  Actor: { ID: id, Attributes: { name: id } },
  time
});

describe('arrival events', () => {
  it('a pull counts for the image its reference names now, on Docker and on Podman', () => {
    const a = image(['127.0.0.1:5000/app:1']);
    const b = image(['ghcr.io/o/tool:2']);
    const arrivals = latestArrivals(
      [pull('127.0.0.1:5000/app:1', T), pull('ghcr.io/o/tool:2', T + 5, true)],
      [a, b]
    );
    expect(arrivals.get(a.id)).toEqual({ time: T * 1000, action: 'pull' });
    expect(arrivals.get(b.id)).toEqual({ time: (T + 5) * 1000, action: 'pull' });
  });

  it('a pull by digest counts for the image with that digest, tagged or not', () => {
    const d = `app@sha256:${'e'.repeat(64)}` as Reference;
    const a = image([], { digests: [d] });
    expect(latestArrivals([pull(d, T)], [a]).get(a.id)?.action).toBe('pull');
  });

  it('familiar and qualified names are one reference, and no tag means latest', () => {
    const a = image(['busybox:latest']);
    const arrivals = latestArrivals([pull('docker.io/library/busybox', T)], [a]);
    expect(arrivals.get(a.id)?.time).toBe(T * 1000);
  });

  it('load, tag, import and a container commit name the image by ID; the latest event wins', () => {
    const a = image(['a:1'], { id: sid(1) });
    const b = image([], { id: sid(2) });
    const c = image([], { id: sid(3) });
    const events: EngineEvent[] = [
      byId('load', a.id, T),
      byId('tag', a.id, T + 10),
      byId('import', b.id.replace('sha256:', ''), T + 3),
      {
        Type: 'container',
        Action: 'commit',
        Actor: { ID: 'c1', Attributes: { imageID: c.id } },
        time: T + 4
      }
    ];
    const arrivals = latestArrivals(events, [a, b, c]);
    expect(arrivals.get(a.id)).toEqual({ time: (T + 10) * 1000, action: 'tag' });
    expect(arrivals.get(b.id)).toEqual({ time: (T + 3) * 1000, action: 'import' });
    expect(arrivals.get(c.id)).toEqual({ time: (T + 4) * 1000, action: 'commit' });
  });

  it('removals, container runs and images no longer listed are not arrivals', () => {
    const a = image(['a:1'], { id: sid(1) });
    const events: EngineEvent[] = [
      byId('untag', a.id, T),
      byId('delete', a.id, T),
      byId('load', 'sha256:' + 'f'.repeat(64), T),
      {
        Type: 'container',
        Action: 'start',
        Actor: { ID: 'c', Attributes: { image: 'a:1' } },
        time: T
      }
    ];
    expect(latestArrivals(events, [a]).size).toBe(0);
  });

  it('times are milliseconds, from timeNano when the engine gives it', () => {
    expect(eventTime({ time: T })).toBe(T * 1000);
    expect(eventTime({ time: T, timeNano: T * 1e9 + 123_456_789 })).toBe(T * 1000 + 123);
  });
});
