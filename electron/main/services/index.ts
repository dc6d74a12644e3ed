import type { ServiceContext } from './context.js';
import { registerContainers } from './containers.js';
import { registerImages } from './images.js';
import { registerSystem } from './system.js';
import { registerVolumes } from './volumes.js';
import { registerFiles } from './files.js';
import { registerNetworks } from './networks.js';
import { registerSubscriptions } from './subscriptions.js';
import { registerLogs } from './logs.js';
import { registerStats } from './stats.js';
import { registerTerminal } from './terminal.js';

/** Every service's registration, in one list the composition root runs. */
export const SERVICES: readonly ((ctx: ServiceContext) => void)[] = [registerSystem, registerContainers, registerImages, registerSubscriptions, registerLogs, registerStats, registerTerminal, registerVolumes, registerFiles, registerNetworks];
