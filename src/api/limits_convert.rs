//! Resource limits and usage between the API's messages and
//! [`crate::program_limits`].

use tonic::Status;

use super::status::invalid_argument;
use super::wire_time::{duration, pb_duration_ms};
use crate::pb;
use crate::program_limits::ProgramLimits;
use crate::store::ExecutionRecord;

/// The limits an Execute call asks for (none when it sets none).
pub(super) fn requested(limits: Option<&pb::ResourceLimits>) -> Result<ProgramLimits, Status> {
    let Some(limits) = limits else {
        return Ok(ProgramLimits::default());
    };
    let cpu_time_ms = match &limits.cpu_time {
        None => None,
        Some(cpu) => Some(
            duration(cpu)
                .map(|d| d.as_millis().min(u128::from(u64::MAX)) as u64)
                .ok_or_else(|| {
                    invalid_argument(
                        "limits.cpu_time must not be negative".into(),
                        &[("limits.cpu_time", "must not be negative")],
                    )
                })?,
        ),
    };
    Ok(ProgramLimits {
        memory_bytes: limits.memory_bytes,
        cpu_time_ms,
        max_processes: limits.max_processes,
        max_output_bytes: limits.max_output_bytes,
        max_open_files: limits.max_open_files,
    })
}

/// Sets the execution's limits and usage from its record.
pub(super) fn fill(execution: &mut pb::Execution, r: &ExecutionRecord) {
    let limits = &r.limits;
    execution.limits = (!limits.is_empty()).then(|| pb::ResourceLimits {
        memory_bytes: limits.memory_bytes,
        cpu_time: limits.cpu_time_ms.map(pb_duration_ms),
        max_processes: limits.max_processes,
        max_output_bytes: limits.max_output_bytes,
        max_open_files: limits.max_open_files,
    });
    execution.usage = r.usage.map(|usage| pb::ResourceUsage {
        peak_memory_bytes: usage.peak_memory_bytes,
        cpu_time: Some(pb_duration_ms(usage.cpu_time_ms)),
    });
}
