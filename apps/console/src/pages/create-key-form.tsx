import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { FormErrorLine, FormField, formErrorOf, invalidProps, type FormError } from "../components/form-field.js";
import { filledCounts, localDateToSeconds, splitList } from "../format.js";
import { useI18n } from "../i18n.js";
import type { CreatedApiKey, User } from "../types.js";
import { KEY_COUNT_FIELDS, KEY_FIELDS, type KeyField } from "./key-fields.js";

type Field = "user_id" | KeyField;
const FIELDS: readonly Field[] = ["user_id", ...KEY_FIELDS];
const FORM = "create-key";
const empty = Object.fromEntries(FIELDS.map((field) => [field, ""])) as Record<Field, string>;

/**
 * Creates a key with the fields the admin API has: owner, name, limits, token budgets, max
 * concurrent, models, allowed IPs, expiry. A value the API refuses is shown next to its field.
 */
export function CreateKeyForm(props: { users: User[]; onCreated: (key: CreatedApiKey) => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState(empty);
  const [error, setError] = useState<FormError<Field> | null>(null);
  const set = (field: Field) => (event: Event) => setValues({ ...values, [field]: (event.target as HTMLInputElement).value });

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const modelList = splitList(values.models);
    const ipList = splitList(values.allowed_ips);
    try {
      const key = await admin<CreatedApiKey>("POST", "/api-keys", {
        user_id: Number(values.user_id),
        key_name: values.key_name,
        // The number fields go only when filled in (omitted = the default, no budget, no cap).
        ...filledCounts(values, KEY_COUNT_FIELDS),
        ...(modelList.length > 0 ? { models: modelList } : {}),
        ...(values.expires_at ? { expires_at: localDateToSeconds(values.expires_at) } : {}),
        ...(ipList.length > 0 ? { allowed_ips: ipList } : {}),
      });
      // The owner stays chosen: several keys for one user are usually made in a row.
      setValues({ ...empty, user_id: values.user_id });
      props.onCreated(key);
    } catch (failure) {
      setError(formErrorOf(failure, FIELDS));
    }
  };

  const field = (name: Field, label: string, control: JSX.Element) => (
    <FormField form={FORM} name={name} label={label} error={error}>
      {control}
    </FormField>
  );
  const count = (name: (typeof KEY_COUNT_FIELDS)[number], placeholder: string, title?: string) => (
    <input name={name} type="number" min={1} placeholder={placeholder} title={title} value={values[name]} onInput={set(name)} {...invalidProps(FORM, name, error)} />
  );

  return (
    <form class="inline-form" onSubmit={create} aria-label={t("keys.new")}>
      {field(
        "user_id",
        t("keys.user"),
        <select name="user_id" aria-label={t("keys.user")} required value={values.user_id} onChange={set("user_id")} {...invalidProps(FORM, "user_id", error)}>
          <option value="">{t("keys.pickUser")}</option>
          {props.users.map((user) => (
            <option key={user.id} value={String(user.id)}>
              {user.username}
            </option>
          ))}
        </select>,
      )}
      {field("key_name", t("keys.name"), <input name="key_name" required maxLength={128} value={values.key_name} onInput={set("key_name")} {...invalidProps(FORM, "key_name", error)} />)}
      {field("rate_limit_per_minute", t("keys.perMinute"), count("rate_limit_per_minute", t("keys.default")))}
      {field("rate_limit_per_hour", t("keys.perHour"), count("rate_limit_per_hour", t("keys.default")))}
      {field("token_budget_daily", t("budget.daily"), count("token_budget_daily", t("budget.none"), t("budget.hint")))}
      {field("token_budget_monthly", t("budget.monthly"), count("token_budget_monthly", t("budget.none"), t("budget.hint")))}
      {field("max_concurrent", t("keys.maxConcurrent"), count("max_concurrent", t("keys.noCap"), t("keys.maxConcurrentHint")))}
      {field("models", t("keys.models"), <input name="models" placeholder={t("keys.modelsHint")} value={values.models} onInput={set("models")} {...invalidProps(FORM, "models", error)} />)}
      {field(
        "allowed_ips",
        t("keys.allowedIps"),
        <input name="allowed_ips" placeholder={t("keys.allowedIpsShortHint")} value={values.allowed_ips} onInput={set("allowed_ips")} {...invalidProps(FORM, "allowed_ips", error)} />,
      )}
      {field("expires_at", t("keys.expires"), <input name="expires_at" type="date" value={values.expires_at} onInput={set("expires_at")} {...invalidProps(FORM, "expires_at", error)} />)}
      <button type="submit" class="primary">
        {t("keys.new")}
      </button>
      <FormErrorLine error={error} />
    </form>
  );
}
