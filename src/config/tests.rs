//! Loading the configuration: precedence, validation messages, the policy.

use super::*;
use crate::watcher::DropMode;

#[test]
fn flags_override_file_and_file_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.yaml");
    std::fs::write(
        &file,
        "max_queue: 7\nmax_concurrent_jobs: 3\nlisten: 127.0.0.1:6000\nhistory_retention_days: 30\n",
    )
    .unwrap();
    let args = DaemonArgs {
        config: Some(file),
        max_concurrent_jobs: Some(5),
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let config = Config::load(&args).unwrap();
    assert_eq!(config.max_queue, 7);
    assert_eq!(config.max_concurrent_jobs, 5);
    assert_eq!(config.listen.map(|l| l.port()), Some(6000));
    assert_eq!(
        config.history_retention,
        Some(Duration::from_secs(30 * 86_400))
    );
    assert_eq!(
        config.workflow_dirs[0],
        dir.path().join("bundled-workflows")
    );
}

#[test]
fn errors_name_the_setting_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.toml");
    std::fs::write(&file, "max_qeue = 7\n").unwrap();
    let args = DaemonArgs {
        config: Some(file),
        ..Default::default()
    };
    let message = Config::load(&args).unwrap_err().to_string();
    assert!(message.contains("max_qeue"), "{message}");

    let args = DaemonArgs {
        listen: Some("nowhere".into()),
        ..Default::default()
    };
    let message = Config::load(&args).unwrap_err().to_string();
    assert!(message.starts_with("setting listen"), "{message}");

    let args = DaemonArgs {
        history_retention_days: Some(0.0),
        ..Default::default()
    };
    let message = Config::load(&args).unwrap_err().to_string();
    assert!(
        message.starts_with("setting history_retention_days"),
        "{message}"
    );
}

#[test]
fn paths_that_are_not_utf8_are_refused_naming_the_setting() {
    use std::os::unix::ffi::OsStringExt;
    let dir = tempfile::tempdir().unwrap();
    let mut not_utf8 = dir.path().as_os_str().to_owned().into_vec();
    not_utf8.extend_from_slice(b"/caf\xe9");
    let not_utf8 = PathBuf::from(std::ffi::OsString::from_vec(not_utf8));
    let good = DaemonArgs {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    Config::load(&good).unwrap().policy().to_env_value();
    let cases = [
        (
            "data_dir",
            DaemonArgs {
                data_dir: Some(not_utf8.clone()),
                ..Default::default()
            },
        ),
        (
            "output_dir",
            DaemonArgs {
                output_dir: Some(not_utf8.clone()),
                ..good.clone()
            },
        ),
        (
            "source_roots",
            DaemonArgs {
                source_roots: vec!["/srv/in".into(), not_utf8.clone()],
                ..good.clone()
            },
        ),
        (
            "manifest_workflow_dir",
            DaemonArgs {
                manifest_dir: Some(not_utf8.clone()),
                ..good.clone()
            },
        ),
        (
            "workflow_dir",
            DaemonArgs {
                disk_dir: Some(not_utf8.clone()),
                ..good.clone()
            },
        ),
    ];
    for (setting, args) in cases {
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("setting {setting}:"))
                && message.contains("not valid UTF-8"),
            "{setting}: {message}"
        );
    }
}

#[test]
fn the_policy_has_the_source_roots_the_drop_folders_and_the_manifests_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(
        &file,
        "source_roots = [\"/srv/in\"]\nmanifest_workflow_dir = \"/srv/drop\"\n\
         [fix_tools.hyper2kvm]\nargv = [\"/usr/bin/hyper2kvm\", \"--fix\", \"{disk}\"]\n",
    )
    .unwrap();
    let args = DaemonArgs {
        config: Some(file.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        output_dir: Some("/srv/out".into()),
        ..Default::default()
    };
    let policy = Config::load(&args).unwrap().policy();
    assert_eq!(
        policy.source_roots,
        [
            PathBuf::from("/srv/in"),
            "/srv/drop".into(),
            dir.path().join("manifests")
        ]
    );
    assert_eq!(policy.output_dir, PathBuf::from("/srv/out"));
    assert_eq!(
        policy.fix_tools["hyper2kvm"].argv,
        ["/usr/bin/hyper2kvm", "--fix", "{disk}"]
    );
    // A flag replaces the file's roots.
    let args = DaemonArgs {
        source_roots: vec!["/a".into(), "/b".into()],
        ..args
    };
    let config = Config::load(&args).unwrap();
    assert_eq!(config.source_roots, [PathBuf::from("/a"), "/b".into()]);
}

