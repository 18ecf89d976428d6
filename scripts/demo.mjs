// npm run demo: a throwaway private engine, a few images and containers, and the bundled action run
// on them as the Actions runner would — first as a dry run, then for real. Never the machine's engine.
import {
  buildImage,
  busyboxImage,
  ensurePrerequisites,
  inventory,
  loadImages,
  runContainer,
  startEngine,
  tag
} from '../__tests__/harness/engine.mjs';
import { runAction } from '../__tests__/harness/action.mjs';

const INPUTS = {
  images: '**',
  exclude: 'base:stable',
  'older-than': '30d',
  // The images below arrive by `docker load` a moment before the run, so by arrival every one is
  // minutes old; the demo dates them by their build instead.
  'age-basis': 'created',
  'keep-latest': '1',
  dangling: 'true',
  containers: 'job-*'
};

function show(title, text) {
  console.log(`\n\x1b[1m── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}\x1b[0m\n${text}`);
}

function table(inv) {
  const images = inv.images.map((i) => `  ${i.id.slice(7, 19)}  ${i.tags.join(', ') || '<none>'}`);
  const containers = inv.containers.map(
    (c) => `  ${c.name.padEnd(12)} ${c.state.padEnd(8)} image ${c.image.slice(7, 19)}`
  );
  return `images:\n${images.join('\n')}\ncontainers:\n${containers.join('\n') || '  (none)'}`;
}

await ensurePrerequisites();
const engine = await startEngine({ name: 'demo' });
try {
  console.log(`Private engine at ${engine.host}`);
  // Images built years ago (no tag time), loaded now.
  await loadImages(engine, [
    { tags: ['web:1'], created: '2022-03-01T00:00:00Z', bytes: 200_000 },
    { tags: ['web:2'], created: '2023-03-01T00:00:00Z', bytes: 200_000 },
    { tags: ['web:3'], created: '2024-03-01T00:00:00Z', bytes: 200_000 },
    { tags: ['base:old', 'base:stable'], created: '2021-01-01T00:00:00Z', bytes: 300_000 },
    { tags: ['tool:1'], created: '2020-05-01T00:00:00Z', bytes: 100_000 },
    { tags: [], created: '2020-01-01T00:00:00Z', bytes: 50_000 }
  ]);
  await runContainer(engine, { image: 'tool:1', name: 'job-tool', state: 'exited' });
  await busyboxImage(engine, 'bb:1');
  await tag(engine, 'bb:1', 'bb:old');
  await runContainer(engine, { image: 'bb:1', name: 'server', state: 'running' });
  await buildImage(engine, { tag: 'fresh:1', bytes: 10_000 });
  show('Engine before', table(await inventory(engine)));
  show(
    'Inputs',
    Object.entries(INPUTS)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')
  );

  for (const dryRun of ['true', 'false']) {
    const run = await runAction({
      inputs: { ...INPUTS, 'dry-run': dryRun },
      env: { DOCKER_HOST: engine.host },
      tmpDir: engine.dir
    });
    const label = dryRun === 'true' ? 'Dry run' : 'Real run';
    show(`${label}: job summary (exit code ${run.code})`, run.summary.trim());
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    await run.cleanup();
  }
  show('Engine after', table(await inventory(engine)));
} finally {
  await engine.stop();
}
