import { useState } from "preact/hooks";
import { Dialog } from "../components/confirm-dialog.js";
import { useI18n } from "../i18n.js";
import type { CreatedApiKey } from "../types.js";

/** The new key, this once: a warning, the key, a copy button. Closing forgets it. */
export function NewKeyDialog(props: { created: CreatedApiKey | null; onClose: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  const close = () => {
    setCopied(false);
    props.onClose();
  };
  const copy = async () => {
    if (!props.created) return;
    // The clipboard API needs a secure context (https or localhost); elsewhere the key is selected for Ctrl+C.
    const copiedByApi = await navigator.clipboard?.writeText(props.created.api_key).then(() => true, () => false);
    if (!copiedByApi) {
      const element = document.querySelector("[data-testid=new-key]");
      if (element) getSelection()?.selectAllChildren(element);
    }
    setCopied(Boolean(copiedByApi));
  };
  return (
    <Dialog open={props.created !== null} title={t("keys.createdTitle")} onClose={close} testId="new-key-dialog">
      <p role="alert" class="warning">
        {t("keys.createdWarning")}
      </p>
      <p>
        <code class="secret" data-testid="new-key">
          {props.created?.api_key}
        </code>
      </p>
      <div class="actions">
        <button type="button" class="primary" onClick={copy}>
          {copied ? t("keys.copied") : t("keys.copy")}
        </button>
        <button type="button" onClick={close}>
          {t("common.close")}
        </button>
      </div>
    </Dialog>
  );
}
