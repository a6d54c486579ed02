import { describe, expect, it } from "vitest";
import { combineReloads } from "./combine.js";
import type { ReloadResult } from "../snapshot/reload.js";

const reloaded = (changed: string[], notes: string[] = []): ReloadResult => ({
  status: "reloaded",
  changed,
  problems: [],
  notes,
});
const unchanged: ReloadResult = { status: "unchanged", changed: [], problems: [], notes: [] };
const refused = (...problems: string[]): ReloadResult => ({ status: "rejected", changed: [], problems, notes: [] });

describe("combineReloads", () => {
  it("workers that agree: their outcome, once", () => {
    expect(
      combineReloads(
        [
          [1, reloaded(["routes"])],
          [2, reloaded(["routes"])],
        ],
        ["routes"],
      ),
    ).toEqual(reloaded(["routes"]));
    expect(
      combineReloads(
        [
          [1, refused("listeners[1]: cannot listen on 0.0.0.0:80: EACCES")],
          [2, refused("listeners[1]: cannot listen on 0.0.0.0:80: EACCES")],
        ],
        ["listeners[1] 0.0.0.0:80 (added)"],
      ),
    ).toEqual(refused("listeners[1]: cannot listen on 0.0.0.0:80: EACCES"));
    expect(combineReloads([[1, unchanged]], [])).toEqual(unchanged);
  });

  it("what only the primary sees changed (admin) is a reload", () => {
    expect(combineReloads([[1, unchanged]], ["admin"])).toEqual(reloaded(["admin"]));
  });

  it("a split group reloads, and the notes name each worker that kept the old config", () => {
    expect(
      combineReloads(
        [
          [1, reloaded(["listeners[1] 0.0.0.0:9000 (added)"])],
          [2, refused("listeners[1]: cannot listen on 0.0.0.0:9000: EADDRINUSE")],
          [3, undefined],
        ],
        ["listeners[1] 0.0.0.0:9000 (added)"],
      ),
    ).toEqual(
      reloaded(
        ["listeners[1] 0.0.0.0:9000 (added)"],
        [
          "worker 2 kept the old config: listeners[1]: cannot listen on 0.0.0.0:9000: EADDRINUSE",
          "worker 3 kept the old config: worker 3 did not answer the reload",
        ],
      ),
    );
  });
});
