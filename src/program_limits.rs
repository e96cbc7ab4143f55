//! Resource limits on the programs the daemon runs, and what a run used
//! (docs/security.md, "Resource limits").
//!
//! Limits come from three places, the first that sets a field wins: the
//! Execute call, the config's `program_limits.workflows.<id>`, the config's
//! `program_limits.default`. A call may not go above the config's
//! `program_limits.maximum`. The runner enforces them
//! ([`crate::engine`]'s runner): memory, processes and CPU time by watching
//! the program's process group, CPU time and open files also by setrlimit
//! in the child, output volume by counting what it reads.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The limits on one execution's program. None: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramLimits {
    /// Resident memory of the whole process group, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// CPU time of the whole process group (user and system), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time_ms: Option<u64>,
    /// Live processes in the group at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u32>,
    /// Bytes written to stdout and stderr together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
    /// Open file descriptors of each process (RLIMIT_NOFILE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_files: Option<u64>,
}

/// A limit above the config's maximum, or one of zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitProblem {
    /// The field, as the API names it (`limits.memory_bytes`).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ProgramLimits {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == ProgramLimits::default()
    }

    /// Each field of `self`, or `fallback`'s where `self` has none.
    pub fn or(self, fallback: &ProgramLimits) -> ProgramLimits {
        ProgramLimits {
            memory_bytes: self.memory_bytes.or(fallback.memory_bytes),
            cpu_time_ms: self.cpu_time_ms.or(fallback.cpu_time_ms),
            max_processes: self.max_processes.or(fallback.max_processes),
            max_output_bytes: self.max_output_bytes.or(fallback.max_output_bytes),
            max_open_files: self.max_open_files.or(fallback.max_open_files),
        }
    }

    /// Whether the runner must sample the process group while it runs.
    pub fn needs_watch(&self) -> bool {
        self.memory_bytes.is_some() || self.cpu_time_ms.is_some() || self.max_processes.is_some()
    }

    /// The CPU limit as a Duration.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.cpu_time_ms.map(Duration::from_millis)
    }

    /// Every field of `self` that is zero or above `maximum`'s, named as
    /// the API names it; `source` is the config key `maximum` comes from.
    pub fn problems_within(&self, maximum: &ProgramLimits, source: &str) -> Vec<LimitProblem> {
        let mut problems = Vec::new();
        let mut check = |field: &'static str, value: Option<u64>, max: Option<u64>, unit: &str| {
            let Some(value) = value else { return };
            if value == 0 {
                problems.push(LimitProblem {
                    field,
                    message: "must be positive (leave it unset for no limit)".into(),
                });
            } else if let Some(max) = max.filter(|&max| value > max) {
                problems.push(LimitProblem {
                    field,
                    message: format!(
                        "{value}{unit} is above the maximum of {max}{unit} (config {source})"
                    ),
                });
            }
        };
        check(
            "limits.memory_bytes",
            self.memory_bytes,
            maximum.memory_bytes,
            " bytes",
        );
        check(
            "limits.cpu_time",
            self.cpu_time_ms,
            maximum.cpu_time_ms,
            " ms",
        );
        check(
            "limits.max_processes",
            self.max_processes.map(u64::from),
            maximum.max_processes.map(u64::from),
            "",
        );
        check(
            "limits.max_output_bytes",
            self.max_output_bytes,
            maximum.max_output_bytes,
            " bytes",
        );
        check(
            "limits.max_open_files",
            self.max_open_files,
            maximum.max_open_files,
            "",
        );
        problems
    }
}

/// The limits the config sets: defaults for every workflow, per workflow,
/// and the most a call may ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitSettings {
    /// For every workflow without its own.
    pub default: ProgramLimits,
    /// By workflow id; a field left unset falls back to `default`.
    pub workflows: std::collections::BTreeMap<String, ProgramLimits>,
    /// The most an Execute call may set, field by field.
    pub maximum: ProgramLimits,
}

impl LimitSettings {
    /// The limits of a run of `workflow_id` asked for with `requested`:
    /// each field from the call, else the workflow's, else the default.
    /// Refused when a field the call sets is zero or above the maximum.
    pub fn resolve(
        &self,
        workflow_id: &str,
        requested: ProgramLimits,
    ) -> Result<ProgramLimits, Vec<LimitProblem>> {
        let problems = requested.problems_within(&self.maximum, "program_limits.maximum");
        if !problems.is_empty() {
            return Err(problems);
        }
        let configured = match self.workflows.get(workflow_id) {
            Some(own) => own.or(&self.default),
            None => self.default,
        };
        Ok(requested.or(&configured))
    }
}

/// What a run's programs used, measured when the program was reaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramUsage {
    /// The highest memory seen, when the run was measured for it (a run
    /// with limits): its control group's peak charge, or the highest
    /// total of its process group's resident memory sampled. None
    /// otherwise: wait4's ru_maxrss cannot stand in, since a child spawned
    /// with vfork inherits its parent's peak at exec.
    pub peak_memory_bytes: Option<u64>,
    /// User and system CPU time of the program and the descendants it
    /// waited for, in ms.
    pub cpu_time_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_wins_then_the_workflow_then_the_default() {
        let settings = LimitSettings {
            default: ProgramLimits {
                memory_bytes: Some(100),
                max_processes: Some(10),
                max_open_files: Some(64),
                ..Default::default()
            },
            workflows: [(
                "big".to_string(),
                ProgramLimits {
                    memory_bytes: Some(1_000),
                    ..Default::default()
                },
            )]
            .into(),
            maximum: ProgramLimits {
                memory_bytes: Some(2_000),
                ..Default::default()
            },
        };
        let call = ProgramLimits {
            max_processes: Some(5),
            ..Default::default()
        };
        let big = settings.resolve("big", call).unwrap();
        assert_eq!(big.memory_bytes, Some(1_000));
        assert_eq!(big.max_processes, Some(5));
        assert_eq!(big.max_open_files, Some(64));
        let small = settings.resolve("small", ProgramLimits::default()).unwrap();
        assert_eq!(small.memory_bytes, Some(100));
    }

    #[test]
    fn a_call_above_the_maximum_or_at_zero_names_the_field() {
        let settings = LimitSettings {
            maximum: ProgramLimits {
                memory_bytes: Some(2_000),
                ..Default::default()
            },
            ..Default::default()
        };
        let problems = settings
            .resolve(
                "any",
                ProgramLimits {
                    memory_bytes: Some(3_000),
                    max_processes: Some(0),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].field, "limits.memory_bytes");
        assert!(problems[0].message.contains("maximum of 2000 bytes"));
        assert_eq!(problems[1].field, "limits.max_processes");
    }

    #[test]
    fn limits_round_trip_through_json_without_unset_fields() {
        let limits = ProgramLimits {
            cpu_time_ms: Some(1_500),
            ..Default::default()
        };
        let json = serde_json::to_string(&limits).unwrap();
        assert_eq!(json, r#"{"cpu_time_ms":1500}"#);
        assert_eq!(
            serde_json::from_str::<ProgramLimits>(&json).unwrap(),
            limits
        );
    }
}
