//! The daemon's config file, loaded as `workflowd --config FILE` loads it
//! (`Config::load`: the TOML or YAML reader, then the validation). The
//! first byte picks the file's extension (even: `.toml`, odd: `.yaml`;
//! the seeds start with `T` and `Y`); the rest is the file.
//!
//! Asserts: never panics; a loaded config keeps the promises the daemon
//! relies on (at least one worker, a non-zero body limit and discovery
//! timeout, absolute paths, something to listen on, distinct drop folders,
//! durations that can be added to the current time); and loading the same
//! file again gives the same config.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use workflow_manager::config::{Config, DaemonArgs};

/// A directory of this process's own for the file (under $TMPDIR, which
/// scripts/fuzz.sh points at a directory it removes).
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("workflowd-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the config file");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let name = if selector & 1 == 0 {
        "workflowd.toml"
    } else {
        "workflowd.yaml"
    };
    let path = dir().join(name);
    std::fs::write(&path, text).expect("writing the config file");
    let args = DaemonArgs {
        config: Some(path),
        ..DaemonArgs::default()
    };
    let config = match Config::load(&args) {
        Ok(config) => config,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error without a message");
            return;
        }
    };
    assert!(config.max_concurrent_jobs >= 1);
    assert!(config.http_max_body_bytes >= 1);
    assert!(!config.discovery_timeout.is_zero());
    assert!(
        config.listen.is_some() || config.unix_socket.is_some(),
        "serves nothing"
    );
    assert!(config.unix_socket_group.is_none() || config.unix_socket.is_some());
    let mut paths = vec![&config.data_dir, &config.output_dir];
    paths.extend(&config.workflow_dirs);
    paths.extend(&config.source_roots);
    paths.extend(config.drop_folders.iter().map(|f| &f.path));
    paths.extend(&config.unix_socket);
    for path in paths {
        assert!(path.is_absolute(), "{} is relative", path.display());
    }
    if let [a, b] = config.drop_folders.as_slice() {
        assert_ne!(a.path, b.path, "both drop folders are one");
    }
    assert!(
        config.policy().problem().is_none(),
        "the policy has a problem"
    );
    // The engine adds these to the current time (a cancel's kill time, the
    // shutdown deadline plus 10 s), and the retry scheduler a policy's
    // longest wait to the current time in ms: none may overflow.
    let now = Instant::now();
    for duration in [
        config.default_grace_period,
        config.shutdown_grace_period,
        config.discovery_timeout,
    ] {
        let deadline = duration
            .checked_add(Duration::from_secs(10))
            .and_then(|d| now.checked_add(d));
        assert!(deadline.is_some(), "{duration:?} from now overflows");
    }
    let now_ms = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    for (workflow, policy) in &config.retry_policies {
        let longest = i64::try_from(policy.maximum_interval_ms).ok();
        assert!(
            longest.and_then(|ms| now_ms.checked_add(ms)).is_some(),
            "retry_policies.{workflow}: a wait of {} ms from now overflows",
            policy.maximum_interval_ms
        );
    }
    assert_eq!(
        Config::load(&args).ok(),
        Some(config),
        "a second load differs"
    );
});
