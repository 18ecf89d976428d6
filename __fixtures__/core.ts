// A typed stand-in for @actions/core, in the style of actions/typescript-action: tests load it with
// jest.unstable_mockModule before importing the module under test, then read what it was told.
import { jest } from '@jest/globals';
import type * as core from '@actions/core';

/** Inputs the fake's getInput answers; '' for any other, as the runner gives a missing input. */
export const inputs: Record<string, string> = {};
/** State saved with saveState, and read back by getState. */
export const state: Record<string, string> = {};
/** The job summary as written. */
export const summaryText: string[] = [];

export const getInput = jest.fn<typeof core.getInput>((name) => inputs[name] ?? '');
export const setOutput = jest.fn<typeof core.setOutput>();
export const setFailed = jest.fn<typeof core.setFailed>();
export const info = jest.fn<typeof core.info>();
export const warning = jest.fn<typeof core.warning>();
export const debug = jest.fn<typeof core.debug>();
export const saveState = jest.fn<typeof core.saveState>((name, value) => {
  state[name] = String(value);
});
export const getState = jest.fn<typeof core.getState>((name) => state[name] ?? '');
export const group = jest.fn(<T>(_name: string, fn: () => Promise<T>) =>
  fn()
) as unknown as typeof core.group;
export const summary = {
  addRaw(text: string) {
    summaryText.push(text);
    return summary;
  },
  async write() {
    return summary;
  }
};

/** Forgets every call, input and saved state. */
export function resetCore(): void {
  for (const f of [getInput, setOutput, setFailed, info, warning, debug, saveState, getState])
    f.mockClear();
  (group as unknown as jest.Mock).mockClear();
  for (const o of [inputs, state]) for (const k of Object.keys(o)) delete o[k];
  summaryText.length = 0;
}
