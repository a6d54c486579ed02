import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config-error.js";
import { collectFileRefs, readFileRefs, readFromDisk, type ReadFile } from "./files.js";
import type { GatewayConfigInput } from "./input.js";
import { normalizeConfig } from "./normalize.js";
import { withoutUndefined } from "./plain.js";
import { formatProblem, mergeProblems } from "./problems.js";
import { createSchemaCheck, type SchemaCheck } from "./schema.js";
import { checkSemantics } from "./semantics.js";
import type { GatewayConfig } from "./types.js";
import { parseYamlText } from "./yaml-text.js";

export { ConfigError } from "./config-error.js";

// Async because referenced files (PEMs, descriptor sets) are read as part of
// loading, so a bad path is reported with every other problem, up front.

/** Reads and validates a YAML config file; relative paths inside it resolve against its folder. */
export async function loadConfigFile(path: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError([`cannot read config file ${JSON.stringify(path)}: ${code}`], path);
  }
  try {
    return await parseConfig(text, dirname(resolve(path)));
  } catch (err) {
    // Re-throw with the file name so the message says which config is wrong.
    if (err instanceof ConfigError) throw new ConfigError(err.problems, path);
    throw err;
  }
}

/** Parses and validates YAML text; `baseDir` is where relative file paths in it resolve from. */
export async function parseConfig(yamlText: string, baseDir: string): Promise<GatewayConfig> {
  const parsed = parseYamlText(yamlText);
  if (!parsed.ok) throw new ConfigError(parsed.problems.map(formatProblem));
  if (parsed.value === null || parsed.value === undefined) {
    throw new ConfigError(["the config is empty (expected a mapping with listeners, clusters and routes)"]);
  }
  return validateConfigObject(parsed.value, baseDir);
}

let schemaCheck: SchemaCheck | undefined;

/**
 * Validates a config built in code (same shape as the YAML; see
 * GatewayConfigInput) and normalizes it. Keys set to `undefined` count as
 * absent. `readFile` replaces the disk for referenced files (tests, in-memory PEMs).
 */
export async function validateConfigObject(
  obj: unknown,
  baseDir: string,
  readFile: ReadFile = readFromDisk,
): Promise<GatewayConfig> {
  const input = withoutUndefined(obj);
  // Every stage runs even if an earlier one failed, so one run reports everything.
  // The schema is compiled once per process: compiling took 100-300 ms, an
  // event-loop stall each hot reload would put on calls in flight. Sharing is
  // safe because a check is synchronous (ajv's `errors` are read at once).
  const structural = (schemaCheck ??= createSchemaCheck())(input);
  const semantic = checkSemantics(input);
  const files = await readFileRefs(collectFileRefs(input), baseDir, readFile);
  const problems = mergeProblems(mergeProblems(structural, semantic), files.problems);
  if (problems.length > 0) throw new ConfigError(problems.map(formatProblem));
  return normalizeConfig(input as GatewayConfigInput, files.contents, baseDir);
}
