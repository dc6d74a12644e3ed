import { join } from 'node:path';
import type { ContainerContext } from './context.js';

/** The live json-file log of a container (rotated files get `.1`, `.2`...). */
export function logPath(ctx: Pick<ContainerContext, 'layout'>, id: string): string {
  return join(ctx.layout.container(id), `${id}-json.log`);
}
