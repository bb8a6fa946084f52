import { useMemo, useState } from "preact/hooks";
import { admin, query } from "../api.js";
import { BucketSelect, type Bucket } from "../components/bucket-select.js";
import { alignSeries, TimeChart } from "../components/time-chart.js";
import { usePolling } from "../components/use-polling.js";
import { formatNumber, formatTime, localDateToSeconds, secondsToLocalDate, utcOffsetMinutes } from "../format.js";
import { useI18n } from "../i18n.js";
import type { ApiKey, List, UsagePoint, UsageRow, User } from "../types.js";
import { downloadUsageCsv } from "./usage-csv.js";

interface Filter {
  key_id: string;
  user_id: string;
  model: string;
  from: string;
  to: string;
}

const ROWS = 1000;

/** The usage log filtered by key, user, model and dates: a chart, a table, and the same rows as CSV. */
export function UsagePage() {
  const { t, language } = useI18n();
  const weekAgo = secondsToLocalDate(Date.now() / 1000 - 6 * 86_400);
  const [draft, setDraft] = useState<Filter>({ key_id: "", user_id: "", model: "", from: weekAgo, to: "" });
  const [filter, setFilter] = useState<Filter>(draft);
  const [bucket, setBucket] = useState<Bucket>("day");

  const choices = usePolling(async () => {
    const [keys, users] = await Promise.all([admin<List<ApiKey>>("GET", "/api-keys?include_revoked=true"), admin<List<User>>("GET", "/users")]);
    return { keys: keys.data, users: users.data };
  }, []);
  const data = usePolling(async () => {
    const to = filter.to ? (localDateToSeconds(filter.to) ?? 0) + 86_400 : undefined;
    const base = { key_id: filter.key_id, user_id: filter.user_id, model: filter.model.trim(), from: localDateToSeconds(filter.from), to };
    const [rows, series] = await Promise.all([
      admin<List<UsageRow>>("GET", `/usage${query({ ...base, limit: ROWS })}`),
      admin<List<UsagePoint>>("GET", `/usage/series${query({ ...base, bucket, group_by: "model", utc_offset_minutes: utcOffsetMinutes() })}`),
    ]);
    return { rows: rows.data, series: series.data };
  }, [filter, bucket]);

  const chart = useMemo(() => (data.value ? alignSeries(data.value.series, (point) => point.requests) : null), [data.value]);
  const set = (name: keyof Filter) => (event: Event) => setDraft({ ...draft, [name]: (event.target as HTMLInputElement).value });

  return (
    <section>
      <h1>{t("usage.title")}</h1>
      <form
        class="filters card"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(draft);
        }}
      >
        <label>
          {t("usage.key")}
          <select name="key_id" aria-label={t("usage.key")} value={draft.key_id} onChange={set("key_id")}>
            <option value="">{t("common.all")}</option>
            {choices.value?.keys.map((key) => (
              <option key={key.id} value={String(key.id)}>
                {key.key_name} ({key.key_prefix}…)
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("usage.user")}
          <select name="user_id" aria-label={t("usage.user")} value={draft.user_id} onChange={set("user_id")}>
            <option value="">{t("common.all")}</option>
            {choices.value?.users.map((user) => (
              <option key={user.id} value={String(user.id)}>
                {user.username}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("usage.model")}
          <input name="model" value={draft.model} onInput={set("model")} />
        </label>
        <label>
          {t("usage.from")}
          <input name="from" type="date" value={draft.from} onInput={set("from")} />
        </label>
        <label>
          {t("usage.to")}
          <input name="to" type="date" value={draft.to} onInput={set("to")} />
        </label>
        <BucketSelect value={bucket} onChange={setBucket} />
        <button type="submit" class="primary">
          {t("usage.apply")}
        </button>
        <button type="button" onClick={() => data.value && downloadUsageCsv(data.value.rows)} disabled={!data.value?.rows.length}>
          {t("usage.export")}
        </button>
      </form>
      {data.error && <p role="alert" class="error">{data.error}</p>}
      {chart && <TimeChart title={t("overview.requests")} {...chart} />}
      <p class="hint">{t("usage.rows", { count: data.value?.rows.length ?? 0 })}</p>
      <div class="table-wrap">
        <table data-testid="usage-table">
          <thead>
            <tr>
              <th>{t("usage.time")}</th>
              <th>{t("usage.key")}</th>
              <th>{t("usage.user")}</th>
              <th>{t("usage.model")}</th>
              <th>{t("usage.status")}</th>
              <th class="number">{t("usage.prompt")}</th>
              <th class="number">{t("usage.completion")}</th>
              <th class="number">{t("usage.latency")}</th>
              <th>{t("usage.cache")}</th>
              <th>{t("usage.kind")}</th>
            </tr>
          </thead>
          <tbody>
            {data.value?.rows.map((row) => (
              <tr key={row.id}>
                <td>{formatTime(row.created_at, language)}</td>
                <td>{row.key_name ?? row.key_id}</td>
                <td>{choices.value?.users.find((user) => String(user.id) === row.user_id)?.username ?? row.user_id ?? "—"}</td>
                <td>{row.model}</td>
                <td class={row.status >= 400 ? "bad" : undefined}>{row.status}</td>
                <td class="number">{formatNumber(row.prompt_tokens, language)}</td>
                <td class="number">{formatNumber(row.completion_tokens, language)}</td>
                <td class="number">{row.latency_ms} ms</td>
                <td>{row.cache_hit ? "HIT" : ""}</td>
                <td>{row.kind}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
