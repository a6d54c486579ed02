import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { parseReplicaArgs, UsageError } from "./cli-args.js";

describe("parseReplicaArgs", () => {
  it("has defaults that need no flags", () => {
    expect(parseReplicaArgs([])).toEqual({
      help: false,
      port: 50051,
      host: "127.0.0.1",
      name: "r-50051",
      services: ["echo"],
      faults: {},
    });
  });

  it("takes --service once or more, each once", () => {
    expect(parseReplicaArgs(["--service", "billing"]).services).toEqual(["billing"]);
    expect(parseReplicaArgs(["--service", "echo", "--service", "billing", "--service", "echo"]).services).toEqual([
      "echo",
      "billing",
    ]);
  });

  it("reads every flag", () => {
    const options = parseReplicaArgs([
      "--port",
      "0",
      "--name",
      "r1",
      "--host",
      "0.0.0.0",
      "--latency",
      "2s",
      "--error-rate",
      "0.5",
      "--error-code",
      "NOT_FOUND",
      "--hang",
    ]);
    expect(options).toEqual({
      help: false,
      port: 0,
      host: "0.0.0.0",
      name: "r1",
      services: ["echo"],
      faults: { latencyMs: 2000, errorRate: 0.5, errorCode: Code.NotFound, hang: true },
    });
  });

  it("reads a random latency tail", () => {
    expect(parseReplicaArgs(["--tail-latency", "300ms", "--tail-rate", "0.02"]).faults).toEqual({
      tailLatencyMs: 300,
      tailRate: 0.02,
    });
    expect(parseReplicaArgs(["--tail-latency", "1s"]).faults).toEqual({ tailLatencyMs: 1000, tailRate: 0.01 });
  });

  it("reads --register etcd://host:port/prefix/", () => {
    expect(parseReplicaArgs(["--register", "etcd://127.0.0.1:2379/services/echo/"]).register).toEqual({
      endpoints: ["http://127.0.0.1:2379"],
      prefix: "/services/echo/",
    });
    expect(
      parseReplicaArgs(["--register=etcd://10.0.0.1:2379,etcd-2.internal:2379,[::1]:2379/svc/echo/"]).register,
    ).toEqual({
      endpoints: ["http://10.0.0.1:2379", "http://etcd-2.internal:2379", "http://[::1]:2379"],
      prefix: "/svc/echo/",
    });
    expect(parseReplicaArgs([]).register).toBeUndefined();
  });

  it("accepts --flag=value", () => {
    expect(parseReplicaArgs(["--latency=250ms"]).faults).toEqual({ latencyMs: 250 });
  });

  it.each([
    [["--bogus"], /bogus/],
    [["stray"], /stray/],
    [["--port"], /port/],
    [["--port", "70000"], /--port/],
    [["--port", "12ab"], /--port/],
    [["--latency", "soon"], /--latency/],
    [["--error-rate", "1.5"], /--error-rate/],
    [["--error-rate", ""], /--error-rate/],
    [["--error-rate", "half"], /--error-rate/],
    [["--error-code", "oops"], /--error-code/],
    [["--tail-latency", "later"], /--tail-latency/],
    [["--tail-latency", "300ms", "--tail-rate", "2"], /--tail-rate/],
    [["--tail-rate", "0.1"], /--tail-rate/],
    [["--register", "http://127.0.0.1:2379/services/echo/"], /--register: .*etcd:\/\/host:port\/prefix/],
    [["--register", "etcd://127.0.0.1:2379"], /--register/],
    [["--register", "etcd://127.0.0.1:2379/"], /--register: .*no key prefix/],
    [["--register", "etcd://127.0.0.1/services/echo/"], /--register: .*not host:port/],
    [["--register", "etcd://127.0.0.1:0/services/echo/"], /--register: .*not host:port/],
    [["--register", "etcd://a:2379,/services/echo/"], /--register: .*not host:port/],
    [["--register"], /register/],
    [["--service", "../etc"], /--service: "\.\.\/etc" is not a folder name under services\//],
    [["--service", "Billing"], /--service/],
    [["--register", "etcd://127.0.0.1:2379/services/echo/", "--host", "0.0.0.0"], /--register: --host 0\.0\.0\.0/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseReplicaArgs(argv)).toThrow(UsageError);
    expect(() => parseReplicaArgs(argv)).toThrow(message);
  });
});
