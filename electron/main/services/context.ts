import type { AppInfo } from '../../shared/bridge.js';
import type { SettingsStore } from '../app/settings-store.js';
import type { EngineConnection } from '../engine/connection.js';
import type { DownloadLinks } from '../transport/downloads.js';
import type { ClientSet, HandlerRegistry } from '../transport/registry.js';

/** What every service gets from the composition root (app/berth-app.ts). */
export interface ServiceContext {
  readonly registry: HandlerRegistry;
  readonly engine: EngineConnection;
  readonly clients: ClientSet;
  readonly settings: SettingsStore;
  readonly downloads: DownloadLinks;
  readonly appInfo: AppInfo;
}
