import { formatProblem, type Problem } from "../../gateway/config/problems.js";

/** The smallest valid config, for specs that break one key at a time. */
export function validConfig(): Record<string, any> {
  return {
    listeners: [{ port: 8080 }],
    clusters: { echo: { protocol: "grpc", endpoints: ["127.0.0.1:50051"] } },
    routes: [{ match: { prefix: "/" }, cluster: "echo" }],
  };
}

/** The formatted problems `check` finds in a valid config after `mutate`. */
export function problemsAfter(check: (c: unknown) => Problem[], mutate: (c: Record<string, any>) => void): string[] {
  const c = validConfig();
  mutate(c);
  return check(c).map(formatProblem);
}
