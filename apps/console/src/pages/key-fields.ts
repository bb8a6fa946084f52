/** A key's fields in the console's key forms, in their order (the create form puts the owner first). */
export const KEY_FIELDS = [
  "key_name",
  "rate_limit_per_minute",
  "rate_limit_per_hour",
  "token_budget_daily",
  "token_budget_monthly",
  "max_concurrent",
  "models",
  "allowed_ips",
  "expires_at",
] as const;
export type KeyField = (typeof KEY_FIELDS)[number];

/** The number fields, where empty means the default limit, no budget or no cap. */
export const KEY_COUNT_FIELDS = ["rate_limit_per_minute", "rate_limit_per_hour", "token_budget_daily", "token_budget_monthly", "max_concurrent"] as const;
