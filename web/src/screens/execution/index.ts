export { ExecutionPage } from "./ExecutionPage";
