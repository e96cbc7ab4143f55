//! The screens of `wfctl tui`, a file each: its state, how it takes an
//! action, and its `draw`. Screens never import each other, except that the
//! dashboard and the job monitor share [`job_list`].

pub(crate) mod dashboard;
pub(crate) mod execution;
pub(crate) mod form;
pub(crate) mod job_list;
pub(crate) mod jobs;
pub(crate) mod manifest;
pub(crate) mod workflows;
