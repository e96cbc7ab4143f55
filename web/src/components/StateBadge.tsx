import type { ExecutionState } from "@workflow-manager/workflowd-client";

import { stateBadgeClass, stateName } from "../format";

/** An execution state as a coloured badge with its name as text. */
export function StateBadge({ state }: { state: ExecutionState }) {
  return <span className={stateBadgeClass(state)}>{stateName(state)}</span>;
}
