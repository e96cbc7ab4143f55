//! `wfctl tui`: the full-screen terminal dashboard (docs/tui.md), a gRPC
//! client of the daemon like the rest of wfctl.
//!
//! The parts: [`app`] is the one state and its `draw`; [`keys`] maps every
//! key to an action; [`screens`] holds each screen's state and drawing (a
//! file each); [`link`] is the connection to the daemon, which polls what
//! has no stream, follows logs with StreamLogs and runs the screens'
//! requests; [`messages`] are what the two say to each other; [`widgets`]
//! and [`theme`] are shared drawing pieces and styles; [`terminal`] sets
//! the terminal up and always puts it back. This file is the loop.

mod app;
mod keys;
mod link;
mod messages;
mod path_completion;
mod screens;
mod terminal;
mod theme;
mod widgets;

#[cfg(test)]
mod tests;

use std::{
    io::Write,
    path::Path,
    time::{Duration, Instant, SystemTime},
};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
    time::{interval, sleep_until, MissedTickBehavior},
};

use self::{app::App, messages::Request, terminal::Screen, theme::Theme};
use super::{args::GlobalArgs, args::TuiArgs, error::CliError};
use crate::client_token::daemon_client;

/// The shortest time between two frames: a chatty log is drawn at most
/// this often, however fast its lines arrive.
const FRAME_EVERY: Duration = Duration::from_millis(33);
/// How often a screen with a running clock is redrawn.
const CLOCK_EVERY: Duration = Duration::from_secs(1);
/// Updates handled before the screen is drawn again.
const UPDATES_PER_FRAME: usize = 256;

/// Runs the dashboard until the user quits or a signal ends it.
pub(crate) async fn run(globals: &GlobalArgs, args: TuiArgs) -> Result<(), CliError> {
    let addr = globals.daemon_addr().trim().to_string();
    let token = globals.bearer_token()?;
    let channel = globals
        .tls
        .endpoint(&addr)?
        .connect_timeout(Duration::from_secs(3))
        .connect_lazy();
    let mut frame_times = match &args.frame_times {
        Some(path) => Some(open_frame_log(path)?),
        None => None,
    };
    // Signals are taken before the terminal changes: one that arrives at
    // any later moment ends the loop, which puts the terminal back.
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let mut screen = Screen::enter()?;
    let (request_tx, request_rx) = mpsc::unbounded_channel();
    let (update_tx, mut updates) = mpsc::channel(1024);
    let link = link::start(
        daemon_client(channel, token),
        addr.clone(),
        args.namespace.field(),
        request_rx,
        update_tx,
    );
    let mut app = App::new(addr, args.namespace.namespace.clone(), Theme::from_env());
    let send = |requests: Vec<Request>| {
        for request in requests {
            // The link outlives the loop.
            let _ = request_tx.send(request);
        }
    };
    send(app.start());

    let mut keys = EventStream::new();
    let mut clock = interval(CLOCK_EVERY);
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME_EVERY;
    let result = loop {
        if dirty && last_frame.elapsed() >= FRAME_EVERY {
            let started = Instant::now();
            if let Err(e) = screen.draw(|frame| app.draw(frame, SystemTime::now())) {
                break Err(e);
            }
            last_frame = Instant::now();
            dirty = false;
            if let Some(log) = &mut frame_times {
                let _ = writeln!(log, "{}", started.elapsed().as_micros());
            }
        }
        let next_frame = tokio::time::Instant::from_std(last_frame + FRAME_EVERY);
        tokio::select! {
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    send(app.on_key(key));
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                // The terminal is gone: nothing can be shown any more.
                Some(Err(_)) | None => break Ok(()),
            },
            update = updates.recv() => {
                let Some(update) = update else { break Ok(()) };
                let (changed, requests) = app.on_update(update);
                dirty |= changed;
                send(requests);
                // Take what else has arrived before drawing, so a burst of
                // log lines costs one frame, not one each.
                for _ in 0..UPDATES_PER_FRAME {
                    let Ok(update) = updates.try_recv() else { break };
                    let (changed, requests) = app.on_update(update);
                    dirty |= changed;
                    send(requests);
                }
            }
            _ = clock.tick() => dirty |= app.ticking(),
            _ = sleep_until(next_frame), if dirty => {}
            _ = terminate.recv() => break Ok(()),
            _ = interrupt.recv() => break Ok(()),
            _ = hangup.recv() => break Ok(()),
        }
        if app.quit {
            break Ok(());
        }
    };
    drop(request_tx);
    link.abort();
    screen.leave();
    result.map_err(|e| CliError::Usage(format!("cannot draw on the terminal: {e}")))
}

fn signal_error(e: std::io::Error) -> CliError {
    CliError::Usage(format!("cannot handle signals: {e}"))
}

/// The frame log, unbuffered: a reader (bench/tui.rs) sees each frame as
/// it is drawn, for one small write per frame.
fn open_frame_log(path: &Path) -> Result<std::fs::File, CliError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CliError::Usage(format!("cannot open {}: {e}", path.display())))
}
