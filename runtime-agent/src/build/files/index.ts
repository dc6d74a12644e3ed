/**
 * build/files/: the build context and COPY/ADD (types.ts is the contract).
 *
 *   receiveBuildContext(body, deps)          the POST /build body -> a BuildContext
 *   planCopy(request, source, deps)          a COPY/ADD -> its cache key, then apply() / dispose()
 */
export { receiveBuildContext } from './context.js';
export { planCopy } from './plan-copy.js';
export type { BuildFilesDeps } from './deps.js';
export type { BuildContext, CopyPlan, CopyRequest, CopySource, PlanCopy, ReceiveBuildContext } from './types.js';
