//! One tool per discovered workflow, `run_<workflow_id>`, whose input schema
//! is the workflow's own (plus `wait_seconds`), kept current by polling
//! ListWorkflows. Every change bumps a generation number that the session
//! turns into `notifications/tools/list_changed`.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use rmcp::handler::server::tool::schema_for_output;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::error::{ToolError, Violation};
use super::model::ExecuteOutput;
use super::provenance;
use super::wait::MAX_WAIT_SECONDS;
use crate::pb;

/// Prefix of the per-workflow tools.
pub(crate) const RUN_PREFIX: &str = "run_";

/// The argument every `run_<id>` tool takes besides the workflow's inputs:
/// how long to wait for the run.
pub(crate) const WAIT_ARGUMENT: &str = "wait_seconds";

/// The other one: the namespace to run it in, as execute_workflow's
/// `namespace`.
pub(crate) const NAMESPACE_ARGUMENT: &str = "namespace";

/// Longest tool name MCP clients accept.
const MAX_TOOL_NAME: usize = 128;

/// A `run_<id>` tool and the workflow it runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunTool {
    /// The workflow id to pass to Execute.
    pub(crate) workflow_id: String,
    /// Whether `wait_seconds` is the tool's own argument (it is not when
    /// the workflow has an input of that name).
    pub(crate) takes_wait: bool,
    /// Whether `namespace` is the tool's own argument (likewise).
    pub(crate) takes_namespace: bool,
    /// The tool as listed.
    pub(crate) tool: Tool,
}

/// The current `run_<id>` tools by tool name, and a generation counter
/// bumped whenever they change.
#[derive(Debug)]
pub(crate) struct RunTools {
    tools: RwLock<Arc<BTreeMap<String, RunTool>>>,
    generation: watch::Sender<u64>,
}

impl Default for RunTools {
    fn default() -> Self {
        RunTools {
            tools: RwLock::new(Arc::new(BTreeMap::new())),
            generation: watch::channel(0).0,
        }
    }
}

impl RunTools {
    /// Replaces the tools with those for `workflows`; returns whether
    /// anything a client sees changed (and if so bumps the generation).
    pub(crate) fn update(&self, workflows: &[pb::Workflow]) -> bool {
        let mut next = BTreeMap::new();
        for workflow in workflows {
            let Some(tool) = run_tool(workflow) else {
                continue;
            };
            let name = tool.tool.name.to_string();
            if next.contains_key(&name) {
                tracing::warn!(
                    workflow = %workflow.id,
                    tool = %name,
                    "two workflows map to the same tool name; only the first gets a tool"
                );
                continue;
            }
            next.insert(name, tool);
        }
        let changed = {
            let mut current = self.tools.write();
            if **current == next {
                false
            } else {
                *current = Arc::new(next);
                true
            }
        };
        if changed {
            self.generation.send_modify(|g| *g += 1);
        }
        changed
    }

    /// The current tools, ordered by name.
    pub(crate) fn tools(&self) -> Vec<Tool> {
        self.snapshot().values().map(|t| t.tool.clone()).collect()
    }

    /// The tool named `name`, if it is a current `run_<id>` tool.
    pub(crate) fn get(&self, name: &str) -> Option<RunTool> {
        self.snapshot().get(name).cloned()
    }

    /// The name of the tool that runs `workflow_id`, if it has one.
    pub(crate) fn tool_name_of(&self, workflow_id: &str) -> Option<String> {
        self.snapshot()
            .iter()
            .find(|(_, t)| t.workflow_id == workflow_id)
            .map(|(name, _)| name.clone())
    }

    /// A receiver that wakes on every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn snapshot(&self) -> Arc<BTreeMap<String, RunTool>> {
        self.tools.read().clone()
    }
}

/// `run_` + the workflow id with every character a tool name may not
/// contain replaced by `_`; None when that leaves nothing usable.
pub(crate) fn tool_name(workflow_id: &str) -> Option<String> {
    let cleaned: String = workflow_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{RUN_PREFIX}{cleaned}");
    (!cleaned.is_empty() && name.len() <= MAX_TOOL_NAME).then_some(name)
}

