import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { admin, ApiError } from "../api.js";
import { Dialog } from "../components/confirm-dialog.js";
import { localDateToSeconds, secondsToLocalDate, splitList } from "../format.js";
import { useI18n } from "../i18n.js";
import type { ApiKey, ApiKeyChanges } from "../types.js";

type Field = "key_name" | "rate_limit_per_minute" | "rate_limit_per_hour" | "models" | "allowed_ips" | "expires_at";
const FIELDS: readonly Field[] = ["key_name", "rate_limit_per_minute", "rate_limit_per_hour", "models", "allowed_ips", "expires_at"];

/** The form's text for each field of a key. */
function initialValues(key: ApiKey): Record<Field, string> {
  return {
    key_name: key.key_name,
    rate_limit_per_minute: key.rate_limit_per_minute === null ? "" : String(key.rate_limit_per_minute),
    rate_limit_per_hour: key.rate_limit_per_hour === null ? "" : String(key.rate_limit_per_hour),
    models: (key.models ?? []).join(", "),
    allowed_ips: (key.allowed_ips ?? []).join("\n"),
    expires_at: key.expires_at === null ? "" : secondsToLocalDate(key.expires_at),
  };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, index) => item === b[index]);

/** Only what the form changed, in the admin API's terms (empty = back to the default). */
function changesOf(key: ApiKey, values: Record<Field, string>): ApiKeyChanges {
  const changes: ApiKeyChanges = {};
  const before = initialValues(key);
  const limit = (text: string) => (text.trim() === "" ? null : Number(text));
  if (values.key_name.trim() !== key.key_name) changes.key_name = values.key_name.trim();
  if (limit(values.rate_limit_per_minute) !== key.rate_limit_per_minute) changes.rate_limit_per_minute = limit(values.rate_limit_per_minute);
  if (limit(values.rate_limit_per_hour) !== key.rate_limit_per_hour) changes.rate_limit_per_hour = limit(values.rate_limit_per_hour);
  const models = splitList(values.models);
  if (!sameList(models, key.models ?? [])) changes.models = models.length > 0 ? models : null;
  const ips = splitList(values.allowed_ips);
  if (!sameList(ips, key.allowed_ips ?? [])) changes.allowed_ips = ips.length > 0 ? ips : null;
  // The date input shows a day: an unchanged day keeps the stored time (which may have passed).
  if (values.expires_at !== before.expires_at) changes.expires_at = localDateToSeconds(values.expires_at) ?? null;
  return changes;
}

/** The field an error's `param` is about (`allowed_ips[2]` → `allowed_ips`), if the form has it. */
function fieldOf(param: string | null): Field | null {
  const name = param?.split(/[.[]/)[0] ?? "";
  return (FIELDS as readonly string[]).includes(name) ? (name as Field) : null;
}

function EditKeyForm(props: { apiKey: ApiKey; onSaved: (key: ApiKey) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState(() => initialValues(props.apiKey));
  const [error, setError] = useState<{ field: Field | null; message: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const set = (field: Field) => (event: Event) => setValues({ ...values, [field]: (event.target as HTMLInputElement).value });

  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const changes = changesOf(props.apiKey, values);
    if (Object.keys(changes).length === 0) return props.onCancel();
    setSaving(true);
    try {
      props.onSaved(await admin<ApiKey>("PATCH", `/api-keys/${props.apiKey.id}`, changes));
    } catch (failure) {
      if (failure instanceof ApiError) setError({ field: fieldOf(failure.param), message: failure.message });
      else setError({ field: null, message: String(failure) });
    } finally {
      setSaving(false);
    }
  };

  /** The props tying a field to its error, when the API named it. */
  const invalid = (field: Field) =>
    error?.field === field ? { "aria-invalid": true as const, "aria-describedby": `edit-key-error-${field}` } : {};
  /** A field: its label and control, then the API's error about it (outside the label, so it is not part of the name). */
  const field = (name: Field, label: string, control: JSX.Element, hint?: string) => (
    <div class="field">
      <label>
        {label}
        {control}
      </label>
      {hint && <span class="hint">{hint}</span>}
      {error?.field === name && (
        <span id={`edit-key-error-${name}`} role="alert" class="error field-error">
          {error.message}
        </span>
      )}
    </div>
  );
  const number = (name: Field) => (
    <input name={name} type="number" min={1} placeholder={t("keys.default")} value={values[name]} onInput={set(name)} {...invalid(name)} />
  );

  return (
    <form class="edit-form" onSubmit={save} aria-label={t("keys.editTitle", { name: props.apiKey.key_name })}>
      {field("key_name", t("keys.name"), <input name="key_name" required maxLength={128} value={values.key_name} onInput={set("key_name")} {...invalid("key_name")} />)}
      <div class="edit-row">
        {field("rate_limit_per_minute", t("keys.perMinute"), number("rate_limit_per_minute"))}
        {field("rate_limit_per_hour", t("keys.perHour"), number("rate_limit_per_hour"))}
      </div>
      {field("models", t("keys.models"), <input name="models" placeholder={t("keys.modelsHint")} value={values.models} onInput={set("models")} {...invalid("models")} />)}
      {field(
        "allowed_ips",
        t("keys.allowedIps"),
        <textarea name="allowed_ips" rows={3} value={values.allowed_ips} onInput={set("allowed_ips")} {...invalid("allowed_ips")} />,
        t("keys.allowedIpsHint"),
      )}
      {field(
        "expires_at",
        t("keys.expires"),
        <input name="expires_at" type="date" value={values.expires_at} onInput={set("expires_at")} {...invalid("expires_at")} />,
        t("keys.expiresHint"),
      )}
      {error && error.field === null && (
        <p role="alert" class="error">
          {error.message}
        </p>
      )}
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" class="primary" disabled={saving}>
          {t("common.save")}
        </button>
      </div>
    </form>
  );
}

/** Edits a key's name, limits, models, allowed IPs and expiry; PATCHes only what changed. */
export function EditKeyDialog(props: { apiKey: ApiKey | null; onSaved: (key: ApiKey) => void; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog open={props.apiKey !== null} title={t("keys.editTitle", { name: props.apiKey?.key_name ?? "" })} onClose={props.onClose} testId="edit-key-dialog">
      {props.apiKey && <EditKeyForm key={props.apiKey.id} apiKey={props.apiKey} onSaved={props.onSaved} onCancel={props.onClose} />}
    </Dialog>
  );
}
