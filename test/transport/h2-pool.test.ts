import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Cancel } from "../../gateway/call/cancel.js";
import { H2Transport } from "../../gateway/transport/h2.js";

// A real node:http2 upstream that allows only two concurrent streams and
// answers nothing until told to: the situation of 10,000 long streams against
// a server with SETTINGS_MAX_CONCURRENT_STREAMS 1000.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("H2Transport session pool", () => {
  it("opens another session when every session is at the peer's stream limit, so no call waits for a free stream", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const sessions = new Set<http2.ServerHttp2Session>();
    const server = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
    server.on("session", (s) => sessions.add(s));
    server.on("stream", (stream) => held.push(stream));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const transport = new H2Transport({
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      label: "test upstream",
      connectTimeoutMs: 5000,
    });
    cleanups.push(async () => {
      for (const s of sessions) s.destroy();
      await transport.close();
      await new Promise<void>((r) => server.close(() => r()));
    });

    // One call at a time, each once the previous reached the server, so every
    // session has seen the server's SETTINGS before it is judged full. (Calls
    // a new session takes before its SETTINGS arrive may be refused with
    // REFUSED_STREAM, which the gateway retries as never having left.)
    const cancel = new Cancel();
    const call = () =>
      transport.request({
        method: "POST",
        path: "/acme.echo.v1.EchoService/Chat",
        headers: {},
        body: (async function* () {})(),
        cancel,
      });
    const calls = [];
    for (let i = 1; i <= 5; i++) {
      calls.push(call());
      await waitFor(() => held.length === i);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(transport.sessionCount).toBe(3);
    expect(sessions.size).toBe(3);

    for (const s of held) s.respond({ ":status": 200 }, { endStream: true });
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  const until = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