#[test]
fn the_upstream_daemon_keys_configure_the_drop_folders() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hyper2kvm.yaml");
    std::fs::write(
        &file,
        "command: daemon\ndaemon: true\nworkflow_mode: true\nworkflow_dir: /srv/disks\n\
         manifest_workflow_mode: true\nmanifest_workflow_dir: /srv/manifests\n\
         output_dir: /srv/out\nmax_concurrent_jobs: 3\nverbose: true\n",
    )
    .unwrap();
    let args = DaemonArgs {
        config: Some(file.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let config = Config::load(&args).unwrap();
    assert_eq!(
        config.drop_folders,
        [
            DropFolderConfig {
                path: "/srv/manifests".into(),
                mode: DropMode::Manifest
            },
            DropFolderConfig {
                path: "/srv/disks".into(),
                mode: DropMode::Disk
            },
        ]
    );
    assert_eq!(config.output_dir, PathBuf::from("/srv/out"));
    assert_eq!(config.max_concurrent_jobs, 3);

    // A mode switched off wins over its folder; a flag wins over both.
    std::fs::write(&file, "workflow_mode: false\nworkflow_dir: /srv/disks\n").unwrap();
    let args = DaemonArgs {
        config: Some(file.clone()),
        manifest_dir: Some("/m".into()),
        ..Default::default()
    };
    let config = Config::load(&args).unwrap();
    assert_eq!(config.drop_folders.len(), 1);
    assert_eq!(config.drop_folders[0].mode, DropMode::Manifest);

    std::fs::write(&file, "manifest_workflow_mode: true\n").unwrap();
    let args = DaemonArgs {
        config: Some(file),
        ..Default::default()
    };
    let message = Config::load(&args).unwrap_err().to_string();
    assert!(
        message.starts_with("setting manifest_workflow_mode"),
        "{message}"
    );
}

#[test]
fn listen_none_needs_a_unix_socket_and_the_socket_group_must_exist() {
    let args = DaemonArgs {
        listen: Some("none".into()),
        ..Default::default()
    };
    let message = Config::load(&args).unwrap_err().to_string();
    assert!(
        message.starts_with("setting listen") && message.contains("unix_socket"),
        "{message}"
    );
    let args = DaemonArgs {
        listen: Some("none".into()),
        unix_socket: Some("/run/w.sock".into()),
        unix_socket_group: Some("root".into()),
        ..Default::default()
    };
    let config = Config::load(&args).unwrap();
    assert_eq!(config.listen, None);
    assert_eq!(config.unix_socket_group, Some(0));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.toml");
    std::fs::write(
        &file,
        "listen = \"none\"\nunix_socket = \"/run/w.sock\"\nunix_socket_group = 0\n",
    )
    .unwrap();
    let args = DaemonArgs {
        config: Some(file.clone()),
        ..Default::default()
    };
    assert_eq!(Config::load(&args).unwrap().unix_socket_group, Some(0));

    for group in ["no-such-group-here", "4000000000"] {
        let args = DaemonArgs {
            unix_socket: Some("/run/w.sock".into()),
            unix_socket_group: Some(group.into()),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with("setting unix_socket_group") && message.contains("does not exist"),
            "{message}"
        );
    }
}

#[test]
fn program_env_names_come_from_the_file_or_the_flags_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.yaml");
    std::fs::write(&file, "program_env: [HTTP_PROXY, LIBGUESTFS_*]\n").unwrap();
    let args = DaemonArgs {
        config: Some(file.clone()),
        ..Default::default()
    };
    let names: Vec<String> = Config::load(&args)
        .unwrap()
        .program_env
        .iter()
        .map(|n| n.as_str().to_string())
        .collect();
    assert_eq!(names, ["HTTP_PROXY", "LIBGUESTFS_*"]);
    let args = DaemonArgs {
        config: Some(file),
        program_env: vec!["NO PROXY".into()],
        ..Default::default()
    };
    let message = Config::load(&args).unwrap_err().to_string();
    assert!(message.starts_with("setting program_env"), "{message}");
}

