import { describe, expect, it } from "vitest";
import { capturedLogger } from "../../test/helpers/log-capture.js";

describe("createLogger", () => {
  it("writes JSON lines with an ISO time and the level by name, and nothing about the host", () => {
    const { log, lines } = capturedLogger("info");
    log.info({ event: "x", n: 1 }, "hello");
    log.debug("not at info");
    const [line, ...rest] = lines();
    expect(rest).toEqual([]);
    expect(line).toEqual({ level: "info", time: expect.any(String), event: "x", n: 1, msg: "hello" });
    expect(new Date(line.time).toISOString()).toBe(line.time);
  });

  it("follows a level change", () => {
    const { log, lines } = capturedLogger("warn");
    log.info("hidden");
    log.level = "debug";
    log.debug("shown");
    expect(lines().map((l) => [l.level, l.msg])).toEqual([["debug", "shown"]]);
  });
});
