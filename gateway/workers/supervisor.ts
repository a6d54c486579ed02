import cluster, { type Worker } from "node:cluster";
import { isToPrimary, type ToPrimary, type ToWorker } from "./messages.js";

/** A worker as the primary knows it without asking. */
export interface WorkerInfo {
  /** node:cluster's worker.id: 1, 2, ... in order of forking; a replacement gets the next one. */
  id: number;
  pid: number;
  state: "starting" | "serving";
  /** ISO 8601. */
  forkedAt: string;
}

interface Slot {
  worker: Worker;
  info: WorkerInfo;
  /** The start message went out: the worker takes part in reloads and reports. */
  started: boolean;
  /** Why it could not start, when it said so before exiting. */
  failed?: string;
}

type Answer = Extract<ToPrimary, { seq: number }>;

export interface SupervisorOptions {
  count: number;
  /** The start message for worker `id`, built when it asks, so it carries the config current then. */
  startMessage: (id: number) => ToWorker;
  /** What the supervisor does not handle itself (nudges, took), with the worker's id. */
  onMessage: (m: ToPrimary, worker: number) => void;
  /** A worker started serving: it can take connections. */
  onServing: (worker: number) => void;
  /** A worker exited (its connections that it never took can go). */
  onExit: (worker: number) => void;
  log: (message: string) => void;
  /** Resolves when a worker may be started: not while a reload is being handed out. */
  gate: () => Promise<unknown>;
}

/** The longest wait before restarting a worker that keeps dying before it serves. */
const MAX_RESTART_DELAY_MS = 10_000;

/**
 * Forks the workers (node:cluster), replaces one that exits at once, and
 * carries messages to and from them: broadcasts, and questions every worker
 * answers (reloads, reports, drains, metrics). A worker that dies before it ever served is
 * restarted with backoff, so a config that cannot serve does not fork in a
 * loop; one that dies during the first start fails the start.
 */
export class Supervisor {
  private readonly slots = new Map<number, Slot>();
  private readonly asks = new Map<number, { waiting: Set<number>; answers: Map<number, Answer>; done: () => void }>();
  private seq = 0;
  private stopping = false;
  /** Workers in a row that died before serving. */
  private crashes = 0;
  private starting: { serving: Set<number>; resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Replacements waiting out their backoff. */
  private readonly restarts = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: SupervisorOptions) {}

  /** Forks every worker; resolves once all serve, rejects with the reason if one cannot. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.starting = { serving: new Set(), resolve, reject };
      for (let i = 0; i < this.opts.count; i++) this.fork();
    });
  }

  /** The workers that take new connections: serving, and not being stopped. */
  targets(): Worker[] {
    if (this.stopping) return [];
    return [...this.slots.values()]
      .filter((s) => s.info.state === "serving" && s.worker.isConnected())
      .map((s) => s.worker);
  }

  list(): WorkerInfo[] {
    return [...this.slots.values()].map((s) => ({ ...s.info }));
  }

  /** To every worker that has its start message (later ones get the state in it). */
  broadcast(m: ToWorker): void {
    for (const s of this.slots.values()) if (s.started) this.send(s.worker, m);
  }

  /**
   * Sends `build(seq)` to every started worker and collects the answers with
   * that seq; a worker that exits or takes longer than `timeoutMs` has none.
   */
  ask(build: (seq: number) => ToWorker, timeoutMs: number): Promise<Map<number, Answer | undefined>> {
    const seq = ++this.seq;
    const targets = [...this.slots.values()].filter((s) => s.started);
    return new Promise((resolve) => {
      const waiting = new Set(targets.map((s) => s.info.id));
      const answers = new Map<number, Answer>();
      const done = () => {
        clearTimeout(timer);
        this.asks.delete(seq);
        resolve(new Map(targets.map((s) => [s.info.id, answers.get(s.info.id)])));
      };
      const timer = setTimeout(done, timeoutMs);
      this.asks.set(seq, { waiting, answers, done });
      if (waiting.size === 0) return done();
      for (const s of targets) this.send(s.worker, build(seq));
    });
  }

