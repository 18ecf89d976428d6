import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ledgerFile,
  mergeLedger,
  readLedger,
  updateLedger,
  withArrivalRecords,
  type LedgerEntry
} from '../../src/ledger.js';
import type { ImageId, Inventory } from '../../src/plan/types.js';
import { DAY, NOW, image } from '../../__fixtures__/inventory.js';

const ENGINE = { id: 'L7V5:HXUL', root: '/var/lib/docker', address: 'unix:///var/run/docker.sock' };
const dir = () => mkdtempSync(join(tmpdir(), 'ledger-'));
const inv = (images: Inventory['images']): Inventory => ({ images, containers: [] });

describe('the ledger file', () => {
  it('is one per engine: the same ID with another data root or address is another engine', () => {
    const d = '/cache';
    const a = ledgerFile(d, ENGINE);
    expect(ledgerFile(d, { ...ENGINE })).toBe(a);
    expect(ledgerFile(d, { ...ENGINE, root: '/tmp/other/data' })).not.toBe(a);
    expect(ledgerFile(d, { ...ENGINE, address: 'tcp://10.0.0.2:2376' })).not.toBe(a);
  });

  it('a missing file is an empty ledger; a broken one is empty and says why', () => {
    const d = dir();
    expect(readLedger(join(d, 'none.json'))).toEqual({ entries: new Map() });
    writeFileSync(join(d, 'bad.json'), '{"version":1,');
    expect(readLedger(join(d, 'bad.json')).problem).toMatch(/not valid JSON/);
    writeFileSync(join(d, 'other.json'), '{"something":"else"}');
    expect(readLedger(join(d, 'other.json')).problem).toMatch(/not a docker-reclaim ledger/);
  });

  it('round-trips through updateLedger, leaving no lock or temporary file behind', async () => {
    const d = dir();
    const file = ledgerFile(d, ENGINE);
    const entry: LedgerEntry = { firstSeen: NOW, arrived: { time: NOW - DAY, action: 'pull' } };
    await updateLedger(file, ENGINE, () => new Map([['sha256:a' as ImageId, entry]]));
    expect(readLedger(file).entries).toEqual(new Map([['sha256:a', entry]]));
    expect(JSON.parse(readFileSync(file, 'utf8')).engine).toEqual(ENGINE);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('two runs updating at once both keep their records', async () => {
    const d = dir();
    const file = ledgerFile(d, ENGINE);
    const add = (id: string) =>
      updateLedger(file, ENGINE, (current) => {
        const next = new Map(current);
        next.set(id as ImageId, { firstSeen: NOW });
        return next;
      });
    await Promise.all(Array.from({ length: 20 }, (_, n) => add(`sha256:${n}`)));
    expect(readLedger(file).entries.size).toBe(20);
  });

  it('a lock left by a run that died is taken over once it is stale', async () => {
    const d = dir();
    const file = ledgerFile(d, ENGINE);
    writeFileSync(`${file}.lock`, '12345\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    await updateLedger(file, ENGINE, () => new Map([['sha256:a' as ImageId, { firstSeen: NOW }]]));
    expect(readLedger(file).entries.size).toBe(1);
  });

  it('a lock held by a live run makes the update give up rather than wait forever', async () => {
    const d = dir();
    const file = ledgerFile(d, ENGINE);
    writeFileSync(`${file}.lock`, '12345\n');
    let t = 0;
    const clock = () => (t += 1000) + Date.now();
    await expect(updateLedger(file, ENGINE, () => new Map(), clock)).rejects.toThrow(
      /held by another run/
    );
  });
});

describe('merging what a run saw', () => {
  it('records a new image as first seen now, and keeps an earlier first sight', () => {
    const a = image(['a:1']);
    const b = image(['b:1']);
    const current = new Map([[b.id, { firstSeen: NOW - 5 * DAY }]]);
    const next = mergeLedger(current, inv([a, b]), NOW, new Set());
    expect(next.get(a.id)).toEqual({ firstSeen: NOW });
    expect(next.get(b.id)).toEqual({ firstSeen: NOW - 5 * DAY });
  });

  it('keeps the latest arrival event, from this run or an earlier one', () => {
    const a = image(['a:1'], {
      arrival: { event: { time: NOW - DAY, action: 'tag', earlierRun: false } }
    });
    const kept = new Map([
      [
        a.id,
        { firstSeen: NOW - 9 * DAY, arrived: { time: NOW - 2 * DAY, action: 'pull' as const } }
      ]
    ]);
    expect(mergeLedger(kept, inv([a]), NOW, new Set()).get(a.id)).toEqual({
      firstSeen: NOW - 9 * DAY,
      arrived: { time: NOW - DAY, action: 'tag' }
    });
  });

  it('forgets images that are gone and those the run deleted, but not ones another run added since', () => {
    const a = image(['a:1']);
    const gone = 'sha256:gone' as ImageId;
    const newer = 'sha256:newer' as ImageId;
    const current = new Map([
      [a.id, { firstSeen: NOW - DAY }],
      [gone, { firstSeen: NOW - DAY }],
      [newer, { firstSeen: NOW + 1000 }]
    ]);
    expect([...mergeLedger(current, inv([a]), NOW, new Set()).keys()].sort()).toEqual(
      [a.id, newer].sort()
    );
    expect([...mergeLedger(current, inv([a]), NOW, new Set([a.id])).keys()]).toEqual([newer]);
  });
});

describe('arrival records on the inventory', () => {
  it('take the later of this run’s event and the ledger’s, and the ledger’s first sight', () => {
    const a = image(['a:1']);
    const b = image(['b:1']);
    const c = image(['c:1']);
    const events = new Map([
      [a.id, { time: NOW - DAY, action: 'pull' as const }],
      [b.id, { time: NOW - 5 * DAY, action: 'pull' as const }]
    ]);
    const ledger = new Map([
      [
        a.id,
        { firstSeen: NOW - 9 * DAY, arrived: { time: NOW - 3 * DAY, action: 'load' as const } }
      ],
      [b.id, { firstSeen: NOW - 9 * DAY, arrived: { time: NOW - 2 * DAY, action: 'tag' as const } }]
    ]);
    const [ra, rb, rc] = withArrivalRecords(inv([a, b, c]), events, ledger).images;
    expect(ra!.arrival).toEqual({
      event: { time: NOW - DAY, action: 'pull', earlierRun: false },
      firstSeen: NOW - 9 * DAY
    });
    expect(rb!.arrival).toEqual({
      event: { time: NOW - 2 * DAY, action: 'tag', earlierRun: true },
      firstSeen: NOW - 9 * DAY
    });
    expect(rc!.arrival).toBeUndefined();
  });
});
