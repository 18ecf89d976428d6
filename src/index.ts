// The one entry point: the runner runs dist/index.js for main and (if declared) post.
import * as core from '@actions/core';
import { State } from './constants.js';
import { main } from './main.js';
import { post } from './post.js';

async function run(): Promise<void> {
  try {
    if (core.getState(State.IsPost) === 'true') {
      await post();
    } else {
      core.saveState(State.IsPost, 'true');
      await main();
    }
  } catch (e) {
    // Unexpected: keep the stack for debugging, but lead with a sentence.
    const err = e instanceof Error ? e : new Error(String(e));
    core.debug(err.stack ?? err.message);
    core.setFailed(`docker-reclaim stopped unexpectedly: ${err.message}`);
  }
}

await run();
