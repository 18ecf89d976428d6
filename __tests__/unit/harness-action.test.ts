import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Input } from '../../src/constants.js';
import {
  REPO_ROOT,
  actionDefaults,
  inputEnvName,
  parseActionInputs,
  parseCommandFile,
  runAction
} from '../harness/action.mjs';

describe('parseActionInputs', () => {
  it('reads names and defaults, skipping folded descriptions and other blocks', () => {
    const yml = [
      'name: x',
      'description: >-',
      '  default: not-an-input',
      'inputs:',
      '  # a comment',
      '  older-than:',
      '    description: >-',
      '      Minimum age.',
      '      default: inside the folded text',
      '',
      '      More text.',
      '    required: false',
      "    default: '0'",
      '  quoted:',
      "    default: 'it''s: #here'",
      '  none:',
      '    description: No default.',
      '  empty:',
      "    default: ''",
      '  plain:',
      '    default: true # comment',
      'outputs:',
      '  report:',
      '    default: nope'
    ].join('\n');
    expect(parseActionInputs(yml)).toEqual({
      'older-than': '0',
      quoted: "it's: #here",
      none: '',
      empty: '',
      plain: 'true'
    });
  });

  it('rejects what it does not understand instead of guessing', () => {
    expect(() => parseActionInputs('inputs:\n  a:\n    default: >-\n      x\n')).toThrow(/block/);
    expect(() => parseActionInputs("inputs:\n  a:\n    default: 'x\n")).toThrow(/single-quoted/);
  });

  it('gives every input of the real action.yml with its default', () => {
    const defaults = actionDefaults();
    expect(Object.keys(defaults).sort()).toEqual(Object.values(Input).sort());
    expect(defaults['older-than']).toBe('0');
    expect(defaults['age-basis']).toBe('last-used');
    expect(defaults['docker-host']).toBe('');
  });

  it('names variables as the runner does: dashes kept, spaces to underscores', () => {
    expect(inputEnvName('older-than')).toBe('INPUT_OLDER-THAN');
    expect(inputEnvName('my input')).toBe('INPUT_MY_INPUT');
  });
});

describe('parseCommandFile', () => {
  it('reads heredocs (multi-line, empty, with = and <<) and plain lines', () => {
    const text = [
      'a<<ghadelimiter_1',
      'line 1',
      '',
      'x=y << z',
      'ghadelimiter_1',
      'empty<<EOF',
      '',
      'EOF',
      'none<<EOF',
      'EOF',
      'plain=v=w<<x',
      ''
    ].join('\n');
    expect(parseCommandFile(text)).toEqual({
      a: 'line 1\n\nx=y << z',
      empty: '',
      none: '',
      plain: 'v=w<<x'
    });
  });

  it('rejects an unterminated heredoc', () => {
    expect(() => parseCommandFile('a<<EOF\nvalue\n')).toThrow(/EOF/);
  });
});

describe('runAction', () => {
  it('passes every input, reads back outputs, summary and state written by @actions/core', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-unit-'));
    try {
      const core = pathToFileURL(path.join(REPO_ROOT, 'node_modules/@actions/core/lib/core.js'));
      const entry = path.join(dir, 'entry.mjs');
      fs.writeFileSync(
        entry,
        [
          `import * as core from ${JSON.stringify(core.href)};`,
          `const inputs = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('INPUT_')));`,
          `core.setOutput('inputs', inputs);`,
          `core.setOutput('multi', 'a\\nb');`,
          `core.setOutput('temp', process.env.RUNNER_TEMP);`,
          `core.saveState('phase', 'main');`,
          `await core.summary.addRaw('# hello').write();`,
          `console.log('out'); console.error('err');`,
          `process.exitCode = 3;`
        ].join('\n')
      );
      const run = await runAction({
        entry,
        inputs: { 'older-than': '7d', images: 'a\nb' },
        env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
        tmpDir: dir
      });
      expect(run.code).toBe(3);
      expect(run.stdout).toBe('out\n');
      expect(run.stderr).toBe('err\n');
      const inputs = JSON.parse(run.outputs.inputs ?? '{}');
      expect(inputs['INPUT_OLDER-THAN']).toBe('7d');
      expect(inputs['INPUT_IMAGES']).toBe('a\nb');
      expect(inputs['INPUT_AGE-BASIS']).toBe('last-used');
      expect(Object.keys(inputs).sort()).toEqual(
        Object.keys(actionDefaults()).map(inputEnvName).sort()
      );
      expect(run.outputs.multi).toBe('a\nb');
      expect(run.outputs.temp).toBe(run.runnerTemp);
      expect(run.summary).toContain('# hello');
      expect(parseCommandFile(run.state)).toEqual({ phase: 'main' });
      expect(run.env.DOCKER_HOST).toBe('unix:///nonexistent/docker.sock');
      expect(run.env.NODE_OPTIONS).toBeUndefined();
      await run.cleanup();
      expect(fs.existsSync(run.runnerTemp)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to run without a private engine address', async () => {
    await expect(runAction({ entry: '/nonexistent.js' })).rejects.toThrow(/DOCKER_HOST/);
  });
});
