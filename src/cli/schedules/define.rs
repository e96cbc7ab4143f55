//! A schedule from the flags of `schedule create|update` (and hyperctl's
//! `schedules create`): the spec, the one action, the policies. What the
//! daemon checks (the cron expressions, the time zone, the workflow and
//! its inputs, the manifest) goes as given; here only what the command
//! line itself gets wrong is a usage error.

use crate::cli::{
    args::ScheduleDefinitionArgs,
    error::CliError,
    input::{collect_inputs, collect_labels, parse_duration, parse_time},
};
use crate::pb::{self, schedule_action::Action, schedule_manifest::Source};

/// The schedule `id` the flags describe. `dashes` is how the flags are
/// written in messages: `--` for the native verbs, `-` for hyperctl's.
pub(crate) fn schedule(
    id: &str,
    args: &ScheduleDefinitionArgs,
    dashes: &str,
) -> Result<pb::Schedule, CliError> {
    let duration = |text: &Option<String>, flag: &str| {
        text.as_deref()
            .map(|t| parse_duration(t, &format!("{dashes}{flag}")))
            .transpose()
    };
    let time = |text: &Option<String>, flag: &str| {
        text.as_deref()
            .map(|t| parse_time(t, &format!("{dashes}{flag}")))
            .transpose()
    };
    let spec = pb::ScheduleSpec {
        cron: args.cron.clone(),
        time_zone: args.timezone.clone().unwrap_or_default(),
        jitter: duration(&args.jitter, "jitter")?,
        start_time: time(&args.start, "start")?,
        end_time: time(&args.end, "end")?,
    };
    let overlap_policy = match args.overlap.as_deref() {
        Some(name) => overlap_policy(name, dashes)?,
        None => pb::ScheduleOverlapPolicy::Unspecified,
    };
    let catch_up_policy = match args.catch_up.as_deref() {
        Some(name) => catch_up_policy(name, dashes)?,
        None => pb::ScheduleCatchUpPolicy::Unspecified,
    };
    Ok(pb::Schedule {
        id: id.to_string(),
        spec: Some(spec),
        action: Some(action(args, dashes)?),
        overlap_policy: overlap_policy as i32,
        catch_up_policy: catch_up_policy as i32,
        catch_up_window: duration(&args.catch_up_window, "catch-up-window")?,
        description: args.description.clone().unwrap_or_default(),
        namespace: args.namespace.clone().unwrap_or_default(),
        ..Default::default()
    })
}

/// The one action the flags name: `--workflow` (with its inputs and
/// timeout), `--manifest` (its content sent now) or `--manifest-template`
/// (its absolute path sent, the file read by the daemon at each run).
fn action(args: &ScheduleDefinitionArgs, dashes: &str) -> Result<pb::ScheduleAction, CliError> {
    let usage = |text: &str| CliError::Usage(text.replace("--", dashes));
    let named = [
        args.workflow.is_some(),
        args.manifest.is_some(),
        args.manifest_template.is_some(),
    ];
    if named.iter().filter(|n| **n).count() != 1 {
        return Err(usage(
            "a schedule does one thing: give one of --workflow ID, --manifest FILE or \
             --manifest-template PATH",
        ));
    }
    let labels = collect_labels(&args.labels)?;
    if let Some(workflow_id) = &args.workflow {
        if args.output_dir.is_some() {
            return Err(usage(
                "--output-dir goes with --manifest or --manifest-template",
            ));
        }
        return Ok(pb::ScheduleAction {
            action: Some(Action::Execute(pb::ScheduleExecute {
                workflow_id: workflow_id.clone(),
                inputs: collect_inputs(args.inputs_file.as_deref(), &args.inputs)?,
                timeout: args
                    .timeout
                    .as_deref()
                    .map(|t| parse_duration(t, &format!("{dashes}timeout")))
                    .transpose()?,
                labels,
                ..Default::default()
            })),
        });
    }
    if !args.inputs.is_empty() || args.inputs_file.is_some() || args.timeout.is_some() {
        return Err(usage(
            "--input, --inputs-file and --timeout go with --workflow",
        ));
    }
    let source = match (&args.manifest, &args.manifest_template) {
        (Some(path), _) => Source::Content(
            std::fs::read(path)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?,
        ),
        // The daemon resolves nothing relative to where wfctl runs.
        (None, Some(path)) => Source::TemplatePath(
            std::path::absolute(path)
                .map_err(|e| CliError::Usage(format!("{dashes}manifest-template: {e}")))?
                .to_string_lossy()
                .into_owned(),
        ),
        (None, None) => unreachable!("one action is named"),
    };
    Ok(pb::ScheduleAction {
        action: Some(Action::Manifest(pb::ScheduleManifest {
            source: Some(source),
            format: pb::ManifestFormat::Detect as i32,
            output_dir: args.output_dir.clone().unwrap_or_default(),
            labels,
        })),
    })
}

