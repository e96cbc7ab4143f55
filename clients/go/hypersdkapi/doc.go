// Package hypersdkapi serves HyperSDK's workflow JSON endpoints from any Go
// program, answering them through workflowd's gRPC API (package
// workflowclient). HyperSDK's daemon mounts it on its own mux so that its
// React dashboard and scripts keep their endpoints while the work runs in
// workflowd:
//
//	GET  /api/workflow/status             {mode, running, queue_depth, active_jobs, processed_today, failed_today, max_workers, uptime_seconds}
//	GET  /api/workflow/jobs?status=S      {jobs: [{id, name, stage, progress, started_at, elapsed_seconds, status, ...}], total}
//	     (also limit, workflow_id, batch_id, namespace, label=key=value; one GetExecution per job)
//	GET  /api/workflow/jobs/active        the same, for status=active
//	POST /api/workflow/manifest/submit    {success, job_id, execution_ids, manifest_paths, started, ...}
//	     (an Idempotency-Key header makes retries return the first submission;
//	     ?namespace=N starts its executions in namespace N)
//	POST /api/workflow/manifest/validate  {valid, errors: [{path, message}]}
//
// Keys are snake_case, as HyperSDK's Go handler writes them, or camelCase
// (Options.KeyStyle = CamelCase), as its dashboard's TypeScript reads them.
// Errors answer {success: false, error, code} with an HTTP status from the
// daemon's gRPC code (see HTTPStatus): 503 when the daemon is unavailable,
// 499 when the caller went away; code is the canonical code name (CodeName).
// docs/hypersdk.md in the repository describes every field.
package hypersdkapi
