import net from "node:net";
import type { ListenerConfig } from "../config/types.js";
import { listenerAddress, listenerKeys } from "../snapshot/reload.js";
import type { ToWorker } from "./messages.js";

/** Connections held while no worker can take them (before the first serves, during a reload); past this, refused. */
const MAX_WAITING = 1024;

/** Whether a worker binds this listener itself (SO_REUSEPORT) rather than taking connections from the primary. */
export function bindsItself(lc: ListenerConfig, reusePortWorks: boolean): boolean {
  return reusePortWorks && lc.reusePort === true && lc.port !== 0;
}

/** A worker as the distributor needs it (node:cluster's Worker is one). */
export interface Target {
  readonly id: number;
  send(m: ToWorker, socket: net.Socket, options: { keepOpen: boolean }, done: (err: Error | null) => void): boolean;
}

interface Accepting {
  config: ListenerConfig;
  server: net.Server;
  port: number;
  /** New connections wait: the workers do not know this listener yet (a reload is under way). */
  held: boolean;
}

/**
 * Round-robin of the listeners' connections over the serving workers: the
 * primary accepts each connection (paused, unread) and hands the socket to
 * the next worker over IPC, which serves it as its own.
 *
 * node:cluster's round-robin (SCHED_RR) does the same, but keeps its copy of a
 * connection until the worker replies, and a worker killed before replying
 * never does: the connection then stays open in the primary, unread, and the
 * client waits on it for ever (lib/internal/cluster/round_robin_handle.js;
 * the worker-kill chaos test hit it once in four reconnects). Here the
 * primary keeps its copy until the worker says it took the socket, and
 * closes the copies a dead worker never took: their clients see the
 * connection close and reconnect to a live worker.
 */
export class Distributor {
  private readonly accepting = new Map<string, Accepting>();
  /** Sockets handed to each worker, by seq, until it says it took them. */
  private readonly given = new Map<number, Map<number, net.Socket>>();
  private waiting: Array<[string, net.Socket]> = [];
  private seq = 0;
  private turn = 0;

  /** `targets`: the workers that take connections now (serving, not draining). */
  constructor(private readonly targets: () => readonly Target[]) {}

  /** Binds the listener called `key`; rejects as listen does (EADDRINUSE, EACCES). */
  async open(key: string, lc: ListenerConfig, held = false): Promise<number> {
    const server = net.createServer({ pauseOnConnect: true, noDelay: true });
    server.on("connection", (socket: net.Socket) => {
      socket.on("error", () => {});
      this.hand(key, socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port: lc.port, host: lc.host }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", () => {});
    const port = (server.address() as net.AddressInfo).port;
    this.accepting.set(key, { config: lc, server, port, held });
    return port;
  }

  /**
   * Accepts for the listeners of `listeners` that the workers do not bind
   * themselves, and for no others: stops accepting on removed ones (first,
   * as an added one may want the same port, e.g. TLS turned on), binds added
   * ones, held until release(). A port that cannot be bound undoes it all and
   * throws, naming the listener.
   */
  async follow(
    listeners: readonly ListenerConfig[],
    reusePortWorks: boolean,
  ): Promise<{ release(): void; undo(): Promise<void> }> {
    const keys = listenerKeys(listeners);
    const wanted = new Map<string, [number, ListenerConfig]>();
    listeners.forEach((lc, i) => {
      if (!bindsItself(lc, reusePortWorks)) wanted.set(keys[i]!, [i, lc]);
    });
    const removed = [...this.accepting].filter(([k]) => !wanted.has(k)).map(([k, a]) => [k, a.config] as const);
    const added = [...wanted].filter(([k]) => !this.accepting.has(k));
    for (const [k] of removed) this.close(k);
    const opened: string[] = [];
    const undo = async () => {
      for (const k of opened) this.close(k);
      for (const [k, lc] of removed) await this.open(k, lc).catch(() => {});
    };
    for (const [k, [i, lc]] of added) {
      try {
        await this.open(k, lc, true);
        opened.push(k);
      } catch (err) {
        await undo();
        const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new Error(`listeners[${i}]: cannot listen on ${listenerAddress(lc)}: ${why}`);
      }
    }
    return { release: () => opened.forEach((k) => this.release(k)), undo };
  }

  has(key: string): boolean {
    return this.accepting.has(key);
  }

  keys(): string[] {
    return [...this.accepting.keys()];
  }

  port(key: string): number | undefined {
    return this.accepting.get(key)?.port;
  }

  /** The workers know listener `key` now: its connections go out. */
  release(key: string): void {
    const a = this.accepting.get(key);
    if (a) a.held = false;
    this.wake();
  }

  /** Stops accepting on listener `key`; connections already handed out stay with their workers. */
  close(key: string): void {
    const a = this.accepting.get(key);
    if (!a) return;
    this.accepting.delete(key);
    a.server.close();
    const keep: Array<[string, net.Socket]> = [];
    for (const w of this.waiting) {
      if (w[0] === key) w[1].destroy();
      else keep.push(w);
    }
    this.waiting = keep;
  }

  closeAll(): void {
    for (const key of this.keys()) this.close(key);
  }

  /** A worker can take connections now (it started serving): hand out what waits. */
  wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const [key, socket] of waiting) this.hand(key, socket);
  }

  /** The worker took the socket `seq`: the primary's copy goes. */
  took(worker: number, seq: number): void {
    const given = this.given.get(worker);
    const socket = given?.get(seq);
    if (!socket) return;
    given!.delete(seq);
    socket.destroy();
  }

  /** The worker is gone: what it never took closes, and those clients reconnect. */
  gone(worker: number): void {
    for (const socket of this.given.get(worker)?.values() ?? []) socket.destroy();
    this.given.delete(worker);
  }

  private hand(key: string, socket: net.Socket, tries = 0): void {
    const a = this.accepting.get(key);
    if (!a) return void socket.destroy();
    const targets = this.targets();
    if (a.held || targets.length === 0) {
      if (this.waiting.length < MAX_WAITING) this.waiting.push([key, socket]);
      else socket.destroy();
      return;
    }
    const worker = targets[this.turn++ % targets.length]!;
    const seq = ++this.seq;
    let given = this.given.get(worker.id);
    if (!given) this.given.set(worker.id, (given = new Map()));
    given.set(seq, socket);
    const m: ToWorker = { type: "switchyard:connection", seq, listener: key };
    worker.send(m, socket, { keepOpen: true }, (err) => {
      if (!err || !given.delete(seq)) return;
      // Never sent (the worker is going): another worker takes it.
      if (tries < 3) this.hand(key, socket, tries + 1);
      else socket.destroy();
    });
  }
}
