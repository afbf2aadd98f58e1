/**
 * Text ordered as both engines order it: by UTF-8 bytes (JavaScript's `<` compares UTF-16 code
 * units, which differs above U+FFFF), null last. Ties in shared rankings are broken with this.
 */
export function byteOrder(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
