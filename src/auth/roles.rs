//! The role each WorkflowService RPC needs. A method missing here needs
//! admin (fail closed); a test checks every RPC of the proto is listed.

use super::Role;

/// The gRPC service the roles are for.
pub(crate) const SERVICE: &str = "workflow.v1.WorkflowService";

/// Reads: anyone with a token.
const VIEWER: &[&str] = &[
    "ListWorkflows",
    "GetWorkflow",
    "ValidateInputs",
    "GetExecution",
    "WaitExecution",
    "ListExecutions",
    "StreamLogs",
    "CreateStreamToken",
    "GetStatus",
    "GetSchedule",
    "ListSchedules",
];

/// Running things. ValidateManifest is here, not with the reads: its
/// answers say where a host path really leads (symlinks resolved against
/// the source roots), which only those who may submit need to see.
const OPERATOR: &[&str] = &[
    "Execute",
    "Cancel",
    "ValidateManifest",
    "SubmitManifest",
    "TriggerSchedule",
];

/// Administering: what changes what runs later or where events go, and
/// the tokens themselves. Listed so the test can tell a method given to
/// admin from one forgotten; [`needed`] gives admin to both.
#[cfg(test)]
const ADMIN: &[&str] = &[
    "CreateSchedule",
    "UpdateSchedule",
    "DeleteSchedule",
    "PauseSchedule",
    "CreateWebhook",
    "ListWebhooks",
    "DeleteWebhook",
    "ListWebhookDeliveries",
    "TestWebhook",
    "CreateToken",
    "ListTokens",
    "RevokeToken",
    "ListAuditEvents",
    "DrainDaemon",
];

/// What is the daemon's, not a namespace's: webhooks see every
/// namespace's events, the audit log every namespace's calls, and the
/// token list every team's tokens; a drain stops every namespace's work.
/// Only a caller seeing every namespace
/// may use them (a team's admin still makes its own team's tokens:
/// CreateToken checks it hands out no more than its maker sees).
pub(crate) const DAEMON_WIDE: &[&str] = &[
    "CreateWebhook",
    "ListWebhooks",
    "DeleteWebhook",
    "ListWebhookDeliveries",
    "TestWebhook",
    "ListTokens",
    "RevokeToken",
    "ListAuditEvents",
    "DrainDaemon",
];

/// The role the method `method` (its bare name, `Execute`) needs.
pub(crate) fn needed(method: &str) -> Role {
    if VIEWER.contains(&method) {
        Role::Viewer
    } else if OPERATOR.contains(&method) {
        Role::Operator
    } else {
        Role::Admin
    }
}

/// Whether `method` is listed at all.
#[cfg(test)]
pub(crate) fn listed(method: &str) -> bool {
    VIEWER.contains(&method) || OPERATOR.contains(&method) || ADMIN.contains(&method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_proto_has_a_role() {
        let pool = crate::proto_json::pool();
        let service = pool.get_service_by_name(SERVICE).expect("the service");
        for method in service.methods() {
            assert!(listed(method.name()), "{} has no role", method.name());
        }
        assert_eq!(needed("Execute"), Role::Operator);
        assert_eq!(needed("GetExecution"), Role::Viewer);
        assert_eq!(needed("RevokeToken"), Role::Admin);
        assert_eq!(needed("SomethingNew"), Role::Admin);
    }
}
