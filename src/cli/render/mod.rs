//! Everything `wfctl` shows, in one place (as restate's `cli/src/ui/`):
//! the verbs fetch and decide, and print only through here, so no verb
//! needs another verb to show what it got.
//!
//! [`print`](mod@print) is the one printer (messages through [`proto_json`](crate::proto_json), human
//! text made safe by [`terminal_text`]); [`execution`], [`event`],
//! [`manifest`], [`schedule`], [`status`], [`webhook`] and [`workflow`] turn the API's
//! messages into text;
//! [`live_tree`] is the live view shown while following a run.

pub(crate) mod estimate;
pub(crate) mod event;
pub(crate) mod execution;
pub(crate) mod live_tree;
pub(crate) mod manifest;
pub(crate) mod print;
pub(crate) mod schedule;
pub(crate) mod status;
pub(crate) mod terminal_text;
pub(crate) mod token;
pub(crate) mod webhook;
pub(crate) mod workflow;

pub(crate) use print::{print_line, print_message, print_note, short_state, PrintFormat};
