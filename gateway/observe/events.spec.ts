import { describe, expect, it } from "vitest";
import { capturedLogger } from "../../test/helpers/log-capture.js";
import { logClusterEvent, logReload } from "./events.js";

describe("events as log lines", () => {
  it("warns of lost capacity and informs of its return, with the facts as fields", () => {
    const { log, lines } = capturedLogger();
    logClusterEvent(log, "e unhealthy: x", {
      event: "health",
      cluster: "c",
      endpoint: "a:1",
      state: "unhealthy",
      reason: "x",
    });
    logClusterEvent(log, "e closed", { event: "breaker", cluster: "c", endpoint: "a:1", state: "closed" });
    logClusterEvent(log, "e ejected", { event: "ejection", cluster: "c", endpoint: "a:1", reason: "5 failures" });
    expect(lines().map((l) => [l.level, l.event, l.state ?? l.reason, l.msg])).toEqual([
      ["warn", "health", "unhealthy", "e unhealthy: x"],
      ["info", "breaker", "closed", "e closed"],
      ["warn", "ejection", "5 failures", "e ejected"],
    ]);
  });

  it("logs a rejected reload as an error with its problems", () => {
    const { log, lines } = capturedLogger();
    logReload(log, { status: "rejected", changed: [], problems: ["p1"], notes: [] }, "SIGHUP", "rejected");
    logReload(log, { status: "reloaded", changed: ["routes"], problems: [], notes: [] }, "POST /reload", "ok");
    expect(lines().map((l) => [l.level, l.event, l.trigger, l.problems, l.changed])).toEqual([
      ["error", "reload", "SIGHUP", ["p1"], []],
      ["info", "reload", "POST /reload", [], ["routes"]],
    ]);
  });
});
