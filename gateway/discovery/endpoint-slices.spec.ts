import { describe, expect, it } from "vitest";
import { sliceEndpoints, type EndpointSlice } from "./endpoint-slices.js";

const slice = (
  ports: EndpointSlice["ports"],
  ...endpoints: Array<[string, boolean | null | undefined]>
): EndpointSlice => ({
  ports,
  endpoints: endpoints.map(([ip, ready]) => ({ addresses: [ip], conditions: ready === undefined ? {} : { ready } })),
});
const addresses = (slices: EndpointSlice[], port: string | number) =>
  sliceEndpoints(slices, port, "src").map((e) => e.address);

describe("sliceEndpoints", () => {
  it("takes ready endpoints (unset counts as ready) on the named port, once each, sorted", () => {
    const a = slice(
      [
        { name: "grpc", port: 8080 },
        { name: "metrics", port: 9090 },
      ],
      ["10.0.0.2", true],
      ["10.0.0.1", undefined],
      ["10.0.0.3", false],
      ["10.0.0.4", null],
    );
    const b = slice([{ name: "grpc", port: 8080 }], ["10.0.0.1", true], ["fd00::1", true]);
    expect(addresses([a, b], "grpc")).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.4:8080", "[fd00::1]:8080"]);
    expect(addresses([a, b], "metrics")).toEqual(["10.0.0.1:9090", "10.0.0.2:9090", "10.0.0.4:9090"]);
    expect(sliceEndpoints([b], "grpc", "src")[1]).toEqual({
      address: "[fd00::1]:8080",
      host: "fd00::1",
      port: 8080,
      weight: 1,
      priority: 0,
    });
  });

  it("matches a numbered port by number; a slice without ports takes a number as it is", () => {
    expect(addresses([slice([{ name: "grpc", port: 8080 }], ["10.0.0.1", true])], 8080)).toEqual(["10.0.0.1:8080"]);
    expect(addresses([slice([{ name: "grpc", port: 8080 }], ["10.0.0.1", true])], 9090)).toEqual([]);
    expect(addresses([slice(null, ["10.0.0.1", true])], 7000)).toEqual(["10.0.0.1:7000"]);
    expect(addresses([slice([], ["10.0.0.1", true])], "grpc")).toEqual([]);
  });

  it('reads a Service\'s single unnamed port as the name ""', () => {
    expect(addresses([slice([{ port: 8080 }], ["10.0.0.1", true])], "")).toEqual(["10.0.0.1:8080"]);
  });

  it("takes an endpoint's first address and skips endpoints without one", () => {
    const s: EndpointSlice = {
      ports: [{ name: "grpc", port: 1 }],
      endpoints: [{ addresses: ["10.0.0.1", "10.0.0.9"] }, { addresses: [] }, {}],
    };
    expect(addresses([s], "grpc")).toEqual(["10.0.0.1:1"]);
  });
});
