export { openDatabase, schemaVersion, type Database } from "./open-database.js";
export { migrations, postgresMigrations } from "./migrations.js";
export { openStore, openSqliteStore, openPostgresStore, type Store, type StoreOptions } from "./store.js";
export { createPgPool, migratePostgres, type PgPool } from "./postgres/pg-database.js";
export { createPgUserRepository } from "./postgres/pg-user-repository.js";
export { createPgApiKeyRepository } from "./postgres/pg-api-key-repository.js";
export { createPgUsageRepository } from "./postgres/pg-usage-repository.js";
export { generateApiKey, hashApiKey, API_KEY_PREFIX } from "./api-key-secret.js";
export { systemClock, type Clock } from "./clock.js";
export { createUserRepository, type UserRepository, type UserRecord, type NewUser, type UserChanges } from "./user-repository.js";
export {
  createApiKeyRepository,
  type ApiKeyRepository,
  type ApiKeyRecord,
  type CreatedApiKey,
  type NewApiKey,
  type ActiveApiKey,
  type ApiKeyChanges,
} from "./api-key-repository.js";
export { createIpAllowList, checkAllowedIps, MAX_ALLOWED_IPS, type IpAllowList } from "./ip-allow-list.js";
export {
  createUsageRepository,
  type UsageRepository,
  type UsageEntry,
  type UsageKind,
  type UsageStats,
  type TokenCounts,
} from "./usage-repository.js";
export {
  type UsageQueries,
  type UsageFilter,
  type UsageRowView,
  type UsagePoint,
  type UsageBucket,
  type UsageGroup,
  type UsageSeriesOptions,
} from "./usage-queries.js";
