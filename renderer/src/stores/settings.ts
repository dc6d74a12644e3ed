import type { Settings } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useBridge } from '../bridge/index.js';

/** The app's settings (kept by the main process); theme is applied by App.vue. */
export const useSettings = defineStore('settings', () => {
  const current = ref<Settings | undefined>();
  const prefersDark = ref(typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: dark)').matches === true);
  let started = false;

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    const bridge = useBridge();
    bridge.on('settings:changed', (s) => (current.value = s));
    current.value = await bridge.invoke('settings:get', undefined);
  }

  async function update(change: Partial<Omit<Settings, 'connection'>>): Promise<void> {
    current.value = await useBridge().invoke('settings:update', change);
  }

  const effectiveTheme = computed(() => {
    const theme = current.value?.theme ?? 'system';
    return theme === 'system' ? (prefersDark.value ? 'dark' : 'light') : theme;
  });

  return { current, effectiveTheme, start, update };
});
