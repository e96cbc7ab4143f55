//! Schedules (issue 28): how late schedules fire with 10,000 loaded,
//! against the same fire pattern from few schedules, and the daemon's
//! idle CPU with 10,000 schedules that are not due, against none.
//!
//! Lateness of a run is its `action_time` (when the daemon began acting
//! on the time) minus its `scheduled_time`, both from GetSchedule's
//! recent runs; no jitter. The fire pattern: schedule i of N fires once a
//! minute at second `i % 60` (`S * * * * *`), so in a 60 s turn every one
//! of the N timers fires once (N samples), N/60 of them (167) at each
//! second. Each run starts the trivial `hello`; 167 starts a second are
//! about a fifth of what the default worker pool (2 slots, ~800 `hello`/s
//! here) drains, so the pool stays the default and is not what is
//! measured (the lateness is taken before the start anyway).
//!
//! The baselines run on another daemon, in the same run, in turns with the
//! loaded one (half a turn each before it and after it): N/60 schedules
//! firing every second (`* * * * * *`: the same 167 at each second and the
//! same starts per second, with 60 times fewer timers), and 10 firing
//! every second (the floor: a timer's precision and one act). The
//! schedules not in a turn are paused.
//!
//! Idle CPU: two more daemons side by side, one with no schedule and one
//! with N not due for weeks (`0 0 1 1 *`), read over the same window (so a
//! drift of the machine hits both alike), from /proc/PID/stat (utime +
//! stime, 10 ms ticks) and from the threads' run time in
//! /proc/PID/task/*/schedstat (ns; the ticks are coarse for an idle
//! daemon). A timer sleeps until its time (one task watches the wall
//! clock for all of them, src/schedules/live.rs), so nothing wakes per
//! schedule while none is due; the two daemons also stay, idle, through
//! the lateness turns, and their CPU over that longer span is printed
//! too.
//!
//! BENCH_SCHEDULES (N), BENCH_SCHEDULE_SECONDS (the loaded turn; each
//! baseline takes two turns of half that), BENCH_IDLE_SECONDS.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tonic::transport::Channel;
use workflow_manager::pb;
use workflow_manager::pb::workflow_service_client::WorkflowServiceClient;

use crate::harness::{percentile, wait_status, Daemon};

type Client = WorkflowServiceClient<Channel>;

/// Calls in flight while loading and reading schedules.
const IN_FLIGHT: usize = 16;
/// Schedules of the floor baseline.
const FLOOR: usize = 10;
/// Not due in any window: midnight, January 1st.
const NEVER_SOON: &str = "0 0 1 1 *";

pub(crate) async fn schedules(count: usize, turn_seconds: u64, idle_seconds: u64) {
    let idle = IdlePair::start(count).await;
    idle.window(idle_seconds).await;
    // The idle daemons stay (idle) through the lateness turns: a longer
    // span than the window.
    let since = (idle.read(), now_ms());
    lateness(count, turn_seconds).await;
    idle.over_the_turns(since.0, since.1).await;
}

/// Lateness with `count` loaded against the baselines, in turns.
async fn lateness(count: usize, turn_seconds: u64) {
    let per_second = count.div_ceil(60);
    let half = (turn_seconds / 2).max(1);
    let baseline = ready_daemon("schedules-baseline").await;
    let client = baseline.client().await;
    let ids: Vec<String> = (0..per_second).map(|i| format!("b{i}")).collect();
    let every_second = ids
        .iter()
        .map(|id| schedule(id, "* * * * * *", true))
        .collect();
    create_all(&client, every_second).await;

    let mut floor = Turn::default();
    let mut same_rate = Turn::default();
    floor.add(baseline_turn(&baseline, &ids[..FLOOR.min(per_second)], half).await);
    same_rate.add(baseline_turn(&baseline, &ids, half).await);
    let (loaded, load_time) = loaded_turn(count, turn_seconds).await;
    same_rate.add(baseline_turn(&baseline, &ids, half).await);
    floor.add(baseline_turn(&baseline, &ids[..FLOOR.min(per_second)], half).await);
    baseline.stop().await;

    println!(
        "schedules: {count} CreateSchedule ({IN_FLIGHT} in flight) in {:.1} s ({:.0}/s)",
        load_time.as_secs_f64(),
        count as f64 / load_time.as_secs_f64()
    );
    let p99 = loaded.percentile(0.99);
    println!(
        "schedules: lateness with {count} loaded (each once a minute, {per_second} at each \
         second), {turn_seconds} s: {} (target p99 < 100 ms: {})",
        loaded.summary(),
        if p99 < 100.0 { "met" } else { "not met" }
    );
    for (what, turn) in [
        (format!("{per_second} firing every second"), &same_rate),
        (
            format!("{} firing every second", FLOOR.min(per_second)),
            &floor,
        ),
    ] {
        println!(
            "schedules: baseline, {what}, 2 turns of {half} s: {}; loaded over it: \
             p50 {:.2}x, p99 {:.2}x",
            turn.summary(),
            loaded.percentile(0.5) / turn.percentile(0.5),
            p99 / turn.percentile(0.99),
        );
    }
}

