/** The admin API's answers, as the console reads them (apps/api/src/routes/admin). */
export interface List<T> {
  object: "list";
  data: T[];
}

export interface User {
  id: number;
  username: string;
  email: string;
  created_at: number;
  is_active: boolean;
  token_budget_daily: number | null;
  token_budget_monthly: number | null;
}

/** The fields PATCH /users/{id} may change (null = no budget). */
export interface UserChanges {
  is_active?: boolean;
  token_budget_daily?: number | null;
  token_budget_monthly?: number | null;
}

/** Where a key or user stands in one UTC period (GET /api-keys/{id}, GET /users/{id}). */
export interface PeriodSpending {
  period: "daily" | "monthly";
  /** 2026-11-29 or 2026-11 (UTC). */
  period_start: string;
  /** Unix seconds at which the next period starts. */
  resets_at: number;
  tokens: number;
  budget: number | null;
}

export interface Spending {
  daily: PeriodSpending;
  monthly: PeriodSpending;
}

export interface ApiKey {
  id: number;
  user_id: number;
  key_name: string;
  key_prefix: string;
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
  models: string[] | null;
  expires_at: number | null;
  allowed_ips: string[] | null;
  is_active: boolean;
  token_budget_daily: number | null;
  token_budget_monthly: number | null;
  max_concurrent: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** The fields PATCH /api-keys/{id} may change (null = back to the default). */
export interface ApiKeyChanges {
  key_name?: string;
  rate_limit_per_minute?: number | null;
  rate_limit_per_hour?: number | null;
  models?: string[] | null;
  expires_at?: number | null;
  allowed_ips?: string[] | null;
  token_budget_daily?: number | null;
  token_budget_monthly?: number | null;
  max_concurrent?: number | null;
  is_active?: boolean;
}

export interface CreatedApiKey extends ApiKey {
  api_key: string;
}

export interface UsageRow {
  id: number;
  created_at: number;
  key_id: string;
  key_name: string | null;
  user_id: string | null;
  model: string;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
  status: number;
  cache_hit: boolean;
  job_id: string | null;
  request_id: string;
  kind: string;
}

export interface UsagePoint {
  bucket: number;
  group: string;
  requests: number;
  errors: number;
  cache_hits: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface Stats {
  queue: { waiting: number; active: number; delayed: number; failed: number; completed: number };
}

export interface Job {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  model: string;
  provider: string;
  mode: string;
  key_id: string;
  user_id: string | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  duration_ms: number | null;
  attempts: number;
  error: { message: string; code: string | null } | null;
}

export interface JobEvent {
  id: string;
  type: string;
  data: unknown;
}

export interface JobDetail extends Job {
  result: unknown;
  events: JobEvent[];
}
