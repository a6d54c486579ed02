import { describe, expect, it } from "vitest";
import { Code } from "../call/status.js";
import type { CallHead } from "../call/call.js";
import { type AttemptRecord, type CallRecord, type CallSink, Observer, codeName } from "./observer.js";

const head: CallHead = {
  path: "/acme.echo.v1.EchoService/Echo",
  service: "acme.echo.v1.EchoService",
  method: "Echo",
  kind: "unary",
  codec: "proto",
  metadata: {},
  timeoutMs: undefined,
};

/** A sink that writes down every hook it gets. */
function recorder(): { sink: CallSink; seen: string[] } {
  const seen: string[] = [];
  const sink: CallSink = {
    started: (c) => seen.push(`started ${c.service}/${c.method}`),
    attemptStarted: (_c, a) => seen.push(`attempt ${a.kind} ${a.endpoint} after ${a.previous}`),
    attemptEnded: (_c, a) => seen.push(`attempt ended ${codeName(a.code)} ${a.outcome ?? "-"}`),
    hedgeEnded: (_c, _a, o) => seen.push(`hedge ${o}`),
    budgetExhausted: (c) => seen.push(`budget ${c.cluster}`),
    ended: (c) => seen.push(`ended ${codeName(c.code)} attempts=${c.attempts} in=${c.received}/${c.bytesIn}`),
  };
  return { sink, seen };
}

describe("Observer and CallRecord", () => {
  it("reports a call's life in order, each end once", () => {
    const { sink, seen } = recorder();
    const rec = new Observer([sink]).open("grpc", { remoteAddress: "127.0.0.1", remotePort: 5000 });
    rec.begin(head, "method", "unary");
    rec.cluster = "echo";
    rec.messageIn(7);
    const a: AttemptRecord = rec.attempt("10.0.0.1:50051", "first", 0);
    a.end(Code.UNAVAILABLE);
    a.end(Code.OK);
    rec.budgetExhausted();
    rec.code = Code.UNAVAILABLE;
    rec.end();
    rec.end();
    expect(seen).toEqual([
      "started acme.echo.v1.EchoService/Echo",
      "attempt first 10.0.0.1:50051 after 0",
      "attempt ended UNAVAILABLE -",
      "budget echo",
      "ended UNAVAILABLE attempts=1 in=1/7",
    ]);
    expect(rec.endpoints).toEqual(["10.0.0.1:50051"]);
    expect([rec.peerAddress, rec.peerPort]).toEqual(["127.0.0.1", 5000]);
  });

  it("names only what the gateway can name: unknown service and method otherwise", () => {
    const names = (named: "method" | "service" | undefined) => {
      const rec: CallRecord = new Observer([]).open("connect", undefined);
      rec.begin(head, named, undefined);
      return [rec.service, rec.method];
    };
    expect(names("method")).toEqual(["acme.echo.v1.EchoService", "Echo"]);
    expect(names("service")).toEqual(["acme.echo.v1.EchoService", "unknown"]);
    expect(names(undefined)).toEqual(["unknown", "unknown"]);
  });

  it("reports a call whose request could not be read as started, unnamed, before it ends", () => {
    const { sink, seen } = recorder();
    const rec = new Observer([sink]).open("grpc_web", undefined);
    rec.code = Code.INVALID_ARGUMENT;
    rec.end();
    expect(seen).toEqual(["started unknown/unknown", "ended INVALID_ARGUMENT attempts=0 in=0/0"]);
  });

  it("gives each hedge exactly one outcome: won, lost, or cancelled with the call", () => {
    const { sink, seen } = recorder();
    const rec = new Observer([sink]).open("grpc", undefined);
    const first = rec.attempt("a:1", "first", 0);
    const won = rec.attempt("b:1", "hedge", 1);
    const lost = rec.attempt("c:1", "hedge", 2);
    const failed = rec.attempt("d:1", "hedge", 3);
    const cancelled = rec.attempt("e:1", "hedge", 4);
    won.hedge("won");
    first.hedge("lost"); // not a hedge: no outcome
    lost.hedge("lost");
    lost.end(Code.CANCELLED);
    failed.end(Code.UNAVAILABLE);
    cancelled.end(Code.CANCELLED);
    won.end(Code.OK);
    expect(seen.filter((s) => s.startsWith("hedge") || s.startsWith("attempt ended"))).toEqual([
      "hedge won",
      "hedge lost",
      "attempt ended CANCELLED lost",
      "hedge lost",
      "attempt ended UNAVAILABLE lost",
      "hedge cancelled",
      "attempt ended CANCELLED cancelled",
      "attempt ended OK won",
    ]);
    expect(first.outcome).toBeUndefined();
  });

  it("counts messages into a sink's live counts too", () => {
    const rec = new Observer([]).open("grpc", undefined);
    rec.receivedCount = { value: 10 };
    rec.sentCount = { value: 0 };
    rec.messageIn(3);
    rec.messageOut(4);
    rec.messageOut(5);
    expect([rec.receivedCount.value, rec.sentCount.value, rec.bytesIn, rec.bytesOut]).toEqual([11, 2, 3, 9]);
  });

  it("names codes as gRPC does", () => {
    expect([codeName(Code.OK), codeName(Code.DEADLINE_EXCEEDED), codeName(99 as Code)]).toEqual([
      "OK",
      "DEADLINE_EXCEEDED",
      "UNKNOWN",
    ]);
  });
});
