import { defineStore } from 'pinia';
import { useBridge } from '../bridge/index.js';
import { useEngineList } from './engine-list.js';
import { useOperations } from './operations.js';

export interface BuildRequest {
  readonly contextPath: string;
  readonly dockerfile?: string;
  readonly tags: readonly string[];
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly noCache?: boolean;
}

/**
 * Every image, kept current from engine events (image events, and container events for
 * `usedBy`); pulls, pushes, loads and builds run as tracked operations (stores/operations.ts).
 */
export const useImages = defineStore('images', () => {
  const { items, loaded, error, load, start } = useEngineList(() => useBridge().invoke('images:list', undefined), (e) => e.type === 'image' || (e.type === 'container' && (e.action === 'create' || e.action === 'destroy')));

  function pull(reference: string) {
    return useOperations().track('pull', reference, (operation) => useBridge().invoke('images:pull', { reference, operation }));
  }

  function push(reference: string) {
    return useOperations().track('push', reference, (operation) => useBridge().invoke('images:push', { reference, operation }));
  }

  /** Reads the picked file and loads it; answers the names it held. */
  function loadArchive(file: File) {
    return useOperations().track('load', file.name, async (operation) => {
      const bytes = new Uint8Array(await file.arrayBuffer());
      return useBridge().invoke('images:load', { operation, file: { name: file.name, bytes } });
    });
  }

  function build(request: BuildRequest) {
    return useOperations().track('build', request.contextPath, (operation) => useBridge().invoke('images:build', { operation, ...request }));
  }

  async function tag(id: string, repo: string, tagName: string): Promise<void> {
    await useBridge().invoke('images:tag', { id, repo, tag: tagName });
  }

  async function remove(id: string, force = false): Promise<void> {
    await useBridge().invoke('images:remove', { id, force });
  }

  return { items, loaded, error, start, load, pull, push, loadArchive, build, tag, remove };
});
