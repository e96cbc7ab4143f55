//! Tests of the command line's parsing.

use clap::CommandFactory;

use super::*;

#[test]
fn hyperctl_verbs_are_found_after_global_flags_only() {
    let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    assert_eq!(
        hyperctl_verb_position(&args(&["wfctl", "workflow", "-op", "list"])),
        Some(1)
    );
    assert_eq!(
        hyperctl_verb_position(&args(&["wfctl", "--addr", "x:1", "-o", "json", "manifest"])),
        Some(5)
    );
    assert_eq!(
        hyperctl_verb_position(&args(&["wfctl", "run", "workflow"])),
        None
    );
    assert_eq!(
        hyperctl_verb_position(&args(&["wfctl", "schedules", "list"])),
        Some(1)
    );
    assert_eq!(
        hyperctl_verb_position(&args(&["wfctl", "schedule", "list"])),
        None
    );
    assert_eq!(
        hyperctl_verb_position(&args(&["wfctl", "workflows", "list"])),
        None
    );
}

#[test]
fn the_command_line_definition_is_consistent() {
    Cli::command().debug_assert();
}
