//! Workflows as text: the list as a table, one workflow with its inputs.

use super::print::{
    print_fields, print_line, print_message, print_note, print_table, timestamp_text, PrintFormat,
};
use crate::pb::{self, field_type::Kind};

/// Prints every workflow as a table (discovery failures as warnings on
/// stderr), or the ListWorkflowsResponse.
pub(crate) fn print_workflows(format: PrintFormat, all: &pb::ListWorkflowsResponse) {
    if format != PrintFormat::Table {
        print_message(format, all);
        return;
    }
    let rows: Vec<Vec<String>> = all
        .workflows
        .iter()
        .map(|w| {
            vec![
                w.id.clone(),
                w.name.clone(),
                w.fields.len().to_string(),
                w.description.clone(),
            ]
        })
        .collect();
    print_table(&["ID", "NAME", "INPUTS", "DESCRIPTION"], &rows);
    for e in &all.discovery_errors {
        print_note(&format!(
            "wfctl: warning: {} was not discovered: {}",
            e.program_path, e.message
        ));
    }
}

/// Prints one workflow's fields and its inputs as a table, or the message.
pub(crate) fn print_workflow(format: PrintFormat, workflow: &pb::Workflow) {
    if format != PrintFormat::Table {
        print_message(format, workflow);
        return;
    }
    print_fields(&[
        ("ID", workflow.id.clone()),
        ("Name", workflow.name.clone()),
        ("Description", workflow.description.clone()),
        ("Schema version", workflow.schema_version.clone()),
        ("Program", workflow.program_path.clone()),
        (
            "Discovered",
            timestamp_text(workflow.discover_time.as_ref()),
        ),
    ]);
    print_line("");
    if workflow.fields.is_empty() {
        print_line("No inputs.");
        return;
    }
    print_line("Inputs (* = required):");
    print_table(
        &["NAME", "TYPE", "DEFAULT", "REQ", "FLAG", "DESCRIPTION"],
        &input_rows(workflow),
    );
}

/// One table row per input field: name, type, default, required mark, the
/// flag it is passed with, description (with the phases that need it).
fn input_rows(workflow: &pb::Workflow) -> Vec<Vec<String>> {
    workflow
        .fields
        .iter()
        .map(|f| {
            let mut description = f.description.clone();
            if !f.required_for_phases.is_empty() {
                let phases: Vec<String> =
                    f.required_for_phases.iter().map(i32::to_string).collect();
                description.push_str(&format!(" (needed by phase {})", phases.join(", ")));
            }
            vec![
                f.name.clone(),
                field_type_text(f.r#type.as_ref()),
                f.default_value.clone().unwrap_or_else(|| "-".to_string()),
                if f.required { "*" } else { "" }.to_string(),
                f.cli_arg.clone(),
                description,
            ]
        })
        .collect()
}

/// A field's type as short text for tables, e.g. `number [1..5]`.
fn field_type_text(t: Option<&pb::FieldType>) -> String {
    match t.and_then(|t| t.kind.as_ref()) {
        None => "?".to_string(),
        Some(Kind::Text(_)) => "text".to_string(),
        Some(Kind::Number(n)) => match (n.min, n.max) {
            (None, None) => "number".to_string(),
            (min, max) => format!(
                "number [{}..{}]",
                min.map(|v| v.to_string()).unwrap_or_default(),
                max.map(|v| v.to_string()).unwrap_or_default()
            ),
        },
        Some(Kind::FilePath(f)) => match &f.pattern {
            Some(p) => format!("file {p}"),
            None => "file".to_string(),
        },
        Some(Kind::Select(s)) => format!("select {}", s.options.join("|")),
        Some(Kind::PhaseSelector(p)) => format!("phases 0..{}", p.total_phases - 1),
        Some(Kind::StateFile(s)) => format!("state file {}", s.pattern),
    }
}
