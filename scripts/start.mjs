// `npm start`: build if needed, make sure Redis answers, then one API and WORKERS workers.
import { build, ensureRedis, environment, runProcesses, say } from "./stack.mjs";

build();
const env = environment();
const { loadConfig, ConfigError } = await import("@llmgw/config");
let config;
try {
  config = loadConfig(env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  say(error.message);
  process.exit(1);
}
const redisChild = await ensureRedis(config.redisUrl);
say(`starting the API on http://${config.host}:${config.port} and ${config.workers} worker(s)`);
runProcesses({ env, workers: config.workers, redisChild });
