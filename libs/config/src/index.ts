export { loadConfig, loadDotEnv, secretValues, ConfigError, type Config } from "./load-config.js";
export { variables, type VariableSpec } from "./variables.js";
export { renderEnvExample, renderConfigTable } from "./render-docs.js";
