// A run's checkpoint rows for a tree view, answered at once when they can be. VS Code forgets the handles of a
// row's children from the moment the row is redrawn until its provider has answered for them again, and a
// command picked from a child's context menu in that gap runs without its row. A live run's row is redrawn on
// every listing that changed it (every step), so the gap recurs; each answer read the run's files
// asynchronously, which kept it open for that long. Here a run whose checkpoint folders are the ones last read
// gets the last rows at once, and the files are read again behind the answer; when that read differs (a
// checkpoint kept, its metrics arrived), `changed` is told, and the view redraws the run.

export class CheckpointRows<T> {
  private readonly last = new Map<string, { folders: string; rows: T[]; json: string }>();
  /** The read in flight for each run, with the folders it was asked for. */
  private readonly reading = new Map<string, { folders: string; rows: Promise<T[]> }>();

  /** @param changed told with the run's key when a read behind an answer found other rows than that answer gave */
  constructor(private readonly changed: (key: string) => void) {}

  /**
   * The rows of run `key`, whose listing names the checkpoint folders `folders` (in any form that changes with
   * them): at once when they are the folders last read (then `read` again behind), else once `read`.
   */
  rows(key: string, folders: string, read: () => Promise<T[]>): T[] | Promise<T[]> {
    const last = this.last.get(key);
    const fresh = this.readAgain(key, folders, read);
    if (last?.folders === folders) {
      void fresh.then((rows) => { if (JSON.stringify(rows) !== last.json) this.changed(key); }, () => undefined);
      return last.rows;
    }
    return fresh;
  }

  /** Forgets every run's rows: the next answers read the files (a whole-view redraw, after a command changed them). */
  clear(): void { this.last.clear(); }

  /** One read per run at a time: a caller with the same folders shares it; other folders start a read that wins. */
  private readAgain(key: string, folders: string, read: () => Promise<T[]>): Promise<T[]> {
    const running = this.reading.get(key);
    if (running?.folders === folders) return running.rows;
    const rows = read().then((r) => {
      if (this.reading.get(key)?.rows === rows) this.last.set(key, { folders, rows: r, json: JSON.stringify(r) });
      return r;
    }).finally(() => { if (this.reading.get(key)?.rows === rows) this.reading.delete(key); });
    this.reading.set(key, { folders, rows });
    return rows;
  }
}
