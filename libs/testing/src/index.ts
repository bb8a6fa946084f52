export { startRedisServer, freePort, type RedisServerHandle } from "./redis-server.js";
export { startMockUpstream, MOCK_MODELS, type MockCall, type MockUpstream, type MockUpstreamOptions } from "./mock-upstream.js";
export { loremWords, MOCK_FINGERPRINT, MOCK_TOOL_ARGUMENTS } from "./mock-answers.js";
export { parseDirectives, type MockDirectives, type MockErrorBody } from "./mock-directives.js";
export { spawnApp, startGateway, type GatewayProcess, type GatewayStack } from "./gateway-processes.js";
