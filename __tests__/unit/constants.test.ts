import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import { Output, VERSION } from '../../src/constants.js';
import { actionOutputs } from '../harness/action.mjs';

describe('names and versions spelled once', () => {
  it('the version in the report is package.json’s', () => {
    expect(VERSION).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
  });

  it('action.yml declares exactly the outputs the action sets', () => {
    expect(actionOutputs().sort()).toEqual(Object.values(Output).sort());
  });
});
