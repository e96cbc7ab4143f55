// The one WorkflowClient of the page. The dashboard is served by the daemon
// itself, so the API is on the page's own origin (gRPC-web on the same
// port); `npm run dev` proxies it (vite.config.ts).
import { WorkflowClient } from "@workflow-manager/workflowd-client";

export const client = new WorkflowClient(window.location.origin);
