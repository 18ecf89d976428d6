// Shared by the scripts that run src/ without bundling it (the planner benchmark, the summary
// screenshot): every .ts file under src/, as it is in the working tree, with its types stripped and
// nothing else rewritten. No type check; `npm run typecheck` does that. The output sits inside the
// repository, under .cache/, so that imports of node_modules resolve from there.
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../__tests__/harness/action.mjs';

/** Transpiles src/ into `.cache/<name>/src/` and returns that directory. */
export async function transpileSources(name) {
  const root = join(REPO_ROOT, '.cache', name);
  const src = join(REPO_ROOT, 'src');
  await rm(root, { recursive: true, force: true });
  const files = (await readdir(src, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.d.ts')
  );
  for (const file of files) {
    const { outputText, diagnostics } = ts.transpileModule(
      await readFile(join(src, file), 'utf8'),
      {
        fileName: file,
        reportDiagnostics: true,
        compilerOptions: {
          module: ts.ModuleKind.ES2022,
          target: ts.ScriptTarget.ES2022,
          isolatedModules: true
        }
      }
    );
    if (diagnostics?.length) {
      const message = ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n');
      throw new Error(`src/${file}: ${message}`);
    }
    const dest = join(root, 'src', file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, outputText);
  }
  // src/constants.ts takes the version from ../package.json.
  await copyFile(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  return join(root, 'src');
}
