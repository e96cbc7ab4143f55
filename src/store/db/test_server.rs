//! A real PostgreSQL server for the store's tests, no mock: started once
//! per test process from Debian's binaries (scripts/test-all.sh installs
//! them), in a temporary directory, on a free loopback port. Each test
//! gets a database of its own. The integration tests and the benchmarks
//! use this file too (by path).
//!
//! For tests the server does not flush to disk at all (fsync off,
//! synchronous_commit off). A benchmark asks for [`durable`] first: the
//! server's own defaults, each commit flushed to the WAL on disk before it
//! is acknowledged, as a production server runs (stricter than the
//! daemon's SQLite in WAL mode with synchronous=NORMAL, which a power cut
//! may take the last commits from).
//!
//! As root, the server runs as the `postgres` user (initdb refuses root).
//! It gets a parent-death signal from `setpriv`, given to the thread that
//! started it, which reads its log for as long as it runs: when the test
//! process ends, the server ends with it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};

/// The running server, once started.
struct Server {
    port: u16,
    /// Its directory (data and socket), removed by the next test process
    /// once this one has ended.
    _dir: PathBuf,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);
static DURABLE: AtomicBool = AtomicBool::new(false);

/// Makes the server, when it starts, flush its WAL to disk as a
/// production server does (see the top of this file).
#[allow(dead_code)] // Used by the benchmarks only.
pub(crate) fn durable() {
    DURABLE.store(true, Ordering::Relaxed);
}

/// A URL for a new, empty database on the test server.
pub(crate) fn fresh_database() -> String {
    let server = SERVER.get_or_init(start);
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let create = format!("CREATE DATABASE {name}");
    // On a thread of its own: the client blocks on a runtime of its own,
    // which tokio refuses inside a test's runtime.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL server: {e}"));
        client
            .batch_execute(&create)
            .unwrap_or_else(|e| panic!("{create}: {e}"));
    })
    .join()
    .expect("the test server's database is created");
    format!("postgres://postgres@127.0.0.1:{}/{name}", server.port)
}

const DIR_PREFIX: &str = "workflowd-test-pg-";

/// Removes the directories of servers whose test process has ended (a
/// static's directory cannot be removed at exit).
fn remove_stale_servers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Debian's PostgreSQL binaries: the newest installed version's.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| dir.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             scripts/test-all.sh installs it, or apt-get install postgresql"
        )
    })
}

/// `setpriv` with the parent-death signal, as `postgres` when we are root.
fn as_server_user(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    if rustix::process::geteuid().is_root() {
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    command.args(["--pdeathsig=QUIT", "--"]).arg(program);
    command
}

fn start() -> Server {
    let bin = bin_dir();
    remove_stale_servers();
    let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test server's directory");
    if rustix::process::geteuid().is_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown the test server's directory");
    }
    let data = dir.join("data");
    let output = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .expect("run initdb");
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (ready_tx, ready_rx) = mpsc::channel();
    let postgres = bin.join("postgres");
    let socket_dir = dir.clone();
    let durable = DURABLE.load(Ordering::Relaxed);
    // The thread that starts the server is its parent for the death
    // signal, so it lives as long as the server: it reads the log.
    std::thread::Builder::new()
        .name("test-postgres".into())
        .spawn(move || {
            let mut child = as_server_user(&postgres)
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-k"])
                .arg(&socket_dir)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "max_connections=300",
                ])
                .args(if durable {
                    &[][..]
                } else {
                    &[
                        "-c",
                        "fsync=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "synchronous_commit=off",
                    ][..]
                })
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start postgres");
            let log = BufReader::new(child.stderr.take().expect("piped"));
            let mut ready = Some(ready_tx);
            let mut seen = Vec::new();
            for line in log.lines().map_while(Result::ok) {
                if line.contains("ready to accept connections") {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                } else if ready.is_some() {
                    seen.push(line);
                }
            }
            let status = child.wait();
            if let Some(ready) = ready {
                let _ = ready.send(Err(format!("{status:?}: {}", seen.join("\n"))));
            }
        })
        .expect("spawn the test server's thread");
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(why)) => panic!("the test PostgreSQL server did not start: {why}"),
        Err(_) => panic!("the test PostgreSQL server's thread ended"),
    }
    Server { port, _dir: dir }
}
