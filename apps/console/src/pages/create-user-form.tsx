import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { FormErrorLine, FormField, formErrorOf, invalidProps, type FormError } from "../components/form-field.js";
import { filledCounts } from "../format.js";
import { useI18n } from "../i18n.js";

type Field = "username" | "email" | "token_budget_daily" | "token_budget_monthly";
const FIELDS: readonly Field[] = ["username", "email", "token_budget_daily", "token_budget_monthly"];
const FORM = "create-user";
const empty: Record<Field, string> = { username: "", email: "", token_budget_daily: "", token_budget_monthly: "" };

/** Creates a user, with token budgets for all their keys together when given; a refused value is shown next to its field. */
export function CreateUserForm(props: { onCreated: () => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState(empty);
  const [error, setError] = useState<FormError<Field> | null>(null);
  const set = (field: Field) => (event: Event) => setValues({ ...values, [field]: (event.target as HTMLInputElement).value });

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await admin("POST", "/users", {
        username: values.username,
        email: values.email,
        ...filledCounts(values, ["token_budget_daily", "token_budget_monthly"]),
      });
      setValues(empty);
      props.onCreated();
    } catch (failure) {
      setError(formErrorOf(failure, FIELDS));
    }
  };

  const field = (name: Field, label: string, control: JSX.Element) => (
    <FormField form={FORM} name={name} label={label} error={error}>
      {control}
    </FormField>
  );
  const input = (name: Field, extra: JSX.InputHTMLAttributes<HTMLInputElement>) => (
    <input name={name} value={values[name]} onInput={set(name)} {...extra} {...invalidProps(FORM, name, error)} />
  );

  return (
    <form class="inline-form" onSubmit={create} aria-label={t("users.new")}>
      {field("username", t("users.username"), input("username", { required: true, maxLength: 64 }))}
      {field("email", t("users.email"), input("email", { type: "email", required: true }))}
      {field("token_budget_daily", t("budget.daily"), input("token_budget_daily", { type: "number", min: 1, placeholder: t("budget.none"), title: t("users.budgetHint") }))}
      {field("token_budget_monthly", t("budget.monthly"), input("token_budget_monthly", { type: "number", min: 1, placeholder: t("budget.none"), title: t("users.budgetHint") }))}
      <button type="submit" class="primary">
        {t("users.new")}
      </button>
      <FormErrorLine error={error} />
    </form>
  );
}
