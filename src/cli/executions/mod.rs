//! The execution verbs, one file each: `wfctl run`, `wfctl get`,
//! `wfctl list` and `wfctl cancel`. Their flags are in [`super::args`],
//! the daemon calls they share on [`super::context::Ctx`], waiting for the
//! end in [`super::outcome`], and the printing in [`super::render`].

pub(crate) mod cancel;
pub(crate) mod get;
pub(crate) mod list;
pub(crate) mod run;
