// /system/df on a shared engine: Docker 20.10 refuses a second one while another client's runs.
import { describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import { diskUsage } from '../../src/engine/usage.js';

const serverError = (message: string) =>
  Object.assign(new Error(`(HTTP code 500) server error - ${message}`), { statusCode: 500 });

function engine(answers: (Error | object)[]) {
  let calls = 0;
  const docker = {
    df: async () => {
      const a = answers[Math.min(calls++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    }
  } as unknown as Docker;
  return { docker, calls: () => calls };
}

describe('disk usage', () => {
  it('waits its turn while another client’s disk usage operation runs', async () => {
    const busy = serverError('a disk usage operation is already running ');
    const e = engine([busy, busy, { LayersSize: 42 }]);
    expect(await diskUsage(e.docker)).toEqual({ LayersSize: 42 });
    expect(e.calls()).toBe(3);
  });

  it('passes any other failure on at once', async () => {
    const e = engine([serverError('something else'), { LayersSize: 42 }]);
    await expect(diskUsage(e.docker)).rejects.toThrow('something else');
    expect(e.calls()).toBe(1);
  });
});
