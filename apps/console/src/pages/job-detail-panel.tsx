import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { usePolling } from "../components/use-polling.js";
import { formatDuration, formatTime } from "../format.js";
import { useI18n } from "../i18n.js";
import type { JobDetail } from "../types.js";

/** One job: its fields, its event log (refreshed while it runs) and, while unfinished, a cancel button. */
export function JobDetailPanel(props: { jobId: string; onClose: () => void; onChanged: () => void }) {
  const { t, language } = useI18n();
  const [confirming, setConfirming] = useState(false);
  const job = usePolling(() => admin<JobDetail>("GET", `/jobs/${encodeURIComponent(props.jobId)}`), [props.jobId], 3_000);
  const detail = job.value;
  const unfinished = detail?.status === "queued" || detail?.status === "running";

  const cancel = async () => {
    setConfirming(false);
    await admin("POST", `/jobs/${encodeURIComponent(props.jobId)}/cancel`).catch(() => {});
    job.reload();
    props.onChanged();
  };

  return (
    <aside class="card detail" aria-label={props.jobId} data-testid="job-detail">
      <div class="detail-head">
        <h2>
          <code>{props.jobId}</code>
        </h2>
        <button type="button" onClick={props.onClose}>
          {t("common.close")}
        </button>
      </div>
      {job.error && <p role="alert" class="error">{job.error}</p>}
      {detail && (
        <>
          <dl>
            <dt>{t("jobs.status")}</dt>
            <dd data-testid="job-status">{detail.status}</dd>
            <dt>{t("jobs.model")}</dt>
            <dd>{detail.model} ({detail.provider})</dd>
            <dt>{t("jobs.key")}</dt>
            <dd>{detail.key_id}</dd>
            <dt>{t("jobs.created")}</dt>
            <dd>{formatTime(detail.created_at, language)}</dd>
            <dt>{t("jobs.duration")}</dt>
            <dd>{formatDuration(detail.duration_ms)}</dd>
            <dt>{t("jobs.attempts")}</dt>
            <dd>{detail.attempts}</dd>
          </dl>
          {unfinished && (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              {t("jobs.cancel")}
            </button>
          )}
          <h3>{t("jobs.events")}</h3>
          <ol class="events" data-testid="job-events">
            {detail.events.map((event) => (
              <li key={event.id}>
                <strong>{event.type}</strong> <code class="hint">{event.id}</code>
                {event.type !== "job.queued" && <pre>{JSON.stringify(event.data, null, 1).slice(0, 600)}</pre>}
              </li>
            ))}
          </ol>
        </>
      )}
      <ConfirmDialog
        open={confirming}
        title={t("jobs.cancelTitle")}
        text={t("jobs.cancelText", { id: props.jobId })}
        confirmLabel={t("jobs.cancel")}
        cancelLabel={t("common.close")}
        onConfirm={cancel}
        onClose={() => setConfirming(false)}
      />
    </aside>
  );
}
