// Text that ends up in messages and tables: cut to a bound without splitting a character.

/** At most `max` code points, so that cutting never splits a surrogate pair, and whether it cut. */
export function cutToLength(text: string, max: number): { head: string; cut: boolean } {
  if (text.length <= max) return { head: text, cut: false };
  const chars = Array.from(text);
  return chars.length > max
    ? { head: chars.slice(0, max).join(''), cut: true }
    : { head: text, cut: false };
}

/** At most `max` code points, with an ellipsis where it cut. */
export function truncate(text: string, max: number): string {
  const { head, cut } = cutToLength(text, max);
  return cut ? `${head}…` : head;
}
