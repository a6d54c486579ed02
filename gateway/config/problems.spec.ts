import { describe, expect, it } from "vitest";
import { formatPath, formatProblem, formatValue, mergeProblems, problemAt } from "./problems.js";

describe("formatPath", () => {
  it("joins keys with dots and indexes with brackets", () => {
    expect(formatPath(["clusters", "echo", "endpoints", 1, "address"])).toBe("clusters.echo.endpoints[1].address");
    expect(formatPath(["routes", 0])).toBe("routes[0]");
    expect(formatPath([])).toBe("");
  });

  it("brackets keys that would be ambiguous", () => {
    expect(formatPath(["clusters", "echo.v2", "protocol"])).toBe('clusters["echo.v2"].protocol');
    expect(formatPath(["clusters", "echo-v2"])).toBe("clusters.echo-v2");
    expect(formatPath(["clusters", "bad name"])).toBe('clusters["bad name"]');
  });
});

describe("formatValue", () => {
  it("renders values like JSON", () => {
    expect(formatValue("http")).toBe('"http"');
    expect(formatValue(70000)).toBe("70000");
    expect(formatValue(true)).toBe("true");
    expect(formatValue(null)).toBe("null");
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue(undefined)).toBe("(missing)");
    expect(formatValue(Number.NaN)).toBe("NaN");
  });

  it("truncates long values", () => {
    const shown = formatValue("x".repeat(200));
    expect(shown.length).toBe(60);
    expect(shown.endsWith("…")).toBe(true);
  });
});

describe("formatProblem", () => {
  it("prefixes the path unless it is the document itself", () => {
    expect(formatProblem(problemAt(["routes", 0, "cluster"], "bad"))).toBe("routes[0].cluster: bad");
    expect(formatProblem(problemAt([], "empty"))).toBe("empty");
  });
});

describe("mergeProblems", () => {
  it("drops later problems about a path already reported", () => {
    const schema = [problemAt(["a"], "schema says a"), problemAt(["b"], "schema says b")];
    const semantic = [problemAt(["a"], "semantic says a"), problemAt(["c"], "semantic says c")];
    expect(mergeProblems(schema, semantic).map(formatProblem)).toEqual([
      "a: schema says a",
      "b: schema says b",
      "c: semantic says c",
    ]);
  });

  it("drops exact duplicates", () => {
    const p = problemAt(["a"], "same");
    expect(mergeProblems([p, p], [])).toEqual([p]);
  });
});
