// Public surface of config loading; other gateway modules import from here.
export { ConfigError, loadConfigFile, parseConfig, validateConfigObject } from "./load.js";
export type { ReadFile } from "./files.js";
export { MAX_DURATION_MS, parseDuration } from "./duration.js";
export { DEFAULTS } from "./normalize.js";
export { defaultHedgingPolicy, defaultResilience } from "./resilience.js";
export type * from "./input.js";
export type * from "./types.js";