/// The runs of one or more turns, and the daemon's CPU over them.
#[derive(Default)]
struct Turn {
    lateness_ms: Vec<i64>,
    expected: usize,
    outcomes: BTreeMap<String, usize>,
    daemon_cpu: f64,
    seconds: f64,
}

impl Turn {
    fn add(&mut self, more: Turn) {
        self.lateness_ms.extend(more.lateness_ms);
        self.expected += more.expected;
        for (outcome, n) in more.outcomes {
            *self.outcomes.entry(outcome).or_default() += n;
        }
        self.daemon_cpu += more.daemon_cpu;
        self.seconds += more.seconds;
    }

    /// The lateness at `p`, in ms.
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted: Vec<Duration> = self
            .lateness_ms
            .iter()
            .map(|&ms| Duration::from_millis(ms.max(0) as u64))
            .collect();
        sorted.sort();
        percentile(&sorted, p).as_secs_f64() * 1000.0
    }

    fn summary(&self) -> String {
        let early = self.lateness_ms.iter().filter(|&&ms| ms < 0).count();
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(outcome, n)| format!("{n} {outcome}"))
            .collect();
        format!(
            "{} runs of {} due ({}{}), lateness p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; \
             daemon CPU {:.1} ms/s",
            self.lateness_ms.len(),
            self.expected,
            outcomes.join(", "),
            if early > 0 {
                format!(", {early} acted before their time (the wall clock moved?)")
            } else {
                String::new()
            },
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(1.0),
            self.daemon_cpu / self.seconds * 1000.0,
        )
    }
}

/// Unpauses `ids` (each firing every second) for `seconds` whole seconds,
/// pauses them again and returns their runs in that window.
async fn baseline_turn(daemon: &Daemon, ids: &[String], seconds: u64) -> Turn {
    let client = daemon.client().await;
    set_paused(&client, ids, false).await;
    // The first second after the unpause may be taken or not; the window
    // starts after it.
    let start = next_second(now_ms() + 1000);
    let end = start + seconds as i64 * 1000;
    let (daemon_cpu, measured) = cpu_over(daemon, start, end).await;
    // Every time in the window acted on (or late beyond anything we report).
    sleep_until(end + 2000).await;
    set_paused(&client, ids, true).await;
    let runs = runs_of(&client, ids, seconds as usize + 10).await;
    let mut turn = window(runs, start, end, daemon_cpu, measured);
    turn.expected = ids.len() * ((end - start) / 1000) as usize;
    turn
}

/// Loads `count` schedules, schedule i firing at second `i % 60`, into a
/// new daemon; returns their runs over `seconds` after the load, and how
/// long the load took.
async fn loaded_turn(count: usize, seconds: u64) -> (Turn, Duration) {
    let daemon = ready_daemon("schedules-loaded").await;
    let client = daemon.client().await;
    let ids: Vec<String> = (0..count).map(|i| format!("s{i}")).collect();
    let load_started = now_ms();
    let loading = Instant::now();
    let schedules = ids
        .iter()
        .enumerate()
        .map(|(i, id)| schedule(id, &format!("{} * * * * *", i % 60), false))
        .collect();
    create_all(&client, schedules).await;
    let load_time = loading.elapsed();
    // Past the load's CPU and the history writer's catching up.
    let start = next_second(now_ms() + 3000);
    let end = start + seconds as i64 * 1000;
    let (daemon_cpu, measured) = cpu_over(&daemon, start, end).await;
    sleep_until(end + 2000).await;
    let minutes = ((now_ms() - load_started) / 60_000) as usize;
    let runs = runs_of(&client, &ids, minutes + 3).await;
    daemon.stop().await;
    let mut turn = window(runs, start, end, daemon_cpu, measured);
    // Each second s of the window is due for the schedules i with
    // i % 60 == s % 60.
    turn.expected = (start / 1000..end / 1000)
        .map(|s| count / 60 + usize::from(((s % 60) as usize) < count % 60))
        .sum();
    (turn, load_time)
}

