import { nextTick, watch, type Ref } from 'vue';

export interface ModalDialogHooks {
  /** Runs as the dialog opens, before it shows: reset its form. */
  readonly onOpen?: () => void;
  /** Runs once it shows: focus the first field. */
  readonly afterOpen?: () => void;
}

/**
 * Keeps a `<dialog>` shown as a modal (focus trapped, Escape → its cancel event) exactly while
 * `open()` is true: the one open/close rule every dialog of the app follows.
 */
export function useModalDialog(dialog: Ref<HTMLDialogElement | undefined>, open: () => boolean, hooks: ModalDialogHooks = {}): void {
  watch(
    open,
    async (isOpen) => {
      await nextTick();
      const d = dialog.value;
      if (d === undefined) return;
      if (isOpen && !d.open) {
        hooks.onOpen?.();
        d.showModal();
        hooks.afterOpen?.();
      } else if (!isOpen && d.open) d.close();
    },
    { immediate: true },
  );
}
