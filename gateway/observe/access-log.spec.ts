import { describe, expect, it } from "vitest";
import { Code } from "../call/status.js";
import { capturedLogger } from "../../test/helpers/log-capture.js";
import { AccessLog } from "./access-log.js";
import { Observer } from "./observer.js";

describe("AccessLog", () => {
  it("writes one line when a call ends, with every attempt's endpoint and an IPv6 peer in brackets", () => {
    const { log, lines } = capturedLogger();
    const obs = new Observer([new AccessLog(log)], true);
    const rec = obs.open("grpc_web", { remoteAddress: "::1", remotePort: 4000 });
    rec.begin(
      {
        path: "/x.Y/Z",
        service: "x.Y",
        method: "Z",
        kind: undefined,
        codec: "proto",
        metadata: {},
        timeoutMs: undefined,
      },
      undefined,
      undefined,
    );
    rec.cluster = "c";
    rec.attempt("10.0.0.1:1", "first", 0).end(Code.UNAVAILABLE);
    rec.attempt("10.0.0.2:1", "retry", 1).end(Code.OK);
    rec.messageIn(3);
    rec.messageOut(5);
    rec.traceId = "0af7651916cd43dd8448eb211c80319c";
    expect(lines()).toEqual([]);
    rec.code = Code.OK;
    rec.end();
    expect(lines()).toEqual([
      {
        level: "info",
        time: expect.any(String),
        event: "call",
        protocol: "grpc_web",
        method: "/x.Y/Z",
        code: "OK",
        durationMs: expect.any(Number),
        cluster: "c",
        attempts: 2,
        endpoints: ["10.0.0.1:1", "10.0.0.2:1"],
        messagesIn: 1,
        messagesOut: 1,
        bytesIn: 3,
        bytesOut: 5,
        peer: "[::1]:4000",
        traceId: "0af7651916cd43dd8448eb211c80319c",
        msg: "call",
      },
    ]);
  });
});
