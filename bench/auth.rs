//! API tokens' cost: trivial executions (Execute, then WaitExecution, 32
//! in flight) against a daemon with `--auth tokens`, each call carrying
//! an operator's token, against the same against a daemon with
//! authentication off, in turns whose order alternates. Both clients are
//! the same type (an interceptor that adds the header, or nothing), so
//! only the daemon's check differs.

use std::ffi::OsStr;
use std::time::Instant;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::*;

/// Adds the token, when there is one, to every call.
#[derive(Clone)]
struct Token(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Token {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Client = WorkflowServiceClient<InterceptedService<Channel, Token>>;

async fn client(daemon: &Daemon, token: Option<&str>) -> Client {
    let channel = Channel::from_shared(daemon.address.clone())
        .expect("address")
        .connect()
        .await
        .expect("connect");
    let token = Token(token.map(|t| format!("Bearer {t}").parse().expect("header")));
    WorkflowServiceClient::with_interceptor(channel, token)
}

/// Executions per second, `in_flight` at a time, each awaited.
async fn rate(client: &Client, executions: usize, in_flight: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let mut client = client.clone();
        let share = executions / in_flight + usize::from(worker < executions % in_flight);
        tasks.spawn(async move {
            for _ in 0..share {
                let execution = client
                    .execute(execute_request("hello", &[("name", "bench")]))
                    .await
                    .expect("execute")
                    .into_inner()
                    .execution
                    .expect("execution");
                let ended = client
                    .wait_execution(pb::WaitExecutionRequest {
                        execution_id: execution.id,
                    })
                    .await
                    .expect("wait")
                    .into_inner()
                    .execution
                    .expect("execution");
                assert_eq!(ended.state, pb::ExecutionState::Succeeded as i32);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    executions as f64 / started.elapsed().as_secs_f64()
}

/// `rounds` rounds of `executions` executions with tokens on and off.
pub(crate) async fn auth(executions: usize, rounds: usize) {
    let data = tempdir::TempDir::new("auth-on");
    let data_dir = data.0.clone();
    let with_tokens = Daemon::spawn(
        data,
        &data_dir,
        &examples_dir(),
        &[OsStr::new("--auth"), OsStr::new("tokens")],
    )
    .await;
    let admin = std::fs::read_to_string(data_dir.join("admin.token")).expect("admin.token");
    let operator = client(&with_tokens, Some(admin.trim()))
        .await
        .create_token(pb::CreateTokenRequest {
            name: "bench".into(),
            role: pb::Role::Operator as i32,
            expires_in: None,
            namespaces: Vec::new(),
        })
        .await
        .expect("CreateToken")
        .into_inner()
        .secret;
    let on = client(&with_tokens, Some(&operator)).await;
    let without = Daemon::start("auth-off").await;
    let off = client(&without, None).await;
    // Warm both up (discovery, the first run directories).
    rate(&on, 64, 32).await;
    rate(&off, 64, 32).await;
    let mut rates: [Vec<f64>; 2] = Default::default();
    let mut cpu = [0.0; 2];
    for round in 0..rounds {
        for turn in 0..2 {
            let tokens = (round + turn) % 2 == 1;
            let (daemon, client) = if tokens {
                (&with_tokens, &on)
            } else {
                (&without, &off)
            };
            let before = daemon.cpu().daemon;
            rates[usize::from(tokens)].push(rate(client, executions, 32).await);
            cpu[usize::from(tokens)] += daemon.cpu().daemon - before;
        }
        println!(
            "auth round {}: {executions} executions with tokens off {:.0}/s, on {:.0}/s ({:.2}x)",
            round + 1,
            rates[0][round],
            rates[1][round],
            rates[1][round] / rates[0][round]
        );
    }
    with_tokens.stop().await;
    without.stop().await;
    let mut ratios: Vec<f64> = rates[1]
        .iter()
        .zip(&rates[0])
        .map(|(on, off)| on / off)
        .collect();
    let per_execution = |seconds: f64| seconds / (executions * rounds) as f64 * 1e3;
    println!(
        "auth: Execute throughput with token auth over without, {rounds} rounds of {executions}: \
         median {:.2}x (target >= 0.95x); off median {:.0}/s, on {:.0}/s; daemon CPU per \
         execution off {:.3} ms, on {:.3} ms",
        median(&mut ratios),
        median(&mut rates[0]),
        median(&mut rates[1]),
        per_execution(cpu[0]),
        per_execution(cpu[1]),
    );
}
