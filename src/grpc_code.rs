//! gRPC status codes by their canonical names (`PERMISSION_DENIED`), as
//! metrics labels and the audit log show them: the one table of them.

/// The code names, indexed by their number (the `grpc-status` value).
const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The name of code number `number`, if it is one.
pub(crate) fn name_of_number(number: usize) -> Option<&'static str> {
    NAMES.get(number).copied()
}

/// The name of `code`.
pub(crate) fn name(code: tonic::Code) -> &'static str {
    name_of_number(code as usize).unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_follow_the_numbers() {
        assert_eq!(super::name(tonic::Code::Ok), "OK");
        assert_eq!(
            super::name(tonic::Code::PermissionDenied),
            "PERMISSION_DENIED"
        );
        assert_eq!(super::name(tonic::Code::Unauthenticated), "UNAUTHENTICATED");
        assert_eq!(super::name_of_number(17), None);
    }
}
