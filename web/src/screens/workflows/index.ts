// The workflow screens: the list (/workflows) and one workflow's Run form (/workflows/:workflowId).
export { WorkflowsPage } from "./WorkflowsPage";
export { WorkflowPage } from "./WorkflowPage";
