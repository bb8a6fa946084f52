import type { ComponentChildren } from "preact";
import { ApiError } from "../api.js";
import { useI18n } from "../i18n.js";

/** An API error as a form shows it: next to the field its `param` names, or above the buttons when it names none. */
export interface FormError<F extends string> {
  field: F | null;
  message: string;
}

/** The form's field an error is about (`allowed_ips[2]` → `allowed_ips`), if the form has it. */
export function formErrorOf<F extends string>(failure: unknown, fields: readonly F[]): FormError<F> {
  if (!(failure instanceof ApiError)) return { field: null, message: String(failure) };
  const name = failure.param?.split(/[.[]/)[0] ?? "";
  return { field: (fields as readonly string[]).includes(name) ? (name as F) : null, message: failure.message };
}

/** The id of the error shown next to `field` in the form `form` (e.g. `edit-key-error-allowed_ips`). */
export const fieldErrorId = (form: string, field: string) => `${form}-error-${field}`;

/** The props that tie a control to the API's error about it, when there is one. */
export function invalidProps<F extends string>(form: string, field: F, error: FormError<F> | null) {
  return error?.field === field ? { "aria-invalid": true as const, "aria-describedby": fieldErrorId(form, field) } : {};
}

/**
 * A labelled control with an optional hint, then the API's error about it (outside the label, so
 * it is not part of the control's name).
 */
export function FormField<F extends string>(props: { form: string; name: F; label: string; hint?: string; error: FormError<F> | null; children: ComponentChildren }) {
  return (
    <div class="field">
      <label>
        {props.label}
        {props.children}
      </label>
      {props.hint && <span class="hint">{props.hint}</span>}
      {props.error?.field === props.name && (
        <span id={fieldErrorId(props.form, props.name)} role="alert" class="error field-error">
          {props.error.message}
        </span>
      )}
    </div>
  );
}

/** The error no field of the form is named for. */
export function FormErrorLine<F extends string>(props: { error: FormError<F> | null }) {
  if (!props.error || props.error.field !== null) return null;
  return (
    <p role="alert" class="error">
      {props.error.message}
    </p>
  );
}

/** The end of an edit dialog's form: the error no field is named for, then Cancel and Save. */
export function EditFormFooter<F extends string>(props: { error: FormError<F> | null; saving: boolean; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <>
      <FormErrorLine error={props.error} />
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" class="primary" disabled={props.saving}>
          {t("common.save")}
        </button>
      </div>
    </>
  );
}
