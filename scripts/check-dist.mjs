// After ncc: refuse a bundle that holds a native binary or any other executable asset.
import fs from 'node:fs';
import path from 'node:path';

const DIST = 'dist';

const MAGIC = [
  ['ELF', Buffer.from([0x7f, 0x45, 0x4c, 0x46])],
  ['Windows PE', Buffer.from('MZ')],
  ['Mach-O', Buffer.from([0xcf, 0xfa, 0xed, 0xfe])],
  ['Mach-O', Buffer.from([0xca, 0xfe, 0xba, 0xbe])],
  ['WebAssembly', Buffer.from([0x00, 0x61, 0x73, 0x6d])]
];
const bad = [];
for (const entry of fs.readdirSync(DIST, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const file = path.join(entry.parentPath ?? entry.path, entry.name);
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const kind = MAGIC.find(([, m]) => head.subarray(0, m.length).equals(m))?.[0];
  if (kind || /\.(node|exe|dll|so|dylib)$/.test(file))
    bad.push(`${file} (${kind ?? 'binary extension'})`);
}
if (bad.length > 0) {
  console.error(`dist/ must hold no native binaries, found:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
