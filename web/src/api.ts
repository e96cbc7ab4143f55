// The one WorkflowClient of the page. The dashboard is served by the daemon
// itself, so the API is on the page's own origin (gRPC-web on the same
// port); `npm run dev` proxies it (vite.config.ts). Every call carries the
// tab's API token, if any (apiToken.ts; asked for by TokenGate).
import { WorkflowClient } from "@workflow-manager/workflowd-client";

import { readToken } from "./apiToken";

export const client = new WorkflowClient(window.location.origin, { token: readToken });