/// The runs due in [start, end) (ms), not triggered, as a turn.
fn window(runs: Vec<pb::ScheduleRun>, start: i64, end: i64, cpu: f64, seconds: f64) -> Turn {
    let mut turn = Turn {
        daemon_cpu: cpu,
        seconds,
        ..Turn::default()
    };
    for run in runs {
        let scheduled = timestamp_ms(run.scheduled_time.as_ref());
        if run.triggered || scheduled < start || scheduled >= end {
            continue;
        }
        turn.lateness_ms
            .push(timestamp_ms(run.action_time.as_ref()) - scheduled);
        let outcome = pb::ScheduleRunOutcome::try_from(run.outcome)
            .map_or_else(|_| run.outcome.to_string(), |o| o.as_str_name().to_string());
        *turn
            .outcomes
            .entry(
                outcome
                    .trim_start_matches("SCHEDULE_RUN_OUTCOME_")
                    .to_string(),
            )
            .or_default() += 1;
    }
    turn
}

/// The daemon's own CPU seconds from `start` to `end` (ms since the
/// epoch), and the seconds measured.
async fn cpu_over(daemon: &Daemon, start: i64, end: i64) -> (f64, f64) {
    sleep_until(start).await;
    let before = daemon.cpu();
    let measuring = Instant::now();
    sleep_until(end).await;
    (
        (daemon.cpu() - before).daemon,
        measuring.elapsed().as_secs_f64(),
    )
}

/// Two idle daemons side by side: one with no schedule, one with `count`
/// not due.
struct IdlePair {
    empty: Daemon,
    loaded: Daemon,
    count: usize,
}

impl IdlePair {
    async fn start(count: usize) -> IdlePair {
        let empty = ready_daemon("schedules-idle-empty").await;
        let loaded = ready_daemon("schedules-idle-loaded").await;
        let schedules = (0..count)
            .map(|i| schedule(&format!("n{i}"), NEVER_SOON, false))
            .collect();
        create_all(&loaded.client().await, schedules).await;
        // Let the load's aftermath settle (the blocking pool's threads end
        // after 10 s idle; a thread that ends inside a window would take
        // its share of the schedstat sum with it).
        tokio::time::sleep(Duration::from_secs(15)).await;
        IdlePair {
            empty,
            loaded,
            count,
        }
    }

    /// Both daemons' CPU so far.
    fn read(&self) -> [IdleCpu; 2] {
        [IdleCpu::read(&self.empty), IdleCpu::read(&self.loaded)]
    }

    /// Prints both daemons' CPU over `seconds` from now, in ms/s.
    async fn window(&self, seconds: u64) {
        let before = self.read();
        let measuring = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let after = self.read();
        let elapsed = measuring.elapsed().as_secs_f64();
        let [(none_ticks, none_threads), (loaded_ticks, loaded_threads)] =
            [0, 1].map(|i| after[i].since(&before[i]));
        let ratio = if none_threads > 0.0 {
            format!(", {:.2}x", loaded_threads / none_threads)
        } else {
            String::new()
        };
        println!(
            "schedules: idle daemon CPU over the same {elapsed:.0} s, no schedules / {} not due: \
             utime+stime {:.2} / {:.2} ms/s (difference {:+.2} ms/s); threads' run time \
             {:.3} / {:.3} ms/s (difference {:+.3} ms/s{ratio}) (target unchanged)",
            self.count,
            none_ticks / elapsed,
            loaded_ticks / elapsed,
            (loaded_ticks - none_ticks) / elapsed,
            none_threads / elapsed,
            loaded_threads / elapsed,
            (loaded_threads - none_threads) / elapsed,
        );
    }

    /// Prints what both daemons used since `since` (the end of the idle
    /// window: the span of the lateness turns, idle all along), then stops
    /// them.
    async fn over_the_turns(self, since: [IdleCpu; 2], since_ms: i64) {
        let after = self.read();
        let seconds = (now_ms() - since_ms) as f64 / 1000.0;
        let [(none_ticks, none_threads), (loaded_ticks, loaded_threads)] =
            [0, 1].map(|i| after[i].since(&since[i]));
        println!(
            "schedules: idle daemon CPU over the {seconds:.0} s of the lateness turns, no \
             schedules / {} not due: utime+stime {none_ticks:.0} / {loaded_ticks:.0} ms, \
             threads' run time {none_threads:.1} / {loaded_threads:.1} ms ({:+.3} ms/s)",
            self.count,
            (loaded_threads - none_threads) / seconds,
        );
        self.empty.stop().await;
        self.loaded.stop().await;
    }
}

/// A daemon's CPU so far: utime + stime (seconds) and each thread's run
/// time (ns, by thread id).
struct IdleCpu {
    ticks: f64,
    threads: HashMap<u32, u64>,
}

