import { describe, expect, it } from "vitest";
import { formatProblem } from "./problems.js";
import { parseYamlText } from "./yaml-text.js";

function problemsOf(text: string): string[] {
  const result = parseYamlText(text);
  if (result.ok) throw new Error("expected a YAML error");
  return result.problems.map(formatProblem);
}

describe("parseYamlText", () => {
  it("returns the plain JS value", () => {
    expect(parseYamlText("a: 1\nb: [x, y]\n")).toEqual({ ok: true, value: { a: 1, b: ["x", "y"] } });
  });

  it("returns null for an empty document", () => {
    expect(parseYamlText("# only a comment\n")).toEqual({ ok: true, value: null });
  });

  it("supports merge keys for shared settings", () => {
    const result = parseYamlText("base: &b {protocol: grpc}\nc: {<<: *b, codec: json}\n");
    expect(result).toEqual({ ok: true, value: { base: { protocol: "grpc" }, c: { protocol: "grpc", codec: "json" } } });
  });

  it("reports syntax errors with line:column", () => {
    expect(problemsOf("a: [1, 2\n")).toEqual([
      "YAML syntax error at line 2:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });

  it("reports duplicate keys", () => {
    expect(problemsOf("a: 1\na: 2\n")).toEqual(["YAML syntax error at line 2:1: Map keys must be unique"]);
  });

  it("explains multiple documents in config terms", () => {
    expect(problemsOf("a: 1\n---\nb: 2\n")[0]).toContain("more than one YAML document");
  });

  it("reports every syntax error, not just the first", () => {
    expect(problemsOf("a: 1\n  b: 2\nc: 3\nc: 4\n").length).toBeGreaterThan(1);
  });
});
