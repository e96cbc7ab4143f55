//! The rate of starting work, as the config file writes it: the daemon's
//! per caller (`start_rate_per_second`, `start_rate_burst`) and each
//! namespace's.

use super::ConfigError;

/// The rate limit on starting work: a rate above 0 and at most a million a
/// second; the burst at least 1 (by default the rate, rounded up).
pub(super) fn start_rate(
    per_second: Option<f64>,
    burst: Option<u32>,
) -> Result<Option<(f64, std::num::NonZeroU32)>, ConfigError> {
    let Some(per_second) = per_second else {
        return match burst {
            None => Ok(None),
            Some(_) => Err(ConfigError::Invalid {
                setting: "start_rate_burst",
                message: "needs start_rate_per_second".into(),
            }),
        };
    };
    if !(per_second.is_finite() && per_second > 0.0 && per_second <= 1e6) {
        return Err(ConfigError::Invalid {
            setting: "start_rate_per_second",
            message: format!("must be more than 0 and at most 1000000, not {per_second}"),
        });
    }
    let burst = burst.unwrap_or(per_second.ceil() as u32);
    let burst = std::num::NonZeroU32::new(burst).ok_or(ConfigError::Invalid {
        setting: "start_rate_burst",
        message: "must be at least 1".into(),
    })?;
    Ok(Some((per_second, burst)))
}
