import { defineStore } from 'pinia';
import { ref } from 'vue';

export interface Notice {
  readonly id: number;
  readonly kind: 'error' | 'info';
  readonly message: string;
}

/** Messages shown at the top of the window (errors say what to do; info fades). */
export const useNotices = defineStore('notices', () => {
  const items = ref<Notice[]>([]);
  let next = 0;

  function push(kind: Notice['kind'], message: string): void {
    const id = ++next;
    items.value = [...items.value, { id, kind, message }];
    if (kind === 'info') setTimeout(() => dismiss(id), 4000);
  }

  function dismiss(id: number): void {
    items.value = items.value.filter((n) => n.id !== id);
  }

  /** For catch blocks: shows the error's message. */
  function error(err: unknown): void {
    push('error', err instanceof Error ? err.message : String(err));
  }

  return { items, push, dismiss, error, info: (m: string) => push('info', m) };
});
