//! The daemon's gRPC overhead: GetStatus (and the daemon's own health
//! check) against a bare tonic server answering the standard health check,
//! in alternating turns at a fixed number of calls in flight.
//!
//! The bare server is this benchmark's own binary run again with
//! BENCH_BARE_GRPC set, so it is a process of its own like the daemon: a
//! default tokio runtime and tonic's default server with the health and
//! reflection services, nothing else. The load comes from the benchmark's
//! one-threaded client, the same for every side; when `ghz` is on PATH (or
//! in ~/go/bin) it runs the same turns too, as a second opinion from a
//! load generator that is not ours.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

/// The environment variable that turns the benchmark binary into the bare
/// server.
const BARE_SERVER_VAR: &str = "BENCH_BARE_GRPC";

/// Serves the bare tonic server and returns true when this process was
/// started as one; false otherwise (the benchmark goes on).
pub(crate) fn serve_bare_if_asked() -> bool {
    if std::env::var_os(BARE_SERVER_VAR).is_none() {
        return false;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (_reporter, health) = tonic_health::server::health_reporter();
        // Both reflection versions, as the daemon serves them: ghz asks
        // for v1alpha.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1().expect("reflection");
        let reflection_v1alpha = reflection().build_v1alpha().expect("reflection");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("listening on {}", listener.local_addr().expect("address"));
        tonic::transport::Server::builder()
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            // TCP_NODELAY as the daemon sets it (and tonic's own `serve`):
            // without it ghz's small writes wait on delayed ACKs, ~40/s.
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            )
            .await
            .expect("serve");
    });
    true
}

/// The bare server, running.
struct BareServer {
    child: tokio::process::Child,
    address: String,
}

impl BareServer {
    async fn start() -> BareServer {
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
            .env(BARE_SERVER_VAR, "1")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the bare server");
        let address = listening_address(&mut child).await;
        BareServer { child, address }
    }

    fn cpu(&self) -> f64 {
        process_cpu(self.child.id().expect("bare server running") as i32)
    }
}

/// What a turn calls.
#[derive(Clone, Copy)]
enum Call {
    /// grpc.health.v1.Health/Check on the bare server.
    BareHealth,
    /// The same on the daemon: its transport and layers, no handler work.
    DaemonHealth,
    /// workflow.v1.WorkflowService/GetStatus on the daemon.
    GetStatus,
}

impl Call {
    const ALL: [Call; 3] = [Call::BareHealth, Call::DaemonHealth, Call::GetStatus];

    fn name(self) -> &'static str {
        match self {
            Call::BareHealth => "bare tonic Health/Check",
            Call::DaemonHealth => "daemon Health/Check",
            Call::GetStatus => "daemon GetStatus",
        }
    }

    /// The method as ghz names it.
    fn method(self) -> &'static str {
        match self {
            Call::BareHealth | Call::DaemonHealth => "grpc.health.v1.Health/Check",
            Call::GetStatus => "workflow.v1.WorkflowService/GetStatus",
        }
    }
}

/// The clients of both servers.
struct Clients {
    bare: HealthClient<Channel>,
    daemon_health: HealthClient<Channel>,
    daemon: WorkflowServiceClient<Channel>,
}

/// One side's turns.
#[derive(Default)]
struct Side {
    calls: usize,
    seconds: f64,
    rates: Vec<f64>,
    latencies: Vec<Duration>,
    /// Server CPU seconds in this side's turns.
    cpu: f64,
}

/// Each of [`Call::ALL`] at each of `concurrencies` calls in flight,
/// `rounds` rounds of one `turn` per side, the order rotating per round.
pub(crate) async fn grpc_overhead(turn: Duration, rounds: usize, concurrencies: &[usize]) {
    let bare = BareServer::start().await;
    let daemon = Daemon::start("grpc-overhead").await;
    let connect = |address: &str| {
        Channel::from_shared(address.to_string())
            .expect("address")
            .connect_lazy()
    };
    let clients = Clients {
        bare: HealthClient::new(connect(&bare.address)),
        daemon_health: HealthClient::new(connect(&daemon.address)),
        daemon: daemon.client().await,
    };
    let server_cpu = |call: Call| match call {
        Call::BareHealth => bare.cpu(),
        Call::DaemonHealth | Call::GetStatus => daemon.cpu().daemon,
    };
    for call in Call::ALL {
        run_turn(call, 8, Duration::from_millis(300), &clients).await;
    }
    for &in_flight in concurrencies {
        let mut sides: [Side; 3] = Default::default();
        for round in 0..rounds {
            for i in 0..Call::ALL.len() {
                let index = (round + i) % Call::ALL.len();
                let call = Call::ALL[index];
                let before = server_cpu(call);
                let (calls, seconds, latencies) = run_turn(call, in_flight, turn, &clients).await;
                let side = &mut sides[index];
                side.cpu += server_cpu(call) - before;
                side.calls += calls;
                side.seconds += seconds;
                side.rates.push(calls as f64 / seconds);
                side.latencies.extend(latencies);
            }
        }
        report(in_flight, rounds, &mut sides);
    }
    if let Some(ghz) = ghz() {
        for &in_flight in concurrencies {
            let mut rates: [Vec<f64>; 3] = Default::default();
            for round in 0..rounds {
                for i in 0..Call::ALL.len() {
                    let index = (round + i) % Call::ALL.len();
                    let call = Call::ALL[index];
                    let address = match call {
                        Call::BareHealth => &bare.address,
                        _ => &daemon.address,
                    };
                    rates[index].push(ghz_rate(&ghz, call, address, in_flight, turn).await);
                }
            }
            let [bare_rate, health_rate, status_rate] = rates.each_mut().map(|r| median(r));
            println!(
                "grpc overhead via ghz, {in_flight} in flight, {rounds} rounds: \
                 bare {bare_rate:.0}/s, daemon health {health_rate:.0}/s ({:.2}x), \
                 GetStatus {status_rate:.0}/s ({:.2}x; target >= 0.80x)",
                health_rate / bare_rate,
                status_rate / bare_rate,
            );
        }
    } else {
        println!("grpc overhead: ghz not found (go install github.com/bojand/ghz/cmd/ghz@latest), its turns skipped");
    }
    daemon.stop().await;
}

