import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { Dialog } from "../components/confirm-dialog.js";
import { EditFormFooter, FormField, formErrorOf, invalidProps, type FormError } from "../components/form-field.js";
import { countText, localDateToSeconds, optionalCount, secondsToLocalDate, splitList } from "../format.js";
import { useI18n } from "../i18n.js";
import type { ApiKey, ApiKeyChanges, Spending } from "../types.js";
import { BudgetHint } from "./budget-cell.js";
import { KEY_COUNT_FIELDS, KEY_FIELDS, type KeyField } from "./key-fields.js";

const FORM = "edit-key";

/** The form's text for each field of a key. */
function initialValues(key: ApiKey): Record<KeyField, string> {
  return {
    key_name: key.key_name,
    rate_limit_per_minute: countText(key.rate_limit_per_minute),
    rate_limit_per_hour: countText(key.rate_limit_per_hour),
    token_budget_daily: countText(key.token_budget_daily),
    token_budget_monthly: countText(key.token_budget_monthly),
    max_concurrent: countText(key.max_concurrent),
    models: (key.models ?? []).join(", "),
    allowed_ips: (key.allowed_ips ?? []).join("\n"),
    expires_at: key.expires_at === null ? "" : secondsToLocalDate(key.expires_at),
  };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, index) => item === b[index]);

/** Only what the form changed, in the admin API's terms (empty = back to the default, no budget, no cap). */
function changesOf(key: ApiKey, values: Record<KeyField, string>): ApiKeyChanges {
  const changes: ApiKeyChanges = {};
  const before = initialValues(key);
  if (values.key_name.trim() !== key.key_name) changes.key_name = values.key_name.trim();
  // An emptied number field goes as null: back to the default, no budget, no cap.
  for (const field of KEY_COUNT_FIELDS) if (optionalCount(values[field]) !== key[field]) changes[field] = optionalCount(values[field]);
  const models = splitList(values.models);
  if (!sameList(models, key.models ?? [])) changes.models = models.length > 0 ? models : null;
  const ips = splitList(values.allowed_ips);
  if (!sameList(ips, key.allowed_ips ?? [])) changes.allowed_ips = ips.length > 0 ? ips : null;
  // The date input shows a day: an unchanged day keeps the stored time (which may have passed).
  if (values.expires_at !== before.expires_at) changes.expires_at = localDateToSeconds(values.expires_at) ?? null;
  return changes;
}

function EditKeyForm(props: { apiKey: ApiKey; spending: Spending | undefined; onSaved: (key: ApiKey) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState(() => initialValues(props.apiKey));
  const [error, setError] = useState<FormError<KeyField> | null>(null);
  const [saving, setSaving] = useState(false);
  const set = (field: KeyField) => (event: Event) => setValues({ ...values, [field]: (event.target as HTMLInputElement).value });

  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const changes = changesOf(props.apiKey, values);
    if (Object.keys(changes).length === 0) return props.onCancel();
    setSaving(true);
    try {
      props.onSaved(await admin<ApiKey>("PATCH", `/api-keys/${props.apiKey.id}`, changes));
    } catch (failure) {
      setError(formErrorOf(failure, KEY_FIELDS));
    } finally {
      setSaving(false);
    }
  };

  const field = (name: KeyField, label: string, control: JSX.Element, hint?: string) => (
    <FormField form={FORM} name={name} label={label} hint={hint} error={error}>
      {control}
    </FormField>
  );
  const text = (name: KeyField, extra: JSX.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <input name={name} value={values[name]} onInput={set(name)} {...extra} {...invalidProps(FORM, name, error)} />
  );
  const count = (name: (typeof KEY_COUNT_FIELDS)[number], placeholder: string) => text(name, { type: "number", min: 1, placeholder });

  return (
    <form class="edit-form" onSubmit={save} aria-label={t("keys.editTitle", { name: props.apiKey.key_name })}>
      {field("key_name", t("keys.name"), text("key_name", { required: true, maxLength: 128 }))}
      <div class="edit-row">
        {field("rate_limit_per_minute", t("keys.perMinute"), count("rate_limit_per_minute", t("keys.default")))}
        {field("rate_limit_per_hour", t("keys.perHour"), count("rate_limit_per_hour", t("keys.default")))}
        {field("max_concurrent", t("keys.maxConcurrent"), count("max_concurrent", t("keys.noCap")))}
      </div>
      <div class="edit-row">
        {field("token_budget_daily", t("budget.daily"), count("token_budget_daily", t("budget.none")))}
        {field("token_budget_monthly", t("budget.monthly"), count("token_budget_monthly", t("budget.none")))}
      </div>
      <BudgetHint hint={t("budget.hint")} spending={props.spending} />
      {field("models", t("keys.models"), text("models", { placeholder: t("keys.modelsHint") }))}
      {field(
        "allowed_ips",
        t("keys.allowedIps"),
        <textarea name="allowed_ips" rows={3} value={values.allowed_ips} onInput={set("allowed_ips")} {...invalidProps(FORM, "allowed_ips", error)} />,
        t("keys.allowedIpsHint"),
      )}
      {field("expires_at", t("keys.expires"), text("expires_at", { type: "date" }), t("keys.expiresHint"))}
      <EditFormFooter error={error} saving={saving} onCancel={props.onCancel} />
    </form>
  );
}

/** Edits a key's name, limits, max concurrent, token budgets, models, allowed IPs and expiry; PATCHes only what changed. */
export function EditKeyDialog(props: { apiKey: ApiKey | null; spending?: Spending; onSaved: (key: ApiKey) => void; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog open={props.apiKey !== null} title={t("keys.editTitle", { name: props.apiKey?.key_name ?? "" })} onClose={props.onClose} testId="edit-key-dialog">
      {props.apiKey && <EditKeyForm key={props.apiKey.id} apiKey={props.apiKey} spending={props.spending} onSaved={props.onSaved} onCancel={props.onClose} />}
    </Dialog>
  );
}
