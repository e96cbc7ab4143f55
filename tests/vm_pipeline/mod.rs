//! The VM pipeline program (`workflow-vm-pipeline`) on small images the
//! tests make with the real qemu-img: run directly (events on stderr, the
//! report file) and through a real daemon (tree, artifacts, errors, cancel).
//!
//! Shared: the images and manifests (`images.rs`) and the ways to run the
//! program (`run.rs`); the tests by topic in the other files.

mod images;
mod run;

mod leftovers;
mod policy;
mod stages;
mod through_daemon;
mod untrusted_images;
