import type { ServiceContext } from './context.js';
import { registerContainers } from './containers.js';
import { registerSystem } from './system.js';

/** Every service's registration, in one list the composition root runs. */
export const SERVICES: readonly ((ctx: ServiceContext) => void)[] = [registerSystem, registerContainers];
