import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Distributor, bindsItself, type Target } from "./distributor.js";
import type { ListenerConfig } from "../config/types.js";
import type { ToWorker } from "./messages.js";

// Real TCP connections to the distributor's ports; the workers are stand-ins
// that record what they are handed (handing a socket to another process is
// what test/workers and test/chaos/worker-kill.test.ts cover).

const at = (port = 0): ListenerConfig => ({ port, host: "127.0.0.1" });
const open: Array<{ closeAll(): void }> = [];
const clients: net.Socket[] = [];
afterEach(() => {
  for (const d of open.splice(0)) d.closeAll();
  for (const c of clients.splice(0)) c.destroy();
});

class StandIn implements Target {
  readonly handed: Array<{ m: ToWorker; socket: net.Socket }> = [];
  fail = false;
  constructor(readonly id: number) {}
  send(m: ToWorker, socket: net.Socket, _o: { keepOpen: boolean }, done: (err: Error | null) => void): boolean {
    if (this.fail) {
      setImmediate(() => done(new Error("channel closed")));
      return false;
    }
    this.handed.push({ m, socket });
    setImmediate(() => done(null));
    return true;
  }
}

function distributor(targets: () => Target[]): Distributor {
  const d = new Distributor(targets);
  open.push(d);
  return d;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, "127.0.0.1", () => resolve(c));
    c.on("error", reject);
    clients.push(c);
  });
}

const ended = (c: net.Socket) => new Promise<void>((resolve) => c.once("close", () => resolve()));

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(f()).toBe(true);
}

describe("Distributor", () => {
  it("hands connections round-robin, each with its listener's name", async () => {
    const a = new StandIn(1);
    const b = new StandIn(2);
    const d = distributor(() => [a, b]);
    const port = await d.open("L", at());
    for (let i = 0; i < 4; i++) await connect(port);
    await until(() => a.handed.length + b.handed.length === 4);
    expect([a.handed.length, b.handed.length]).toEqual([2, 2]);
    expect(a.handed[0]!.m).toMatchObject({ type: "switchyard:connection", listener: "L" });
  });

  it("holds connections while no worker serves, or while its listener is held, and hands them out after", async () => {
    const a = new StandIn(1);
    let targets: Target[] = [];
    const d = distributor(() => targets);
    const port = await d.open("L", at());
    await connect(port);
    const heldPort = await d.open("H", at(), true);
    await connect(heldPort);
    await new Promise((r) => setTimeout(r, 50));
    targets = [a];
    d.wake();
    await until(() => a.handed.length === 1);
    d.release("H");
    await until(() => a.handed.length === 2);
    expect(a.handed.map((h) => (h.m as { listener: string }).listener)).toEqual(["L", "H"]);
  });

  it("a worker that dies without taking its sockets: their clients see the connection end; taken ones were closed here already", async () => {
    const a = new StandIn(1);
    const d = distributor(() => [a]);
    const port = await d.open("L", at());
    await connect(port);
    const c2 = await connect(port);
    await until(() => a.handed.length === 2);
    const [s1, s2] = a.handed.map((h) => h.socket);
    d.took(1, (a.handed[0]!.m as { seq: number }).seq);
    expect(s1!.destroyed).toBe(true);
    expect(s2!.destroyed).toBe(false);
    const c2ended = ended(c2);
    d.gone(1);
    await c2ended;
    expect(s2!.destroyed).toBe(true);
  });

  it("a socket that cannot be sent goes to the next worker", async () => {
    const a = new StandIn(1);
    const b = new StandIn(2);
    a.fail = true;
    const d = distributor(() => [a, b]);
    const port = await d.open("L", at());
    await connect(port);
    await connect(port);
    await until(() => b.handed.length === 2);
  });

  it("follow(): stops accepting on removed listeners, binds added ones held, and undoes it all when a port is taken", async () => {
    const d = distributor(() => []);
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const takenPort = (taken.address() as net.AddressInfo).port;
    try {
      (await d.follow([at()], false)).release();
      await expect(d.follow([at(takenPort)], false)).rejects.toThrow(
        `listeners[0]: cannot listen on 127.0.0.1:${takenPort}: EADDRINUSE`,
      );
      // Undone: the removed listener accepts again, on a port of its own.
      expect(d.keys()).toEqual(["127.0.0.1:0"]);
      expect(d.port("127.0.0.1:0")).toBeGreaterThan(0);
      const next = await d.follow(
        [{ port: 0, host: "127.0.0.1", tls: { cert: "C", key: "K", requireClientCert: false } }],
        false,
      );
      expect(d.keys()).toEqual(["127.0.0.1:0 tls"]);
      await next.undo();
      expect(d.keys()).toEqual(["127.0.0.1:0"]);
    } finally {
      taken.close();
    }
  });

  it("leaves listeners with reusePort to the workers where SO_REUSEPORT works, and only with a fixed port", async () => {
    expect(bindsItself({ ...at(8080), reusePort: true }, true)).toBe(true);
    expect(bindsItself({ ...at(8080), reusePort: true }, false)).toBe(false);
    expect(bindsItself({ ...at(0), reusePort: true }, true)).toBe(false);
    const d = distributor(() => []);
    (await d.follow([{ ...at(8080), reusePort: true }], true)).release();
    expect(d.keys()).toEqual([]);
  });
});