#[test]
fn cors_origins_must_be_bare_origins_from_flags_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = DaemonArgs {
        data_dir: Some(dir.path().to_path_buf()),
        http_cors_origins: vec![
            "https://dash.example".into(),
            "http://localhost:5173".into(),
            "http://[::1]:8080".into(),
        ],
        ..Default::default()
    };
    let config = Config::load(&good).unwrap();
    assert_eq!(config.http_cors_origins, good.http_cors_origins);
    assert_eq!(config.http_max_body_bytes, 16 << 20);
    for origin in [
        "*",
        "https://x/path",
        "https://x/",
        "dash.example",
        "https://",
        "ftp://x",
    ] {
        let args = DaemonArgs {
            http_cors_origins: vec!["https://ok.example".into(), origin.into()],
            ..good.clone()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with("setting http_cors_origins:") && message.contains(origin),
            "{origin}: {message}"
        );
    }

    let file = dir.path().join("d.yaml");
    std::fs::write(
        &file,
        "http_cors_origins: [\"*\"]\nhttp_max_body_bytes: 1024\n",
    )
    .unwrap();
    let from_file = DaemonArgs {
        config: Some(file.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let message = Config::load(&from_file).unwrap_err().to_string();
    assert!(
        message.starts_with("setting http_cors_origins:"),
        "{message}"
    );
    // A flag replaces the file's list, so the bad entry is not read.
    let config = Config::load(&DaemonArgs {
        http_cors_origins: vec!["https://dash.example".into()],
        ..from_file.clone()
    })
    .unwrap();
    assert_eq!(config.http_cors_origins, ["https://dash.example"]);
    assert_eq!(config.http_max_body_bytes, 1024);

    let message = Config::load(&DaemonArgs {
        http_max_body_bytes: Some(0),
        ..good
    })
    .unwrap_err()
    .to_string();
    assert!(
        message.starts_with("setting http_max_body_bytes:"),
        "{message}"
    );
}

#[test]
fn a_port_beyond_loopback_needs_tokens_or_insecure_listen() {
    let load = |listen: &str, auth: Option<&str>, insecure_listen: bool| {
        Config::load(&DaemonArgs {
            listen: Some(listen.into()),
            auth: auth.map(Into::into),
            insecure_listen,
            unix_socket: Some("/run/w.sock".into()),
            ..Default::default()
        })
    };
    for listen in ["0.0.0.0:0", "192.0.2.1:50051", "[::]:0", "[2001:db8::1]:0"] {
        let message = load(listen, None, false).unwrap_err().to_string();
        assert!(
            message.starts_with("setting listen") && message.contains("--insecure-listen"),
            "{listen}: {message}"
        );
        assert!(load(listen, Some("tokens"), false).is_ok(), "{listen}");
        assert!(load(listen, None, true).is_ok(), "{listen}");
        assert!(load(listen, Some("none"), true)
            .unwrap()
            .listens_beyond_loopback());
    }
    // Loopback, however written, and no TCP port at all need neither.
    for listen in [
        "127.0.0.1:0",
        "127.8.9.10:0",
        "[::1]:0",
        "[::ffff:127.0.0.1]:0",
        "none",
    ] {
        let config = load(listen, None, false).unwrap_or_else(|e| panic!("{listen}: {e}"));
        assert!(!config.listens_beyond_loopback(), "{listen}");
        assert_eq!(config.auth, crate::auth::AuthMode::None);
    }
    let message = load("127.0.0.1:0", Some("password"), false)
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("setting auth"), "{message}");
}

/// Found by the `config` fuzz target (fuzz/regressions/config/): a
/// duration past u64 seconds panicked at start, one past what an Instant
/// can hold panicked at shutdown, and a tiny one became a zero timeout.
#[test]
fn fuzz_regression_durations_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, setting) in [
        (
            "a.toml",
            "default_grace_period_secs = 1e300\n",
            "default_grace_period",
        ),
        (
            "b.toml",
            "shutdown_grace_period_secs = 1e18\n",
            "shutdown_grace_period",
        ),
        (
            "c.yaml",
            "discovery_timeout_secs: 1e-20\n",
            "discovery_timeout",
        ),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let args = DaemonArgs {
            config: Some(file),
            ..Default::default()
        };
        let message = Config::load(&args).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("setting {setting}:")),
            "{text}: {message}"
        );
    }
}
