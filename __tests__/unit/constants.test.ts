import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import { Output, VERSION } from '../../src/constants.js';

describe('names and versions spelled once', () => {
  it('the version in the report is package.json’s', () => {
    expect(VERSION).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
  });

  it('action.yml declares exactly the outputs the action sets', () => {
    const yml = fs.readFileSync('action.yml', 'utf8');
    const block = yml.slice(yml.indexOf('\noutputs:'), yml.indexOf('\nruns:'));
    const declared = [...block.matchAll(/^ {2}([a-z-]+):$/gm)].map((m) => m[1]);
    expect(declared.sort()).toEqual(Object.values(Output).sort());
  });
});
