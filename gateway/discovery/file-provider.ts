import { readFile } from "node:fs/promises";
import { type Stats, unwatchFile, watchFile } from "node:fs";
import { parseYamlText } from "../config/yaml-text.js";
import type { EndpointProvider, ProviderSink } from "./provider.js";
import { endpointList } from "./endpoint-list.js";

/** How often the file's stat is polled: a watcher that survives editors' write-and-rename. */
const POLL_MS = 500;

/**
 * A YAML or JSON file holding a list of endpoints (as under `endpoints`),
 * read at start and again whenever it changes. A missing or invalid file is
 * a failure (the last good list stays); an empty list empties the set.
 */
export class FileProvider implements EndpointProvider {
  readonly description: string;
  private listener: ((cur: Stats, prev: Stats) => void) | undefined;
  private reading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly path: string) {
    this.description = `file ${path}`;
  }

  start(sink: ProviderSink): void {
    const read = () => {
      // One read at a time, in order: a quick second change waits for the first.
      this.reading = this.reading.then(() => (this.stopped ? undefined : this.read(sink)));
    };
    read();
    this.listener = (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) read();
    };
    watchFile(this.path, { interval: POLL_MS, persistent: false }, this.listener);
  }

  private async read(sink: ProviderSink): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      sink.error(
        new Error(`cannot read ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`),
      );
      return;
    }
    const parsed = parseYamlText(text);
    if (!parsed.ok) {
      sink.error(new Error(`${this.path}: ${parsed.problems.map((p) => p.message).join("; ")}`));
      return;
    }
    try {
      sink.list(endpointList(parsed.value ?? [], this.path));
    } catch (err) {
      sink.error(err as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.listener) unwatchFile(this.path, this.listener);
    await this.reading;
  }
}
