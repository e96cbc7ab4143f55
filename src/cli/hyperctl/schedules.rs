//! `wfctl schedules create|list|describe|pause|unpause|trigger|delete`:
//! HyperSDK's schedule form, as the Go hyperctl takes it
//! (`hyperctl schedules create nightly '0 2 * * *' -workflow-mode manifest
//! -manifest-template F -output DIR`), each verb handed to the native one
//! in [`crate::cli::schedules`]. `get`, `disable` and `enable` are
//! HyperSDK's names for describe, pause and unpause.

use super::{is_help, usage_error};
use crate::cli::{
    args::{GlobalArgs, ScheduleDefinitionArgs, CATCH_UP_POLICIES, OVERLAP_POLICIES},
    context::Ctx,
    error::CliError,
    go_flags::{self, Flag, Form, GoFlags, Takes},
    schedules::{create, define, delete, describe, list, pause, trigger},
};

/// `wfctl schedules ...`: one table of flags for every verb, as hyperctl
/// has it; each flag's help says which verbs read it.
pub(super) const SCHEDULES: Form = Form {
    synopsis: "wfctl schedules create NAME CRON [CRON...] -workflow-mode workflow -workflow ID [-input k=v ...] [flags]
wfctl schedules create NAME CRON [CRON...] -workflow-mode manifest -manifest-template FILE [-output DIR] [flags]
wfctl schedules list [-json]
wfctl schedules describe NAME [-next N] [-runs N] [-json]   (or get)
wfctl schedules pause NAME [-note TEXT] [-json]              (or disable)
wfctl schedules unpause NAME [-note TEXT] [-json]            (or enable)
wfctl schedules trigger NAME [-request-id R] [-json]
wfctl schedules delete NAME",
    flags: &[
        Flag {
            name: "workflow-mode",
            takes: Takes::OneOf("MODE", &["workflow", "manifest"]),
            help: "create: what each run does (default: the one the other flags name)",
        },
        Flag {
            name: "workflow",
            takes: Takes::Value("ID"),
            help: "create, workflow mode: the workflow to execute",
        },
        Flag {
            name: "input",
            takes: Takes::Value("NAME=VALUE"),
            help: "create, workflow mode: an input value (repeatable)",
        },
        Flag {
            name: "timeout",
            takes: Takes::Value("D"),
            help: "create, workflow mode: wall-clock limit of each execution (e.g. 10m)",
        },
        Flag {
            name: "manifest-template",
            takes: Takes::Value("FILE"),
            help: "create, manifest mode: manifest file the daemon reads again at each run \
                   (inside its source roots)",
        },
        Flag {
            name: "output",
            takes: Takes::Value("DIR"),
            help: "create, manifest mode: output directory of each run's VMs (inside the \
                   daemon's output directory)",
        },
        Flag {
            name: "label",
            takes: Takes::Value("KEY=VALUE"),
            help: "create: a label of each execution (repeatable)",
        },
        Flag {
            name: "timezone",
            takes: Takes::Value("TZ"),
            help: "create: IANA time zone of the cron expressions (default UTC)",
        },
        Flag {
            name: "jitter",
            takes: Takes::Value("D"),
            help: "create: start each run up to this much after its time",
        },
        Flag {
            name: "overlap",
            takes: Takes::OneOf("POLICY", OVERLAP_POLICIES),
            help: "create: when the previous run still goes (default skip)",
        },
        Flag {
            name: "catch-up",
            takes: Takes::OneOf("POLICY", CATCH_UP_POLICIES),
            help: "create: times missed while the daemon was down (default start-one)",
        },
        Flag {
            name: "catch-up-window",
            takes: Takes::Value("D"),
            help: "create: with start-one, how old a missed time may be (default 1h)",
        },
        Flag {
            name: "description",
            takes: Takes::Value("TEXT"),
            help: "create: free text for people",
        },
        Flag {
            name: "note",
            takes: Takes::Value("TEXT"),
            help: "pause, unpause: why",
        },
        Flag {
            name: "request-id",
            takes: Takes::Value("R"),
            help: "trigger: idempotency key; a repeated trigger returns the same run",
        },
        Flag {
            name: "next",
            takes: Takes::Value("N"),
            help: "describe: how many next fire times (daemon default 5)",
        },
        Flag {
            name: "runs",
            takes: Takes::Value("N"),
            help: "describe: how many recent runs (daemon default 10)",
        },
        Flag {
            help: "create: the namespace its runs start in (default: default)",
            ..go_flags::NAMESPACE
        },
        go_flags::ADDR,
        go_flags::JSON,
    ],
};

