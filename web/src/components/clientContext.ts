// The WorkflowClient the screens call, from React context so that component
// tests can inject a fake implementing only the methods a screen uses.
import type { WorkflowClient } from "@workflow-manager/workflowd-client";
import { createContext, useContext } from "react";

import { client as pageClient } from "../api";

/** The client methods the dashboard's screens use. */
export type DashboardClient = Pick<
  WorkflowClient,
  | "status"
  | "listExecutions"
  | "getExecution"
  | "wait"
  | "streamLogs"
  | "cancel"
  | "listWorkflows"
  | "getWorkflow"
  | "validateInputs"
  | "execute"
  | "validateManifest"
  | "submitManifest"
>;

export const ClientContext = createContext<DashboardClient>(pageClient);

/** The client of the nearest ClientContext provider (the page's client by default). */
export function useClient(): DashboardClient {
  return useContext(ClientContext);
}