impl IdleCpu {
    fn read(daemon: &Daemon) -> IdleCpu {
        let pid = daemon.child.id().expect("daemon running");
        let mut threads = HashMap::new();
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
        for task in tasks.flatten() {
            let Ok(tid) = task.file_name().to_string_lossy().parse() else {
                continue;
            };
            // Its first field: ns on a CPU.
            let ns = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok());
            if let Some(ns) = ns {
                threads.insert(tid, ns);
            }
        }
        IdleCpu {
            ticks: daemon.cpu().daemon,
            threads,
        }
    }

    /// Milliseconds of CPU since `earlier`: utime + stime, and the run
    /// time of the threads alive now.
    fn since(&self, earlier: &IdleCpu) -> (f64, f64) {
        let threads_ns: u64 = self
            .threads
            .iter()
            .map(|(tid, ns)| ns - earlier.threads.get(tid).copied().unwrap_or(0))
            .sum();
        (
            (self.ticks - earlier.ticks) * 1000.0,
            threads_ns as f64 / 1e6,
        )
    }
}

/// A daemon over the examples, its workflows discovered.
async fn ready_daemon(tag: &str) -> Daemon {
    let daemon = Daemon::start(tag).await;
    wait_status(&mut daemon.client().await, "discovery", |s| {
        s.programs_probing == 0 && s.workflows_discovered > 0
    })
    .await;
    daemon
}

/// A schedule running `hello` at `cron` (UTC, no jitter).
fn schedule(id: &str, cron: &str, paused: bool) -> pb::Schedule {
    pb::Schedule {
        id: id.to_string(),
        spec: Some(pb::ScheduleSpec {
            cron: vec![cron.to_string()],
            ..Default::default()
        }),
        action: Some(pb::ScheduleAction {
            action: Some(pb::schedule_action::Action::Execute(pb::ScheduleExecute {
                workflow_id: "hello".into(),
                inputs: [("name".to_string(), crate::harness::value("bench"))].into(),
                ..Default::default()
            })),
        }),
        paused,
        ..Default::default()
    }
}

async fn create_all(client: &Client, schedules: Vec<pb::Schedule>) {
    in_parallel(client, schedules, |mut client, schedule| async move {
        client
            .create_schedule(pb::CreateScheduleRequest {
                schedule: Some(schedule),
            })
            .await
            .expect("CreateSchedule");
    })
    .await;
}

async fn set_paused(client: &Client, ids: &[String], paused: bool) {
    in_parallel(client, ids.to_vec(), move |mut client, id| async move {
        client
            .pause_schedule(pb::PauseScheduleRequest {
                schedule_id: id,
                paused,
                note: "bench".into(),
            })
            .await
            .expect("PauseSchedule");
    })
    .await;
}

/// The `recent` latest runs of each of `ids`, all together.
async fn runs_of(client: &Client, ids: &[String], recent: usize) -> Vec<pb::ScheduleRun> {
    let recent = recent.min(1000) as i32;
    in_parallel(client, ids.to_vec(), move |mut client, id| async move {
        client
            .get_schedule(pb::GetScheduleRequest {
                schedule_id: id,
                next_fire_times: 1,
                recent_runs: recent,
            })
            .await
            .expect("GetSchedule")
            .into_inner()
            .schedule
            .expect("schedule")
            .recent_runs
    })
    .await
    .into_iter()
    .flatten()
    .collect()
}

/// `call` on every item, IN_FLIGHT at a time over one connection; the
/// answers in no particular order.
async fn in_parallel<T, R, F, Fut>(client: &Client, items: Vec<T>, call: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Client, T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = R> + Send,
{
    let mut shares: Vec<Vec<T>> = (0..IN_FLIGHT).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        shares[i % IN_FLIGHT].push(item);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for share in shares {
        let client = client.clone();
        let call = call.clone();
        tasks.spawn(async move {
            let mut answers = Vec::with_capacity(share.len());
            for item in share {
                answers.push(call(client.clone(), item).await);
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.extend(done.expect("worker"));
    }
    answers
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The first whole second at or after `ms`.
fn next_second(ms: i64) -> i64 {
    (ms + 999).div_euclid(1000) * 1000
}

/// Sleeps until the wall clock reads `ms`.
async fn sleep_until(ms: i64) {
    let wait = ms - now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

fn timestamp_ms(time: Option<&prost_types::Timestamp>) -> i64 {
    let time = time.expect("a run's times are set");
    time.seconds * 1000 + i64::from(time.nanos) / 1_000_000
}
