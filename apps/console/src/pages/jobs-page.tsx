import { useState } from "preact/hooks";
import { admin, query } from "../api.js";
import { usePolling } from "../components/use-polling.js";
import { formatDuration, formatTime } from "../format.js";
import { useI18n } from "../i18n.js";
import type { Job, List } from "../types.js";
import { JobDetailPanel } from "./job-detail-panel.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/** Recent jobs of every key, refreshed live; one opens beside the list with its events. */
export function JobsPage() {
  const { t, language } = useI18n();
  const [status, setStatus] = useState("");
  const [openId, setOpenId] = useState<string | null>(null);
  const jobs = usePolling(() => admin<List<Job>>("GET", `/jobs${query({ status, limit: 100 })}`), [status], 5_000);

  return (
    <section>
      <h1>{t("jobs.title")}</h1>
      <div class="filters">
        <label>
          {t("jobs.status")}
          <select aria-label={t("jobs.status")} value={status} onChange={(event) => setStatus((event.target as HTMLSelectElement).value)}>
            <option value="">{t("common.all")}</option>
            {STATUSES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <span class="hint">{t("jobs.live")}</span>
      </div>
      {jobs.error && <p role="alert" class="error">{jobs.error}</p>}
      <div class="split">
        <div class="table-wrap">
          <table data-testid="jobs-table">
            <thead>
              <tr>
                <th>{t("jobs.id")}</th>
                <th>{t("jobs.status")}</th>
                <th>{t("jobs.model")}</th>
                <th>{t("jobs.key")}</th>
                <th>{t("jobs.mode")}</th>
                <th>{t("jobs.created")}</th>
                <th class="number">{t("jobs.duration")}</th>
              </tr>
            </thead>
            <tbody>
              {jobs.value?.data.map((job) => (
                <tr key={job.id} aria-selected={job.id === openId}>
                  <td>
                    <button type="button" class="link" onClick={() => setOpenId(job.id)} title={t("jobs.open")}>
                      <code>{job.id.slice(0, 14)}…</code>
                    </button>
                  </td>
                  <td>
                    <span class={`status status-${job.status}`}>{job.status}</span>
                  </td>
                  <td>{job.model}</td>
                  <td>{job.key_id}</td>
                  <td>{job.mode}</td>
                  <td>{formatTime(job.created_at, language)}</td>
                  <td class="number">{formatDuration(job.duration_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {jobs.value?.data.length === 0 && <p class="hint">{t("common.none")}</p>}
        </div>
        {openId && <JobDetailPanel jobId={openId} onClose={() => setOpenId(null)} onChanged={jobs.reload} />}
      </div>
    </section>
  );
}
