import fs from 'node:fs';

/** What still refers to an engine's directory: mounts (in this mount namespace) and processes. */
export function leftovers(dir: string) {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${dir}/`) || l.split(' ')[4] === dir);
  const procs = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${dir}/`);
      } catch {
        return false;
      }
    });
  return { mounts, procs, dirExists: fs.existsSync(dir) };
}
