import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * A modal <dialog>: focus moves into it, Escape closes it, and the page behind is inert, so it
 * works from the keyboard alone.
 */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; testId?: string }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) element.showModal();
    if (!props.open && element.open) element.close();
  }, [props.open]);
  return (
    <dialog ref={dialog} aria-labelledby="dialog-title" onClose={props.onClose} data-testid={props.testId}>
      {props.open && (
        <>
          <h2 id="dialog-title">{props.title}</h2>
          {props.children}
        </>
      )}
    </dialog>
  );
}

/** A dialog asking to confirm a destructive action: Cancel first, the action in red. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  text: string;
  confirmLabel: string;
  cancelLabel: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose} testId="confirm-dialog">
      <p>{props.text}</p>
      <div class="actions">
        <button type="button" onClick={props.onClose} autofocus>
          {props.cancelLabel}
        </button>
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
