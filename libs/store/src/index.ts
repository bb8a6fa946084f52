export { openDatabase, schemaVersion, type Database } from "./open-database.js";
export { migrations } from "./migrations.js";
export { generateApiKey, hashApiKey, API_KEY_PREFIX } from "./api-key-secret.js";
export { systemClock, type Clock } from "./clock.js";
export { createUserRepository, type UserRepository, type UserRecord, type NewUser } from "./user-repository.js";
export {
  createApiKeyRepository,
  type ApiKeyRepository,
  type ApiKeyRecord,
  type CreatedApiKey,
  type NewApiKey,
  type ActiveApiKey,
} from "./api-key-repository.js";
export {
  createUsageRepository,
  type UsageRepository,
  type UsageEntry,
  type UsageKind,
  type UsageStats,
  type TokenCounts,
} from "./usage-repository.js";
export {
  createUsageQueries,
  type UsageQueries,
  type UsageFilter,
  type UsageRowView,
  type UsagePoint,
  type UsageBucket,
  type UsageGroup,
  type UsageSeriesOptions,
} from "./usage-queries.js";
