//! The daemon's settings: the config file (TOML or YAML), then `WORKFLOWD_*`
//! environment variables, then flags; a bad setting stops the start with a
//! message that names it.

use crate::helper::*;

#[tokio::test]
async fn flags_override_the_environment_which_overrides_the_config_file() {
    let daemon = Daemon::builder()
        .config_file(
            "workflowd.yaml",
            "max_concurrent_jobs: 3\nmax_queue: 7\nhistory_retention_days: 2\n",
        )
        .env("WORKFLOWD_MAX_CONCURRENT_JOBS", 4)
        .env("WORKFLOWD_MAX_QUEUE", 8)
        .max_jobs(5)
        .start()
        .await;

    let status = daemon.status().await;
    assert_eq!(status.max_workers, 5, "the flag wins over the variable");
    assert_eq!(status.max_queue, 8, "the variable wins over the file");
    assert_eq!(
        status.history_retention.map(|d| d.seconds),
        Some(2 * 86_400),
        "the file's setting holds where nothing overrides it"
    );
}

#[tokio::test]
async fn a_bad_setting_stops_the_start_and_names_the_setting() {
    let cases = [
        (
            Daemon::builder().config_file("workflowd.toml", "max_qeue = 7\n"),
            vec!["workflowd.toml", "unknown field `max_qeue`"],
        ),
        (
            Daemon::builder().config_file("workflowd.yaml", "max_queue: many\n"),
            vec!["workflowd.yaml", "max_queue"],
        ),
        (
            Daemon::builder().env("WORKFLOWD_MAX_CONCURRENT_JOBS", 0),
            vec!["setting max_concurrent_jobs: must be at least 1"],
        ),
        (
            Daemon::builder().env("WORKFLOWD_HISTORY_RETENTION_DAYS", "soon"),
            vec!["--history-retention-days", "soon"],
        ),
        (
            Daemon::builder().config_file(
                "workflowd.toml",
                "[fix_tools.hyper2kvm]\nargv = [\"hyper2kvm\", \"{disk}\"]\n",
            ),
            vec![
                "setting fix_tools: fix_tools.hyper2kvm: argv[0]",
                "must be an absolute program path",
            ],
        ),
        (
            Daemon::builder().config_file(
                "workflowd.toml",
                "[fix_tools.fixer]\nargv = [\"/usr/bin/fixer\", \"--disk={disk}\"]\n",
            ),
            vec!["setting fix_tools", "argv[1]", "each standing alone"],
        ),
        (
            Daemon::builder().config_file("workflowd.toml", "[fix_tools.empty]\nargv = []\n"),
            vec!["setting fix_tools: fix_tools.empty: argv is empty"],
        ),
    ];
    for (builder, expected) in cases {
        let (status, stderr) = builder.start_expecting_failure().await;
        assert!(!status.success(), "{stderr}");
        for part in expected {
            assert!(stderr.contains(part), "{part:?} in {stderr}");
        }
    }
}
