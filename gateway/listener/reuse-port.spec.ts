import { describe, expect, it } from "vitest";
import { reusePortSupport } from "./reuse-port.js";

describe("reusePortSupport", () => {
  it("needs Node 22.12+, 23.1+ or 24+, on a kernel that balances SO_REUSEPORT sockets", () => {
    expect(reusePortSupport("20.20.2", "linux")).toEqual({
      ok: false,
      why: "Node 20.20.2 has no reusePort (it needs 22.12+ or 23.1+)",
    });
    expect(reusePortSupport("22.11.0", "linux").ok).toBe(false);
    expect(reusePortSupport("22.12.0", "linux").ok).toBe(true);
    expect(reusePortSupport("23.0.0", "linux").ok).toBe(false);
    expect(reusePortSupport("23.1.0", "freebsd").ok).toBe(true);
    expect(reusePortSupport("24.1.0", "linux").ok).toBe(true);
    expect(reusePortSupport("24.1.0", "darwin")).toEqual({
      ok: false,
      why: "darwin has no load-balancing SO_REUSEPORT",
    });
  });
});
