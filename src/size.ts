// Sizes for until-free: decimal units (kB, MB, GB, TB) and binary ones (KiB, MiB, GiB, TiB), or a
// percentage of the disk.

export class SizeError extends Error {}

export type SizeTarget = { bytes: number } | { percent: number };

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40
};

export function parseSize(text: string): SizeTarget {
  const value = text.trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  if (percent) {
    const p = Number(percent[1]);
    if (p <= 0 || p > 100)
      throw new SizeError('a percentage of the disk is more than 0 and at most 100');
    return { percent: p };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(value);
  if (!m) {
    throw new SizeError(
      /^\d+(\.\d+)?$/.test(value) ? 'the unit is missing' : 'it is neither a size nor a percentage'
    );
  }
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) throw new SizeError(`"${m[2]!.slice(0, 8)}" is not a unit`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new SizeError('the size must be more than 0 bytes and less than 9 PB');
  }
  return { bytes };
}