  /** SIGTERM to every worker (each drains), SIGKILL to those still running after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const t of this.restarts) clearTimeout(t);
    this.restarts.clear();
    const exits = [...this.slots.values()].map(
      (s) =>
        new Promise<void>((resolve) =>
          s.worker.isDead() ? resolve() : s.worker.process.once("exit", () => resolve()),
        ),
    );
    for (const s of this.slots.values()) s.worker.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const s of this.slots.values()) {
        this.opts.log(`worker ${s.info.id} (pid ${s.info.pid}) still running after ${timeoutMs} ms: SIGKILL`);
        s.worker.process.kill("SIGKILL");
      }
    }, timeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  private fork(): void {
    const worker = cluster.fork();
    const info: WorkerInfo = {
      id: worker.id,
      pid: worker.process.pid ?? 0,
      state: "starting",
      forkedAt: new Date().toISOString(),
    };
    const slot: Slot = { worker, info, started: false };
    this.slots.set(worker.id, slot);
    worker.on("message", (m: unknown) => {
      if (isToPrimary(m)) this.onMessage(slot, m);
    });
    // An IPC write to a worker that just died; its exit is handled below.
    worker.on("error", () => {});
    worker.process.once("exit", (code, signal) => this.onExit(slot, code, signal));
  }

  private onMessage(slot: Slot, m: ToPrimary): void {
    switch (m.type) {
      case "switchyard:hello":
        void this.opts.gate().then(() => {
          if (slot.worker.isDead() || this.stopping) return;
          slot.started = true;
          this.send(slot.worker, this.opts.startMessage(slot.info.id));
        });
        return;
      case "switchyard:serving":
        slot.info.state = "serving";
        this.crashes = 0;
        this.opts.onServing(slot.info.id);
        if (this.starting) {
          this.starting.serving.add(slot.info.id);
          if (this.starting.serving.size === this.opts.count) {
            this.starting.resolve();
            this.starting = undefined;
          }
        } else this.opts.log(`worker ${slot.info.id} (pid ${slot.info.pid}) serving`);
        return;
      case "switchyard:failed":
        slot.failed = m.message;
        return;
      case "switchyard:reloaded":
      case "switchyard:report":
      case "switchyard:drained":
      case "switchyard:metrics": {
        const ask = this.asks.get(m.seq);
        if (!ask) return;
        ask.answers.set(slot.info.id, m);
        ask.waiting.delete(slot.info.id);
        if (ask.waiting.size === 0) ask.done();
        return;
      }
      default:
        this.opts.onMessage(m, slot.info.id);
    }
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    this.slots.delete(slot.info.id);
    this.opts.onExit(slot.info.id);
    for (const ask of this.asks.values()) {
      if (ask.waiting.delete(slot.info.id) && ask.waiting.size === 0) ask.done();
    }
    if (this.stopping) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.starting) {
      this.starting.reject(new Error(slot.failed ?? `worker ${slot.info.id} ${how} before it could serve`));
      this.starting = undefined;
      this.stopping = true;
      for (const s of this.slots.values()) s.worker.process.kill("SIGKILL");
      return;
    }
    if (slot.info.state !== "serving") this.crashes++;
    const delay = this.crashes === 0 ? 0 : Math.min(100 * 2 ** this.crashes, MAX_RESTART_DELAY_MS);
    const why = slot.failed ? ` (${slot.failed})` : "";
    this.opts.log(
      `worker ${slot.info.id} (pid ${slot.info.pid}) ${how}${why}; ${delay ? `replacing it in ${delay} ms` : "replacing it"}`,
    );
    if (delay === 0) return this.fork();
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (!this.stopping) this.fork();
    }, delay);
    this.restarts.add(timer);
  }

  private send(worker: Worker, m: ToWorker): void {
    if (!worker.isDead() && worker.isConnected()) worker.send(m);
  }
}
