const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

/**
 * A size as a person writes it or DuckDB prints a setting ('366.2 MiB', '1.0 GB', '64KiB'), in
 * bytes. Its own module: the CLI reads sizes before (or without) loading the store.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)\s*$/i.exec(text);
  const unit = match && BYTE_UNITS[match[2]!.toUpperCase()];
  return match && unit ? Number(match[1]) * unit : undefined;
}
