// Sizes as `docker images` prints them: decimal units, one decimal place.

const UNITS = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  if (bytes < 0) return `-${formatBytes(-bytes)}`;
  if (Math.round(bytes) < 1000) return `${Math.round(bytes)} B`;
  // Decide the unit on the rounded figure, so 999,999 bytes reads `1.0 MB`, never `1000.0 kB`.
  const tenths = (v: number) => Math.round(v * 10);
  let value = bytes / 1000;
  let i = 0;
  while (i < UNITS.length - 1 && tenths(value) >= 10000) {
    value /= 1000;
    i++;
  }
  return `${(tenths(value) / 10).toFixed(1)} ${UNITS[i]}`;
}