/// The workflow's input JSON Schema as agents see it: parsed, with the
/// program's titles and descriptions marked as the program's
/// ([`provenance::mark_input_schema`]); None when the daemon sent something
/// that is not a JSON object.
pub(crate) fn input_schema(workflow: &pb::Workflow) -> Option<JsonObject> {
    match serde_json::from_str::<Value>(&workflow.input_json_schema) {
        Ok(Value::Object(mut schema)) => {
            provenance::mark_input_schema(&mut schema);
            Some(schema)
        }
        Ok(_) | Err(_) => None,
    }
}

/// The `run_<id>` tool of one workflow.
fn run_tool(workflow: &pb::Workflow) -> Option<RunTool> {
    let name = tool_name(&workflow.id)?;
    let Some(mut schema) = input_schema(workflow) else {
        tracing::warn!(workflow = %workflow.id, "input schema is not a JSON object; no run tool");
        return None;
    };
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        tracing::warn!(workflow = %workflow.id, "input schema root is not an object; no run tool");
        return None;
    }
    let properties = schema
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()?;
    let takes_wait = !properties.contains_key(WAIT_ARGUMENT);
    if !takes_wait {
        tracing::warn!(
            workflow = %workflow.id,
            "the workflow has an input named {WAIT_ARGUMENT}; its run tool cannot wait"
        );
    } else {
        properties.insert(
            WAIT_ARGUMENT.to_string(),
            json!({
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_WAIT_SECONDS,
                "description": format!(
                    "Not an input of the workflow: seconds (at most {MAX_WAIT_SECONDS}) to wait \
                     for the run to finish, with progress notifications, before returning. \
                     Omit or 0 to return at once with the execution id."
                ),
            }),
        );
    }
    let takes_namespace = !properties.contains_key(NAMESPACE_ARGUMENT);
    if !takes_namespace {
        tracing::warn!(
            workflow = %workflow.id,
            "the workflow has an input named {NAMESPACE_ARGUMENT}; its run tool starts it in the \
             token's only namespace, else default"
        );
    } else {
        properties.insert(
            NAMESPACE_ARGUMENT.to_string(),
            json!({
                "type": "string",
                "description": "Not an input of the workflow: the namespace to run it in; the \
                    workflow must belong to it. Omit for your token's only namespace, else \
                    `default`.",
            }),
        );
    }
    // The daemon's words first; the program's name and description only
    // after them, marked and quoted.
    let mut description = format!(
        "Start the workflow {:?}: the daemon runs its program on the daemon's host with these \
         arguments as its inputs (in the namespace given, if any). Returns the execution id at \
         once (or after wait_seconds); follow it with get_workflow_status and \
         get_workflow_logs.\n{}",
        workflow.id,
        provenance::program_text("Name", &workflow.name)
    );
    if !workflow.description.is_empty() {
        description.push('\n');
        description.push_str(&provenance::program_description(&workflow.description));
    }
    // The title (shown to the user who approves the call) holds only the
    // sanitised id, never the program's own words.
    let title = format!("Run workflow {}", &name[RUN_PREFIX.len()..]);
    let tool = Tool::new(name, description, Arc::new(schema))
        .with_title(title)
        .with_raw_output_schema(schema_for_output::<ExecuteOutput>())
        // As execute_workflow's: it runs a program, so clients must ask first.
        .with_annotations(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .idempotent(false)
                .open_world(true),
        );
    Some(RunTool {
        workflow_id: workflow.id.clone(),
        takes_wait,
        takes_namespace,
        tool,
    })
}

/// What a `run_<id>` tool was called with, its own arguments taken out.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RunArguments {
    /// The workflow's inputs.
    pub(crate) inputs: JsonObject,
    /// `wait_seconds`.
    pub(crate) wait_seconds: Option<u32>,
    /// `namespace`; empty when omitted.
    pub(crate) namespace: String,
}

