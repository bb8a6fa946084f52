import { useMemo, useState } from "preact/hooks";
import { admin, query } from "../api.js";
import { BucketSelect, type Bucket } from "../components/bucket-select.js";
import { alignSeries, TimeChart } from "../components/time-chart.js";
import { usePolling } from "../components/use-polling.js";
import { formatNumber, formatPercent, formatTime, utcOffsetMinutes } from "../format.js";
import { useI18n } from "../i18n.js";
import type { ApiKey, List, Stats, UsagePoint } from "../types.js";

const RANGES = { "24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400 } as const;
type Range = keyof typeof RANGES;
type Group = "none" | "model" | "key";

/** Requests, tokens and errors over a range, per hour or day, by model or key; the cache hit rate; the live queue. */
export function OverviewPage() {
  const { t, language } = useI18n();
  const [range, setRange] = useState<Range>("24h");
  const [bucket, setBucket] = useState<Bucket>("hour");
  const [group, setGroup] = useState<Group>("model");

  const series = usePolling(
    async () => {
      const from = Math.floor(Date.now() / 1000) - RANGES[range];
      const read = (groupBy: Group) =>
        admin<List<UsagePoint>>("GET", `/usage/series${query({ from, bucket, group_by: groupBy, utc_offset_minutes: utcOffsetMinutes() })}`);
      const [byModel, byKey, keys] = await Promise.all([read("model"), read("key"), admin<List<ApiKey>>("GET", "/api-keys?include_revoked=true")]);
      return { byModel: byModel.data, byKey: byKey.data, keys: keys.data };
    },
    [range, bucket],
    15_000,
  );
  const stats = usePolling(() => admin<Stats>("GET", "/stats"), [], 5_000);

  const keyName = (keyId: string) => series.value?.keys.find((key) => String(key.id) === keyId)?.key_name ?? keyId;
  const charts = useMemo(() => {
    if (!series.value) return null;
    const points = group === "key" ? series.value.byKey : series.value.byModel;
    const labelled = points.map((point) => ({
      ...point,
      group: group === "none" ? t("group.none") : group === "key" ? keyName(point.group) : point.group,
    }));
    return {
      requests: alignSeries(labelled, (point) => point.requests),
      tokens: alignSeries(labelled, (point) => point.prompt_tokens + point.completion_tokens),
      errors: alignSeries(labelled, (point) => point.errors),
    };
  }, [series.value, group, language]);

  const totals = (series.value?.byModel ?? []).reduce(
    (sum, point) => ({
      requests: sum.requests + point.requests,
      tokens: sum.tokens + point.prompt_tokens + point.completion_tokens,
      errors: sum.errors + point.errors,
      cacheHits: sum.cacheHits + point.cache_hits,
    }),
    { requests: 0, tokens: 0, errors: 0, cacheHits: 0 },
  );
  const byGroup = (points: UsagePoint[]) =>
    [...points.reduce((map, point) => map.set(point.group, (map.get(point.group) ?? 0) + point.requests), new Map<string, number>())].sort(
      (a, b) => b[1] - a[1],
    );

  return (
    <section>
      <h1>{t("overview.title")}</h1>
      <div class="filters">
        <label>
          {t("range.label")}
          <select data-testid="range" aria-label={t("range.label")} value={range} onChange={(event) => setRange((event.target as HTMLSelectElement).value as Range)}>
            {Object.keys(RANGES).map((name) => (
              <option key={name} value={name}>
                {t(`range.${name as Range}`)}
              </option>
            ))}
          </select>
        </label>
        <BucketSelect value={bucket} onChange={setBucket} />
        <label>
          {t("group.label")}
          <select aria-label={t("group.label")} value={group} onChange={(event) => setGroup((event.target as HTMLSelectElement).value as Group)}>
            <option value="model">{t("group.model")}</option>
            <option value="key">{t("group.key")}</option>
            <option value="none">{t("group.none")}</option>
          </select>
        </label>
      </div>
      {series.error && <p role="alert" class="error">{series.error}</p>}

      <div class="tiles">
        <Tile label={t("overview.requests")} value={formatNumber(totals.requests, language)} testId="total-requests" />
        <Tile label={t("overview.tokens")} value={formatNumber(totals.tokens, language)} />
        <Tile label={t("overview.errors")} value={formatNumber(totals.errors, language)} />
        <Tile
          label={t("overview.cacheHitRate")}
          value={totals.requests === 0 ? "—" : formatPercent(totals.cacheHits / totals.requests, language)}
        />
      </div>

      <section class="card" aria-live="polite">
        <h2>{t("overview.queue")}</h2>
        <div class="tiles">
          <Tile label={t("overview.waiting")} value={String(stats.value?.queue.waiting ?? "—")} testId="queue-waiting" />
          <Tile label={t("overview.running")} value={String(stats.value?.queue.active ?? "—")} testId="queue-running" />
          <Tile label={t("overview.delayed")} value={String(stats.value?.queue.delayed ?? "—")} />
        </div>
        {stats.value && <p class="hint">{t("overview.updated", { time: formatTime(Math.floor(Date.now() / 1000), language) })}</p>}
      </section>

      {charts && (
        <div class="charts">
          <TimeChart title={t("overview.requests")} {...charts.requests} />
          <TimeChart title={t("overview.tokens")} {...charts.tokens} />
          <TimeChart title={t("overview.errors")} {...charts.errors} />
        </div>
      )}

      <div class="columns">
        <RankTable title={t("overview.byModel")} rows={byGroup(series.value?.byModel ?? [])} testId="by-model" />
        <RankTable title={t("overview.byKey")} rows={byGroup(series.value?.byKey ?? []).map(([id, n]) => [keyName(id), n])} testId="by-key" />
      </div>
    </section>
  );
}

function Tile(props: { label: string; value: string; testId?: string }) {
  return (
    <div class="tile">
      <span class="tile-label">{props.label}</span>
      <strong data-testid={props.testId}>{props.value}</strong>
    </div>
  );
}

function RankTable(props: { title: string; rows: [string, number][]; testId: string }) {
  const { t, language } = useI18n();
  return (
    <section class="card">
      <h2>{props.title}</h2>
      {props.rows.length === 0 ? (
        <p class="hint">{t("common.none")}</p>
      ) : (
        <table data-testid={props.testId}>
          <tbody>
            {props.rows.map(([name, requests]) => (
              <tr key={name}>
                <td>{name}</td>
                <td class="number">{formatNumber(requests, language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
