//! The resource-limit flags of `wfctl run` (docs/security.md, "Resource
//! limits"): ExecuteRequest.limits. A flag left out takes the daemon's
//! limit for the workflow.

/// Resource limits for one run.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct LimitArgs {
    /// Resident memory of the program's whole process group, in MiB.
    #[arg(long, value_name = "MIB")]
    pub(crate) memory_mb: Option<u64>,
    /// CPU time of the whole process group, in seconds.
    #[arg(long, value_name = "SECS")]
    pub(crate) cpu_secs: Option<f64>,
    /// Processes alive in the group at once.
    #[arg(long, value_name = "N")]
    pub(crate) max_processes: Option<u32>,
    /// Bytes of stdout and stderr together, in MiB.
    #[arg(long, value_name = "MIB")]
    pub(crate) max_output_mb: Option<u64>,
    /// Open files of each process.
    #[arg(long, value_name = "N")]
    pub(crate) max_open_files: Option<u64>,
}