/// The overlap policy a flag names (one of [`crate::cli::args::OVERLAP_POLICIES`]).
pub(crate) fn overlap_policy(
    name: &str,
    dashes: &str,
) -> Result<pb::ScheduleOverlapPolicy, CliError> {
    pb::ScheduleOverlapPolicy::from_str_name(&enum_name("SCHEDULE_OVERLAP_POLICY_", name))
        .filter(|p| *p != pb::ScheduleOverlapPolicy::Unspecified)
        .ok_or_else(|| CliError::Usage(format!("unknown {dashes}overlap {name:?}")))
}

/// The catch-up policy a flag names (one of [`crate::cli::args::CATCH_UP_POLICIES`]).
pub(crate) fn catch_up_policy(
    name: &str,
    dashes: &str,
) -> Result<pb::ScheduleCatchUpPolicy, CliError> {
    pb::ScheduleCatchUpPolicy::from_str_name(&enum_name("SCHEDULE_CATCH_UP_POLICY_", name))
        .filter(|p| *p != pb::ScheduleCatchUpPolicy::Unspecified)
        .ok_or_else(|| CliError::Usage(format!("unknown {dashes}catch-up {name:?}")))
}

/// `buffer-one` as the proto enum value's name, `PREFIX_BUFFER_ONE`.
fn enum_name(prefix: &str, flag_value: &str) -> String {
    format!(
        "{prefix}{}",
        flag_value.trim().to_ascii_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{CATCH_UP_POLICIES, OVERLAP_POLICIES};

    #[test]
    fn every_policy_the_flags_offer_is_a_proto_value() {
        for name in OVERLAP_POLICIES {
            overlap_policy(name, "--").unwrap();
        }
        for name in CATCH_UP_POLICIES {
            catch_up_policy(name, "--").unwrap();
        }
        assert_eq!(
            overlap_policy("buffer-one", "--").unwrap(),
            pb::ScheduleOverlapPolicy::BufferOne
        );
        assert!(overlap_policy("unspecified", "--").is_err());
    }

    fn workflow_args() -> ScheduleDefinitionArgs {
        ScheduleDefinitionArgs {
            cron: vec!["0 2 * * *".into()],
            workflow: Some("hello".into()),
            inputs: vec!["name=night".into()],
            timeout: Some("1h".into()),
            jitter: Some("30s".into()),
            overlap: Some("allow-all".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_flags_become_the_schedule() {
        let schedule = schedule("nightly", &workflow_args(), "--").unwrap();
        assert_eq!(schedule.id, "nightly");
        let spec = schedule.spec.clone().unwrap();
        assert_eq!(spec.cron, ["0 2 * * *"]);
        assert_eq!(spec.jitter.unwrap().seconds, 30);
        assert_eq!(
            schedule.overlap_policy(),
            pb::ScheduleOverlapPolicy::AllowAll
        );
        let Some(Action::Execute(execute)) = schedule.action.unwrap().action else {
            panic!("an execute action");
        };
        assert_eq!(execute.timeout.unwrap().seconds, 3600);
        assert_eq!(execute.inputs["name"], prost_types::Value::from("night"));
    }

    #[test]
    fn one_action_and_only_its_flags() {
        let mut both = workflow_args();
        both.manifest_template = Some("t.json".into());
        let error = schedule("s", &both, "-").unwrap_err().to_string();
        assert!(
            error.contains("-workflow ID") && !error.contains("--"),
            "{error}"
        );

        let mut template = ScheduleDefinitionArgs {
            cron: vec!["@daily".into()],
            manifest_template: Some("t.json".into()),
            output_dir: Some("nightly".into()),
            ..Default::default()
        };
        let made = schedule("s", &template, "--").unwrap();
        let Some(Action::Manifest(manifest)) = made.action.unwrap().action else {
            panic!("a manifest action");
        };
        let Some(Source::TemplatePath(path)) = manifest.source else {
            panic!("a template");
        };
        assert!(path.starts_with('/') && path.ends_with("/t.json"), "{path}");
        assert_eq!(manifest.output_dir, "nightly");

        template.timeout = Some("1h".into());
        let error = schedule("s", &template, "--").unwrap_err().to_string();
        assert!(error.contains("--timeout go with --workflow"), "{error}");
    }
}