impl RunTool {
    /// Splits a call's arguments into the workflow's inputs and the tool's
    /// own (`wait_seconds`, `namespace`), checking the latter's types; the
    /// daemon checks the rest (the inputs, and the namespace as
    /// execute_workflow's).
    pub(crate) fn arguments(
        &self,
        arguments: Option<JsonObject>,
    ) -> Result<RunArguments, ToolError> {
        let mut inputs = arguments.unwrap_or_default();
        let mut violations = Vec::new();
        let mut wait_seconds = None;
        if self.takes_wait {
            match inputs.remove(WAIT_ARGUMENT) {
                None | Some(Value::Null) => {}
                Some(value) => match value.as_u64() {
                    Some(seconds) => {
                        wait_seconds = Some(u32::try_from(seconds).unwrap_or(u32::MAX))
                    }
                    None => violations.push(Violation {
                        field: WAIT_ARGUMENT.to_string(),
                        description: "must be a whole number of seconds".to_string(),
                    }),
                },
            }
        }
        let mut namespace = String::new();
        if self.takes_namespace {
            match inputs.remove(NAMESPACE_ARGUMENT) {
                None | Some(Value::Null) => {}
                Some(Value::String(name)) => namespace = name,
                Some(_) => violations.push(Violation {
                    field: NAMESPACE_ARGUMENT.to_string(),
                    description: "must be a string".to_string(),
                }),
            }
        }
        if !violations.is_empty() {
            return Err(ToolError::InvalidInput { violations });
        }
        Ok(RunArguments {
            inputs,
            wait_seconds,
            namespace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(id: &str, schema: &str) -> pb::Workflow {
        pb::Workflow {
            id: id.into(),
            name: id.to_uppercase(),
            input_json_schema: schema.into(),
            ..Default::default()
        }
    }

    const SCHEMA: &str = r#"{"type":"object","properties":{"name":{"type":"string"}},
        "required":[],"additionalProperties":false}"#;

    #[test]
    fn tool_names_are_sanitized() {
        assert_eq!(tool_name("hello").as_deref(), Some("run_hello"));
        assert_eq!(tool_name("a b/c").as_deref(), Some("run_a_b_c"));
        assert_eq!(tool_name(""), None);
        assert_eq!(tool_name(&"x".repeat(200)), None);
    }

    #[test]
    fn run_tools_take_the_workflow_schema_plus_wait() {
        let tool = run_tool(&workflow("hello", SCHEMA)).unwrap();
        let properties = tool.tool.input_schema["properties"].as_object().unwrap();
        assert!(properties.contains_key("name"));
        assert!(properties.contains_key(WAIT_ARGUMENT));
        assert!(properties.contains_key(NAMESPACE_ARGUMENT));
        assert!(tool.takes_wait && tool.takes_namespace);
        assert!(tool.tool.output_schema.is_some());
        assert!(run_tool(&workflow("bad", "not json")).is_none());
        assert!(run_tool(&workflow("list", "[]")).is_none());
    }

    #[test]
    fn the_tools_own_arguments_are_taken_out_of_the_inputs_and_checked() {
        let tool = run_tool(&workflow("hello", SCHEMA)).unwrap();
        let call = |arguments: Value| tool.arguments(arguments.as_object().cloned());
        let split = call(json!({"name": "x", "wait_seconds": 5, "namespace": "team-a"})).unwrap();
        assert_eq!(
            split,
            RunArguments {
                inputs: json!({"name": "x"}).as_object().unwrap().clone(),
                wait_seconds: Some(5),
                namespace: "team-a".into(),
            }
        );
        assert_eq!(tool.arguments(None).unwrap(), RunArguments::default());
        assert_eq!(
            call(json!({"namespace": null})).unwrap(),
            RunArguments::default()
        );
        let Err(ToolError::InvalidInput { violations }) =
            call(json!({"namespace": 7, "wait_seconds": "soon"}))
        else {
            panic!("not a string, not seconds");
        };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, [WAIT_ARGUMENT, NAMESPACE_ARGUMENT]);

        // A workflow with an input of that name keeps it as its input.
        let own = r#"{"type":"object","properties":{"namespace":{"type":"string"}}}"#;
        let tool = run_tool(&workflow("own", own)).unwrap();
        assert!(!tool.takes_namespace && tool.takes_wait);
        let split = tool
            .arguments(json!({"namespace": "mine"}).as_object().cloned())
            .unwrap();
        assert_eq!((split.inputs.len(), split.namespace.as_str()), (1, ""));
    }

    #[test]
    fn updates_report_changes_once() {
        let run_tools = RunTools::default();
        let mut changes = run_tools.subscribe();
        assert!(run_tools.update(&[workflow("hello", SCHEMA)]));
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        assert!(!run_tools.update(&[workflow("hello", SCHEMA)]));
        assert!(!changes.has_changed().unwrap());
        assert_eq!(run_tools.get("run_hello").unwrap().workflow_id, "hello");
        assert_eq!(
            run_tools.tool_name_of("hello").as_deref(),
            Some("run_hello")
        );
        assert!(run_tools.update(&[]));
        assert!(run_tools.tools().is_empty());
    }
}
