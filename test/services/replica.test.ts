import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EchoResponseSchema, EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { createFaults } from "../../services/faults.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { transportCases } from "./transports.js";

let replica: Replica;
beforeAll(async () => {
  replica = await startReplica({ name: "r1" });
});
afterAll(() => replica.close());
// Faults are shared by every call to the replica; restore them per test.
afterEach(() => {
  Object.assign(replica.faults, createFaults());
});

async function* from<T>(...items: T[]): AsyncIterable<T> {
  yield* items;
}

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

describe.each(transportCases)("$label", ({ create, fullDuplex }) => {
  let client: Client<typeof EchoService>;
  beforeAll(() => {
    client = createClient(EchoService, create(`http://${replica.address}`));
  });

  it("Echo answers with the message and the replica name", async () => {
    expect(await client.echo({ message: "hello" })).toMatchObject({ message: "hello", replica: "r1" });
  });

  it("Echo reports the deadline it received", async () => {
    let timeout: string | null = null;
    await client.echo({ message: "t" }, { timeoutMs: 5000, onHeader: (h) => (timeout = h.get("x-echo-timeout-ms")) });
    expect(Number(timeout)).toBeGreaterThan(3000);
    expect(Number(timeout)).toBeLessThanOrEqual(5000);
  });

  it("Count streams 1..count with the replica name", async () => {
    const got: Array<[number, string]> = [];
    for await (const res of client.count({ count: 3, intervalMs: 10 })) got.push([res.n, res.replica]);
    expect(got).toEqual([
      [1, "r1"],
      [2, "r1"],
      [3, "r1"],
    ]);
  });

  it("Sum adds int64 values beyond 2^53", async () => {
    const res = await client.sum(from({ value: 2n ** 60n }, { value: 5n }, { value: -2n }));
    expect(res.total).toBe(2n ** 60n + 3n);
    expect(res.replica).toBe("r1");
  });

  it.runIf(fullDuplex)("Chat answers each message as it arrives", async () => {
    const replies: string[] = [];
    for await (const res of client.chat(from({ message: "a" }, { message: "b" }))) {
      replies.push(`${res.message}@${res.replica}`);
    }
    expect(replies).toEqual(["a@r1", "b@r1"]);
  });

  it("Write returns a per-replica version counter", async () => {
    const first = await client.write({ key: "k", value: "1" });
    const second = await client.write({ key: "k", value: "2" });
    expect(second.version).toBe(first.version + 1n);
    expect(BigInt(replica.stats.writes)).toBe(second.version);
  });

  it("injects errors at the configured rate and code", async () => {
    replica.faults.errorRate = 1;
    replica.faults.errorCode = Code.Unavailable;
    const err = await rejection(client.echo({ message: "x" }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("injected fault on replica r1");
  });

  it("injects latency", async () => {
    replica.faults.latencyMs = 150;
    const started = performance.now();
    await client.echo({ message: "slow" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("a hung replica only ends with the caller's deadline", async () => {
    replica.faults.hang = true;
    const err = await rejection(client.echo({ message: "x" }, { timeoutMs: 200 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("x-echo-fail fails with that code and an error detail", async () => {
    const err = await rejection(client.echo({ message: "x" }, { headers: { "x-echo-fail": "not_found" } }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("requested failure");
    expect(err.findDetails(EchoResponseSchema)).toMatchObject([{ message: "detail", replica: "r1" }]);
  });

  it("x-echo-trailer is mirrored into a response header and trailer", async () => {
    let header: string | null = null;
    let trailer: string | null = null;
    await client.echo(
      { message: "m" },
      {
        headers: { "x-echo-trailer": "v1" },
        onHeader: (h) => (header = h.get("x-echo-header")),
        onTrailer: (t) => (trailer = t.get("x-echo-trailer")),
      },
    );
    expect(header).toBe("v1");
    expect(trailer).toBe("v1");
  });

  it("a cancelled Count stops and the replica keeps serving", async () => {
    const abort = new AbortController();
    const seen: number[] = [];
    const err = await rejection(
      (async () => {
        for await (const res of client.count({ count: 1000, intervalMs: 20 }, { signal: abort.signal })) {
          seen.push(res.n);
          if (res.n === 2) abort.abort();
        }
      })(),
    );
    expect(err.code).toBe(Code.Canceled);
    // Messages already in flight may still arrive; a runaway stream would not stop.
    expect(seen.length).toBeLessThan(10);
    expect((await client.echo({ message: "still here" })).message).toBe("still here");
  });
});
