export { loadConfig, loadDotEnv, maskUrlPassword, secretValues, ConfigError, type Config } from "./load-config.js";
export type { TrustProxy } from "./parsers.js";
export { variables, type VariableSpec } from "./variables.js";
export { renderEnvExample, renderConfigTable } from "./render-docs.js";
