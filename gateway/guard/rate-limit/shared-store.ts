import { Redis } from "ioredis";

/** Past this, a Redis command counts as failed: a rate limit must not hold calls for long. */
const COMMAND_TIMEOUT_MS = 500;

/**
 * One Redis server that rate limit rules share (`shared: redis://...`):
 * its connection, and whether it is reachable. An outage is logged once
 * when it starts and once when it ends, however many calls meet it.
 */
export class SharedStore {
  readonly client: Redis;
  private down = false;
  /** Resolves when the first connection is up; until then a take waits for it (briefly) instead of failing. */
  readonly connected: Promise<void>;
  everConnected = false;
  /** The onSharedFailure of the rules that use this store now, for the log line. */
  failureModes = new Set<"open" | "closed">();

  constructor(
    readonly url: string,
    private readonly log: (message: string) => void,
  ) {
    this.client = new Redis(url, {
      // A call never waits for a connection: with the store away it is admitted or refused at once.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2000,
      // Reconnect for as long as it takes, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Every failed reconnect emits 'error'; without a listener one would end the process.
    this.client.on("error", (err: Error) => this.failed(err));
    this.client.on("ready", () => this.reachable());
    this.connected = new Promise((resolve) =>
      this.client.once("ready", () => {
        this.everConnected = true;
        resolve();
      }),
    );
  }

  /**
   * A gateway that has just started (or reloaded onto a new store) would
   * otherwise meet its first calls before the first connection is up and
   * count them nowhere; they wait for it up to the command timeout.
   */
  firstConnection(): Promise<void> | undefined {
    if (this.everConnected) return undefined;
    return Promise.race([this.connected, new Promise<void>((r) => setTimeout(r, COMMAND_TIMEOUT_MS).unref())]);
  }

  /** A command failed, or the connection did: the first failure of an outage is logged. */
  failed(err: unknown): void {
    if (this.down) return;
    this.down = true;
    const why = err instanceof Error ? err.message : String(err);
    this.log(
      `rate limits: shared store ${redact(this.url)} is unreachable (${why}); until it is back, ${this.consequence()}`,
    );
  }

  /** A command went through, or the connection is ready again. */
  reachable(): void {
    if (!this.down) return;
    this.down = false;
    this.log(`rate limits: shared store ${redact(this.url)} is reachable again; calls are counted there again`);
  }

  close(): void {
    this.client.disconnect();
  }

  private consequence(): string {
    const open = this.failureModes.has("open");
    const closed = this.failureModes.has("closed");
    if (open && closed)
      return "calls under its onSharedFailure: open rules are admitted uncounted, under closed ones refused";
    return closed
      ? "calls under its rate limits are refused (onSharedFailure: closed)"
      : "calls under its rate limits are admitted uncounted (onSharedFailure: open)";
  }
}

/** The URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