/// The verbs of the form, HyperSDK's other names mapped to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Create,
    List,
    Describe,
    Pause,
    Unpause,
    Trigger,
    Delete,
}

impl Verb {
    fn named(name: &str) -> Option<Verb> {
        Some(match name {
            "create" => Verb::Create,
            "list" => Verb::List,
            "describe" | "get" => Verb::Describe,
            "pause" | "disable" => Verb::Pause,
            "unpause" | "enable" => Verb::Unpause,
            "trigger" => Verb::Trigger,
            "delete" => Verb::Delete,
            _ => return None,
        })
    }
}

/// `wfctl schedules VERB ...`: flags may stand before or after NAME and
/// CRON.
pub(super) async fn run(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    if args.is_empty() || is_help(args) {
        println!("{}", SCHEDULES.usage());
        return if args.is_empty() {
            Err(CliError::Usage("schedules needs a verb".to_string()))
        } else {
            Ok(())
        };
    }
    let flags = SCHEDULES.parse(args)?;
    let Some((name, operands)) = flags.positionals.split_first() else {
        return Err(usage_error("schedules needs a verb", &SCHEDULES));
    };
    let verb = Verb::named(name)
        .ok_or_else(|| usage_error(&format!("unknown schedules verb {name:?}"), &SCHEDULES))?;
    match (verb, operands.len()) {
        (Verb::Create, 0 | 1) => {
            return Err(usage_error(
                "create needs NAME and CRON (e.g. create nightly '0 2 * * *' ...)",
                &SCHEDULES,
            ))
        }
        (Verb::Create, _) | (Verb::List, 0) => {}
        (Verb::List, _) => {
            return Err(usage_error(
                &format!("unexpected arguments {operands:?}"),
                &SCHEDULES,
            ))
        }
        (_, 1) => {}
        (_, _) => {
            return Err(usage_error(
                &format!("{name} needs exactly one NAME, got {operands:?}"),
                &SCHEDULES,
            ))
        }
    }
    let count = |flag: &str| {
        flags
            .value(flag)
            .map(|text| {
                text.parse::<u16>()
                    .map_err(|_| CliError::Usage(format!("invalid value {text:?} for -{flag}")))
            })
            .transpose()
    };
    let (next, runs) = (count("next")?, count("runs")?);
    // Checked before connecting, so a usage error is one whether or not
    // the daemon is up.
    let schedule = match verb {
        Verb::Create => Some(define::schedule(
            &operands[0],
            &definition(&flags, &operands[1..])?,
            "-",
        )?),
        _ => None,
    };
    let ctx = Ctx::connect(&flags.apply_to(globals)).await?;
    let note = flags.value("note").map(str::to_string);
    let id = operands.first().map(String::as_str).unwrap_or_default();
    match verb {
        Verb::Create => create::create(&ctx, schedule.expect("create built its schedule")).await,
        Verb::List => list::list(&ctx).await,
        Verb::Describe => describe::describe(&ctx, id, next, runs).await,
        Verb::Pause => pause::pause(&ctx, id, true, note).await,
        Verb::Unpause => pause::pause(&ctx, id, false, note).await,
        Verb::Trigger => {
            let request_id = flags.value("request-id").map(str::to_string);
            trigger::trigger(&ctx, id, request_id).await
        }
        Verb::Delete => delete::delete(&ctx, id).await,
    }
}