fn report(in_flight: usize, rounds: usize, sides: &mut [Side; 3]) {
    let ratios = |side: usize| -> f64 {
        let mut per_round: Vec<f64> = (0..rounds)
            .map(|r| sides[side].rates[r] / sides[0].rates[r])
            .collect();
        median(&mut per_round)
    };
    let (health_ratio, status_ratio) = (ratios(1), ratios(2));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut parts = Vec::new();
    for (call, side) in Call::ALL.iter().zip(sides.iter_mut()) {
        side.latencies.sort();
        parts.push(format!(
            "{} median {:.0}/s, p50 {:.3} ms, p99 {:.3} ms, server CPU {:.1} us per call",
            call.name(),
            median(&mut side.rates),
            ms(percentile(&side.latencies, 0.5)),
            ms(percentile(&side.latencies, 0.99)),
            side.cpu / side.calls as f64 * 1e6,
        ));
    }
    println!(
        "grpc overhead, {in_flight} in flight, {rounds} rounds: {}; \
         daemon health over bare {health_ratio:.2}x, GetStatus over bare \
         {status_ratio:.2}x (median of rounds; target >= 0.80x)",
        parts.join("; "),
    );
}

/// Calls `call` with `in_flight` calls outstanding for `length`; every call
/// started before the end is awaited and counted.
async fn run_turn(
    call: Call,
    in_flight: usize,
    length: Duration,
    clients: &Clients,
) -> (usize, f64, Vec<Duration>) {
    let started = Instant::now();
    let until = started + length;
    let workers = (0..in_flight).map(|_| {
        let mut bare = clients.bare.clone();
        let mut daemon_health = clients.daemon_health.clone();
        let mut daemon = clients.daemon.clone();
        async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let sent = Instant::now();
                match call {
                    Call::BareHealth => {
                        bare.check(HealthCheckRequest::default())
                            .await
                            .expect("bare Check");
                    }
                    Call::DaemonHealth => {
                        daemon_health
                            .check(HealthCheckRequest::default())
                            .await
                            .expect("daemon Check");
                    }
                    Call::GetStatus => {
                        daemon
                            .get_status(pb::GetStatusRequest::default())
                            .await
                            .expect("GetStatus");
                    }
                }
                latencies.push(sent.elapsed());
            }
            latencies
        }
    });
    // All callers in this one task, as in http_status: the same client
    // cost on every side.
    let latencies: Vec<Duration> = join_all(workers).await.into_iter().flatten().collect();
    (latencies.len(), started.elapsed().as_secs_f64(), latencies)
}

/// ghz, if installed.
fn ghz() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("ghz"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("HOME")?;
        let candidate = PathBuf::from(home).join("go/bin/ghz");
        candidate.is_file().then_some(candidate)
    })
}

/// Requests per second ghz reports for one turn of `call` on `address`
/// (one connection, `in_flight` concurrent callers, as the client above).
async fn ghz_rate(
    ghz: &PathBuf,
    call: Call,
    address: &str,
    in_flight: usize,
    turn: Duration,
) -> f64 {
    let output = tokio::process::Command::new(ghz)
        .args(["--insecure", "--connections", "1", "--format", "json"])
        .arg("--call")
        .arg(call.method())
        .arg("--concurrency")
        .arg(in_flight.to_string())
        .arg("--duration")
        .arg(format!("{}ms", turn.as_millis()))
        .arg("--data")
        .arg("{}")
        .arg(address.trim_start_matches("http://"))
        .output()
        .await
        .expect("run ghz");
    assert!(
        output.status.success(),
        "ghz: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("ghz JSON");
    // ghz ends a turn by closing the connection under the calls still in
    // flight, and counts those as Unavailable; anything more is an error.
    let failed: u64 = report["statusCodeDistribution"]
        .as_object()
        .map(|codes| {
            codes
                .iter()
                .filter(|(code, _)| *code != "OK")
                .filter_map(|(_, count)| count.as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert!(
        failed <= in_flight as u64,
        "ghz saw errors: {}",
        report["errorDistribution"]
    );
    report["rps"].as_f64().expect("rps")
}
