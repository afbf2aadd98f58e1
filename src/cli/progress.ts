import { statSync } from 'node:fs';

/**
 * The progress line of a long ingest on a terminal: bytes and lines read, their rates, and an
 * estimate of the time left (for uncompressed files, whose sizes say how much is left). Redrawn
 * in place at most every `intervalMs`; written only where a person watches (the caller decides).
 */
export class IngestProgress {
  private readonly sizes = new Map<string, number>();
  private readonly done = new Map<string, { bytes: number; lines: number }>();
  private readonly started: number;
  private lastDraw = -Infinity;
  private drawn = false;
  private readonly total: number | undefined;

  constructor(
    paths: readonly string[],
    private readonly write: (text: string) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly intervalMs = 250,
  ) {
    for (const path of paths) this.sizes.set(path, statSync(path).size);
    // Compressed files read more bytes than their size: no estimate when there is one.
    this.total = paths.some((p) => p.toLowerCase().endsWith('.gz')) ? undefined : [...this.sizes.values()].reduce((a, b) => a + b, 0);
    this.started = this.now();
  }

  update(path: string, read: { bytes: number; lines: number }): void {
    this.done.set(path, read);
    const now = this.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.write(`\r\x1b[K${this.line(now)}`);
    this.drawn = true;
  }

  /** Clears the line, so that the summary starts on a clean one. */
  finish(): void {
    if (this.drawn) this.write('\r\x1b[K');
  }

  line(now = this.now()): string {
    let bytes = 0;
    let lines = 0;
    for (const read of this.done.values()) {
      bytes += read.bytes;
      lines += read.lines;
    }
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const parts = [
      this.total === undefined ? `${mb(bytes)} read` : `${mb(bytes)} of ${mb(this.total)} (${Math.min(100, Math.floor((bytes / Math.max(this.total, 1)) * 100))}%)`,
      `${lines.toLocaleString('en-US')} lines`,
      `${Math.round(lines / seconds).toLocaleString('en-US')} lines/s`,
      `${mb(bytes / seconds)}/s`,
    ];
    if (this.total !== undefined && bytes > 0) parts.push(`ETA ${Math.max(0, Math.round(((this.total - bytes) / bytes) * seconds))} s`);
    return `ingest: ${parts.join(', ')}`;
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
