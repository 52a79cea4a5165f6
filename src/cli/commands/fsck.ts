import { parseArgs } from 'node:util';
import { dataOptions, loadExistingRegistry } from '../config-options.js';
import pino from 'pino';
import { formatProblem, formatSummary, hints, problemJson, progressLine, summaryJson } from '../fsck-report.js';
import { runFsck } from '../../fsck/fsck.js';
import type { FsckPhase, FsckProgress } from '../../fsck/types.js';
import { createLogger } from '../../log/logger.js';
import { parseSize } from '../../quota/config.js';
import { openRegistry } from '../../registry/registry.js';

export const fsckUsage = `wharf fsck [--repair] [--json] [--rate SIZE] [--config FILE] [--data-dir DIR]
                                 Verify every blob and manifest reference (exit 1 on problems); --repair quarantines bad blobs`;

/**
 * Draws progress on stderr: a bar redrawn in place on a terminal (each phase keeps its last line), a line every
 * few seconds otherwise, and the last state of every phase either way.
 */
class ProgressView {
  private lastDraw = 0;
  private phase: FsckPhase | null = null;
  private pending: FsckProgress | null = null;
  private shown = false;

  constructor(
    private readonly tty: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(p: FsckProgress): void {
    const phaseChanged = p.phase !== this.phase;
    if (phaseChanged && this.phase !== null) {
      if (this.pending) this.draw(this.pending);
      if (this.tty && this.shown) this.out.write('\n');
      this.shown = false;
    }
    this.phase = p.phase;
    if (phaseChanged || Date.now() - this.lastDraw >= (this.tty ? 100 : 5000)) this.draw(p);
    else this.pending = p;
  }

  private draw(p: FsckProgress): void {
    this.out.write(this.tty ? `\r${progressLine(p)}\u001b[K` : `${progressLine(p)}\n`);
    this.shown = this.tty;
    this.lastDraw = Date.now();
    this.pending = null;
  }

  /** Clears the bar before other output goes to the same terminal (it is drawn again on the next update). */
  clear(): void {
    if (this.tty && this.shown) {
      this.out.write('\r\u001b[K');
      this.shown = false;
      this.lastDraw = 0;
    }
  }

  finish(): void {
    if (this.pending) this.draw(this.pending);
    if (this.tty && this.shown) this.out.write('\n');
    this.shown = false;
  }
}

export async function fsckCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        ...dataOptions,
        repair: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        rate: { type: 'string' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\nusage: ${fsckUsage}\n`);
    return 2;
  }
  const rate = values.rate === undefined ? 0 : parseSize(values.rate);
  if (rate === null) {
    process.stderr.write(`--rate: expected bytes per second such as 100MiB, got ${values.rate}\n`);
    return 2;
  }
  const config = await loadExistingRegistry('fsck', values);
  // Warnings go to stderr as JSON lines: stdout is the report (which --json makes machine-readable).
  const log = createLogger({ ...config.log, level: 'warn', format: 'json' }, pino.destination({ fd: 2, sync: true }));
  const registry = openRegistry({ ...config, log: { ...config.log, level: 'warn' } }, log);
  const view = new ProgressView(process.stderr.isTTY === true);
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  try {
    const report = await runFsck(registry, {
      repair: values.repair,
      rate,
      signal: controller.signal,
      onProgress: (p) => view.update(p),
      onProblem: (p) => {
        view.clear();
        process.stdout.write(values.json ? problemJson(p) : formatProblem(p));
      },
    });
    view.finish();
    process.stdout.write(values.json ? summaryJson(report) : formatSummary(report));
    if (!values.json) for (const hint of hints(report)) process.stdout.write(`${hint}\n`);
    return report.problems.length > 0 ? 1 : 0;
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    view.finish();
    process.stderr.write('fsck: interrupted; nothing was left half repaired\n');
    return 130;
  } finally {
    process.off('SIGINT', interrupt);
    await registry.close();
  }
}
