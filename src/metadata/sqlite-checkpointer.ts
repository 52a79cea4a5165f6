import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// The worker's whole program: its own connection to the database, checkpointing on a timer until told to stop.
const program = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or gone: the next tick tries again */ }
}, workerData.intervalMs);
parentPort.once('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

/**
 * Copies the WAL back into the database file from a worker thread. SQLite otherwise checkpoints inside whichever
 * commit crosses 1000 WAL pages, on the event loop, with the fsyncs of the WAL and the database file: measured in
 * a GC pass over 100k manifests, the slowest of those commits held every request for hundreds of milliseconds on a
 * busy disk. A PASSIVE checkpoint never blocks the writer or readers; one that cannot finish is retried.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;

  /** `onFailure`: the worker could not run (its connection failed); the caller checkpoints itself again. */
  constructor(path: string, onFailure: () => void, intervalMs = 250) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(program, { eval: true, workerData: { path, module, intervalMs } });
    this.worker.on('error', onFailure);
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.unref();
  }

  /** Stops it and closes its connection, so the store's own close is the last and removes the WAL. */
  async close(): Promise<void> {
    this.worker.ref(); // an unreferenced worker's exit would not keep the process alive to see it
    this.worker.postMessage('stop');
    await this.exited;
  }
}
