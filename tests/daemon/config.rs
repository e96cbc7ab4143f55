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

/// A group other than the test's own, for the Unix socket.
fn another_group() -> (u32, String) {
    [65534, 1, 2]
        .into_iter()
        .find_map(uzers::get_group_by_gid)
        .map(|group| (group.gid(), group.name().to_string_lossy().into_owned()))
        .expect("a group with gid 65534, 1 or 2")
}

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    meta.mode() & 0o7777
}

/// Every directory and file under `dir` with its mode (symlinks skipped).
fn modes_under(dir: &std::path::Path, found: &mut Vec<(std::path::PathBuf, u32, bool)>) {
    for entry in std::fs::read_dir(dir).expect("list a directory the daemon made") {
        let path = entry.expect("a directory entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        if meta.file_type().is_symlink() {
            continue;
        }
        found.push((path.clone(), mode_of(&meta), meta.is_dir()));
        if meta.is_dir() {
            modes_under(&path, found);
        }
    }
}

#[tokio::test]
async fn what_the_daemon_creates_is_private_even_with_umask_000() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let (gid, group_name) = another_group();
    let daemon = Daemon::builder()
        .default_dirs()
        .umask(0)
        .unix_socket_only()
        .flag("--unix-socket-group", &group_name)
        .start()
        .await;
    // A program in the user workflow directory the daemon creates; it
    // leaves a file in its working directory, so that one is kept.
    let home_workflows = daemon
        .data_dir()
        .parent()
        .unwrap()
        .join("home/.workflow-manager/workflows");
    let keeper = workflow_script(
        r#"{"id":"keeper","name":"Keeper","description":"Leaves a file.","fields":[]}"#,
        "echo kept > kept.txt",
    );
    write_program(&daemon.staging_dir(), "keeper.sh", &keeper);
    std::fs::rename(
        daemon.staging_dir().join("keeper.sh"),
        home_workflows.join("keeper.sh"),
    )
    .unwrap();
    eventually("keeper is discovered", POLL_DEADLINE, || async {
        let listed = daemon.list_workflows().await;
        listed
            .workflows
            .iter()
            .any(|w| w.id == "keeper")
            .then_some(())
    })
    .await;
    let kept = daemon.execute("keeper", &[]).await;
    let hello = daemon.execute("hello", &[]).await;
    for id in [&kept.id, &hello.id] {
        let events = daemon.run_to_end(id).await;
        assert_eq!(finished(&events).state, ExecutionState::Succeeded as i32);
    }

    let data = daemon.data_dir();
    let mut found = Vec::new();
    modes_under(&data, &mut found);
    let program_file = data.join("runs").join(&kept.id).join("kept.txt");
    let sqlite_files = [
        "history.sqlite3",
        "history.sqlite3-wal",
        "history.sqlite3-shm",
    ];
    let history_files = if history_in_postgres() {
        &[][..]
    } else {
        &sqlite_files[..]
    };
    for name in history_files
        .iter()
        .chain(&["runs/.spare", "bundled-workflows/hello.sh"])
    {
        assert!(
            found.iter().any(|(path, _, _)| *path == data.join(name)),
            "{name} exists: {found:?}"
        );
    }
    for (path, mode, is_dir) in &found {
        let expected = if *is_dir || path.starts_with(data.join("bundled-workflows")) {
            // Directories, and the bundled programs (run by the daemon's user).
            0o700
        } else if *path == program_file {
            // What a program writes is its own (with the umask it
            // inherits); its private working directory keeps others out.
            continue;
        } else {
            0o600
        };
        assert_eq!(*mode, expected, "mode of {}", path.display());
    }
    assert_eq!(
        mode_of(&std::fs::metadata(&data).unwrap()),
        0o700,
        "the data directory"
    );
    assert_eq!(
        mode_of(&std::fs::metadata(daemon.output_dir()).unwrap()),
        0o750,
        "the output directory is the operator's: its group may read converted disks"
    );
    for dir in [home_workflows.parent().unwrap(), home_workflows.as_path()] {
        assert_eq!(
            mode_of(&std::fs::metadata(dir).unwrap()),
            0o700,
            "{}",
            dir.display()
        );
    }

    let socket = std::fs::symlink_metadata(daemon.unix_socket()).unwrap();
    assert!(socket.file_type().is_socket());
    assert_eq!(mode_of(&socket), 0o660, "the socket's mode");
    assert_eq!(socket.gid(), gid, "the socket's group");
}

#[tokio::test]
async fn an_open_data_directory_is_made_private_at_start() {
    if skip_on_postgres("the SQLite file's mode") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut daemon = Daemon::start().await;
    daemon.terminate().await;
    let data = daemon.data_dir();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let database = data.join("history.sqlite3");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before_restart = daemon.log().len();
    daemon.restart().await;
    assert_eq!(mode_of(&std::fs::metadata(&data).unwrap()), 0o700);
    assert_eq!(mode_of(&std::fs::metadata(&database).unwrap()), 0o600);
    let log = daemon.log()[before_restart..].to_string();
    assert!(
        log.contains("the data directory was open to other users")
            && log.contains("the history was readable by others"),
        "{log}"
    );
}

/// Inodes of the TCP sockets in LISTEN state, from /proc/net/tcp{,6}.
fn listening_tcp_inodes() -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl, local, remote, state (0A = LISTEN), ..., inode at 9.
            if fields.get(3) == Some(&"0A") {
                inodes.extend(fields.get(9).map(|i| i.to_string()));
            }
        }
    }
    inodes
}

/// Whether process `pid` holds a listening TCP socket.
fn listens_on_tcp(pid: u32) -> bool {
    let listening = listening_tcp_inodes();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the daemon's fds")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .any(|inode| listening.contains(&inode))
}

#[tokio::test]
async fn listen_none_serves_the_unix_socket_and_no_tcp_port() {
    let tcp = Daemon::start().await;
    assert!(
        listens_on_tcp(tcp.pid()),
        "a daemon with an address listens (the check sees it)"
    );
    assert!(
        !tcp.log().contains("NON-LOOPBACK"),
        "loopback is not warned about"
    );

    let daemon = Daemon::builder().unix_socket_only().start().await;
    assert_eq!(
        daemon.addr,
        format!("unix:{}", daemon.unix_socket().display())
    );
    assert!(
        !listens_on_tcp(daemon.pid()),
        "no TCP port with --listen none"
    );
    let hello = daemon.execute("hello", &[]).await;
    let events = daemon.run_to_end(&hello.id).await;
    assert_eq!(finished(&events).state, ExecutionState::Succeeded as i32);

    let (status, stderr) = Daemon::builder()
        .listen("none")
        .start_expecting_failure()
        .await;
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("setting listen") && stderr.contains("unix_socket"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_non_loopback_listen_address_with_insecure_listen_is_warned_about() {
    let daemon = Daemon::builder()
        .listen("0.0.0.0:0")
        .switch("--insecure-listen")
        .start()
        .await;
    daemon.status().await;
    let log = daemon.log();
    assert!(
        log.contains("WARN") && log.contains("NON-LOOPBACK ADDRESS WITHOUT AUTHENTICATION"),
        "{log}"
    );
}
