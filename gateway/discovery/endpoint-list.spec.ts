import { describe, expect, it } from "vitest";
import { endpointList } from "./endpoint-list.js";

describe("endpointList", () => {
  it("takes the config's endpoint shapes", () => {
    expect(endpointList(["127.0.0.1:1", { address: "[::1]:2", weight: 3, priority: 1 }], "src")).toEqual([
      { address: "127.0.0.1:1", host: "127.0.0.1", port: 1, weight: 1, priority: 0 },
      { address: "[::1]:2", host: "::1", port: 2, weight: 3, priority: 1 },
    ]);
    expect(endpointList([], "src")).toEqual([]);
  });

  it("refuses the whole list, naming every bad entry, rather than half of it", () => {
    expect(() =>
      endpointList(["127.0.0.1:1", "nohost", { address: "a:1", weight: 0 }, { address: "a:2", zone: "x" }], "f.yaml"),
    ).toThrow(
      'f.yaml: [1]: "nohost" is not host:port with a port 1-65535; [2]: weight 0 must be a whole number 1-1000; [3]: unknown key "zone"',
    );
    expect(() => endpointList({ address: "a:1" }, "f.yaml")).toThrow(/expected a list/);
  });
});
