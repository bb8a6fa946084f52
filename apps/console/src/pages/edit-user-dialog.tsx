import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { Dialog } from "../components/confirm-dialog.js";
import { EditFormFooter, FormField, formErrorOf, invalidProps, type FormError } from "../components/form-field.js";
import { countText, optionalCount } from "../format.js";
import { useI18n } from "../i18n.js";
import type { Spending, User, UserChanges } from "../types.js";
import { BudgetHint } from "./budget-cell.js";

type Field = "token_budget_daily" | "token_budget_monthly";
const FIELDS: readonly Field[] = ["token_budget_daily", "token_budget_monthly"];
const FORM = "edit-user";

function EditUserForm(props: { user: User; spending: Spending | undefined; onSaved: (user: User) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState<Record<Field, string>>(() => ({
    token_budget_daily: countText(props.user.token_budget_daily),
    token_budget_monthly: countText(props.user.token_budget_monthly),
  }));
  const [error, setError] = useState<FormError<Field> | null>(null);
  const [saving, setSaving] = useState(false);

  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    // Only what changed; empty = no budget.
    const changes: UserChanges = {};
    for (const field of FIELDS) if (optionalCount(values[field]) !== props.user[field]) changes[field] = optionalCount(values[field]);
    if (Object.keys(changes).length === 0) return props.onCancel();
    setSaving(true);
    try {
      props.onSaved(await admin<User>("PATCH", `/users/${props.user.id}`, changes));
    } catch (failure) {
      setError(formErrorOf(failure, FIELDS));
    } finally {
      setSaving(false);
    }
  };

  const budget = (name: Field, label: string) => (
    <FormField form={FORM} name={name} label={label} error={error}>
      <input
        name={name}
        type="number"
        min={1}
        placeholder={t("budget.none")}
        value={values[name]}
        onInput={(event) => setValues({ ...values, [name]: (event.target as HTMLInputElement).value })}
        {...invalidProps(FORM, name, error)}
      />
    </FormField>
  );

  return (
    <form class="edit-form" onSubmit={save} aria-label={t("users.editTitle", { name: props.user.username })}>
      <div class="edit-row">
        {budget("token_budget_daily", t("budget.daily"))}
        {budget("token_budget_monthly", t("budget.monthly"))}
      </div>
      <BudgetHint hint={t("users.budgetHint")} spending={props.spending} />
      <EditFormFooter error={error} saving={saving} onCancel={props.onCancel} />
    </form>
  );
}

/** Edits a user's token budgets (all their keys together); PATCHes only what changed. */
export function EditUserDialog(props: { user: User | null; spending?: Spending; onSaved: (user: User) => void; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog open={props.user !== null} title={t("users.editTitle", { name: props.user?.username ?? "" })} onClose={props.onClose} testId="edit-user-dialog">
      {props.user && <EditUserForm key={props.user.id} user={props.user} spending={props.spending} onSaved={props.onSaved} onCancel={props.onClose} />}
    </Dialog>
  );
}
