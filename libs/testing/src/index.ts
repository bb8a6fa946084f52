export { startRedisServer, freePort, type RedisServerHandle } from "./redis-server.js";
export { startMockUpstream, MOCK_MODELS, type MockAnswerSent, type MockCall, type MockUpstream, type MockUpstreamOptions, type MockFailure } from "./mock-upstream.js";
export { loremWords, MOCK_CITATIONS, MOCK_FINGERPRINT, MOCK_REFUSAL, MOCK_TOOL_ARGUMENTS } from "./mock-answers.js";
export { parseDirectives, type MockDirectives, type MockErrorBody, type MockFlavorName } from "./mock-directives.js";
export { exampleFromSchema } from "./mock-json-schema.js";
export { runAdminCli, spawnApp, startGateway, type CommandOutcome, type GatewayProcess, type GatewayStack } from "./gateway-processes.js";
export { startPostgresServer, createPostgresDatabase, uniqueDatabaseName, type PostgresServerHandle } from "./postgres-server.js";
