import type { AppInfo, ConnectionStatus, ConnectionTarget, EngineEvent, EngineInfo } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useBridge } from '../bridge/index.js';

type EventHandler = (event: EngineEvent) => void;

/**
 * The engine connection as the main process reports it, and the engine's event stream: every
 * list store subscribes here (`onEngineEvent`) and refreshes when its kind of object changes,
 * so nothing polls.
 */
export const useConnection = defineStore('connection', () => {
  const status = ref<ConnectionStatus | undefined>();
  const app = ref<AppInfo | undefined>();
  const handlers = new Set<EventHandler>();
  const reconnectHandlers = new Set<() => void>();
  let started = false;

  const connected = computed(() => status.value?.state === 'connected');
  const engine = computed<EngineInfo | undefined>(() => status.value?.engine);

  function apply(next: ConnectionStatus): void {
    const wasConnected = status.value?.state === 'connected';
    status.value = next;
    if (next.state === 'connected' && !wasConnected) for (const h of reconnectHandlers) h();
  }

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    const bridge = useBridge();
    bridge.on('connection:changed', apply);
    bridge.on('engine:event', (event) => {
      for (const h of handlers) h(event);
    });
    const [s, a] = await Promise.all([bridge.invoke('connection:status', undefined), bridge.invoke('app:info', undefined)]);
    app.value = a;
    apply(s);
  }

  /** Runs `handler` for each engine event; returns the unsubscribe. */
  function onEngineEvent(handler: EventHandler): () => void {
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /** Runs `handler` each time the connection (re)establishes, to reload lists. */
  function onConnected(handler: () => void): () => void {
    reconnectHandlers.add(handler);
    return () => reconnectHandlers.delete(handler);
  }

  async function setTarget(target: ConnectionTarget): Promise<void> {
    apply(await useBridge().invoke('connection:set', target));
  }

  return { status, app, connected, engine, start, onEngineEvent, onConnected, setTarget };
});

/**
 * A list store's loader that runs at most once per `delayMs` while events stream in (a
 * `docker compose up` sends dozens), and once more after the burst.
 */
export function coalesce(run: () => Promise<void>, delayMs = 150): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const fire = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await run();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer === undefined) timer = setTimeout(() => void fire(), delayMs);
  };
  return schedule;
}