/// What `create`'s flags and CRON operands define, after the checks of
/// `-workflow-mode` (which hyperctl makes itself).
fn definition(flags: &GoFlags, crons: &[String]) -> Result<ScheduleDefinitionArgs, CliError> {
    let has = |flag: &str| flags.value(flag).is_some();
    let mode =
        match flags.value("workflow-mode") {
            Some(mode) => mode,
            None if has("workflow") && has("manifest-template") => {
                return Err(usage_error(
                    "-workflow and -manifest-template exclude each other \
                 (-workflow-mode workflow or manifest)",
                    &SCHEDULES,
                ))
            }
            None if has("workflow") => "workflow",
            None if has("manifest-template") => "manifest",
            None => return Err(usage_error(
                "create needs -workflow-mode workflow -workflow ID, or -workflow-mode manifest \
                 -manifest-template FILE",
                &SCHEDULES,
            )),
        };
    let (needed, foreign): (&str, &[&str]) = match mode {
        "workflow" => ("workflow", &["manifest-template", "output"]),
        _ => ("manifest-template", &["workflow", "input", "timeout"]),
    };
    if !has(needed) {
        return Err(usage_error(
            &format!("-workflow-mode {mode} needs -{needed}"),
            &SCHEDULES,
        ));
    }
    if let Some(flag) = foreign.iter().find(|flag| has(flag)) {
        return Err(usage_error(
            &format!("-{flag} does not go with -workflow-mode {mode}"),
            &SCHEDULES,
        ));
    }
    let value = |flag: &str| flags.value(flag).map(str::to_string);
    Ok(ScheduleDefinitionArgs {
        cron: crons.to_vec(),
        timezone: value("timezone"),
        jitter: value("jitter"),
        workflow: value("workflow"),
        inputs: flags.values("input").to_vec(),
        timeout: value("timeout"),
        manifest_template: value("manifest-template").map(Into::into),
        output_dir: value("output"),
        labels: flags.values("label").to_vec(),
        overlap: value("overlap"),
        catch_up: value("catch-up"),
        catch_up_window: value("catch-up-window"),
        description: value("description"),
        namespace: value("namespace"),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{schedule_action::Action, schedule_manifest::Source};

    fn parse(args: &[&str]) -> GoFlags {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        SCHEDULES.parse(&args).unwrap()
    }

    #[test]
    fn hypersdks_example_makes_a_template_schedule() {
        let flags = parse(&[
            "create",
            "nightly",
            "0 2 * * *",
            "-workflow-mode",
            "manifest",
            "-manifest-template",
            "/etc/hyper2kvm/backup-template.json",
            "-output",
            "/backups/nightly",
        ]);
        let operands = &flags.positionals[1..];
        let args = definition(&flags, &operands[1..]).unwrap();
        let schedule = define::schedule(&operands[0], &args, "-").unwrap();
        assert_eq!(schedule.id, "nightly");
        assert_eq!(schedule.spec.unwrap().cron, ["0 2 * * *"]);
        let Some(Action::Manifest(manifest)) = schedule.action.unwrap().action else {
            panic!("a manifest action");
        };
        assert_eq!(
            manifest.source,
            Some(Source::TemplatePath(
                "/etc/hyper2kvm/backup-template.json".into()
            ))
        );
        assert_eq!(manifest.output_dir, "/backups/nightly");
    }

    #[test]
    fn the_mode_and_its_flags_must_agree() {
        let error = |args: &[&str]| {
            let flags = parse(args);
            definition(&flags, &["@daily".to_string()])
                .unwrap_err()
                .to_string()
        };
        assert!(error(&["-workflow-mode", "manifest", "-workflow", "w"])
            .starts_with("-workflow-mode manifest needs -manifest-template"));
        assert!(error(&["-workflow", "w", "-output", "o"])
            .starts_with("-output does not go with -workflow-mode workflow"));
        assert!(error(&[]).starts_with("create needs -workflow-mode"));
        let flags = parse(&["-workflow", "w", "-input", "a=1", "-input", "b=2"]);
        let args = definition(&flags, &["@daily".to_string()]).unwrap();
        assert_eq!(args.inputs, ["a=1", "b=2"]);
    }

    #[test]
    fn every_verb_hypersdk_names_is_one() {
        for name in [
            "create", "list", "describe", "get", "pause", "disable", "unpause", "enable",
            "trigger", "delete",
        ] {
            assert!(Verb::named(name).is_some(), "{name}");
        }
    }
}
