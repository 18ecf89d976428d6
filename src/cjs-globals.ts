// Bundled CommonJS code (ssh2's WebAssembly loader, via dockerode) reads __dirname when it loads,
// and an ES module bundle has none. Imported first by the entry point, before dockerode.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const g = globalThis as { __dirname?: string };
g.__dirname ??= path.dirname(fileURLToPath(import.meta.url));
