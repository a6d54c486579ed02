/** A config that cannot be used; `problems` lists every issue found, not just the first. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[], source?: string) {
    const where = source ? ` in ${source}` : "";
    const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
    super(`invalid gateway config${where} (${count}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}
