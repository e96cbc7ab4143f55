//! `wfctl manifest validate|submit|status` (and the routing of `create`
//! and `generate` to [`crate::cli::manifest_builder`]): hyperctl's manifest
//! form.

use super::{file_flag, is_help, usage_error};
use crate::cli::{
    args::GlobalArgs,
    context::Ctx,
    error::CliError,
    go_flags::{self, Flag, Form, Takes},
    manifest_builder, manifests,
    render::execution::print_execution,
};

/// `wfctl manifest validate|submit|status ...` (create and generate have
/// their own, [`manifest_builder::CREATE`] and [`manifest_builder::GENERATE`]).
pub(super) const MANIFEST: Form = Form {
    synopsis: "wfctl manifest validate -file F [flags]
wfctl manifest submit -file F [-namespace N] [flags]
wfctl manifest status -id ID [flags]
wfctl manifest create [flags]    (see wfctl manifest create -help)
wfctl manifest generate DISK OUT_DIR [flags]",
    flags: &[
        Flag {
            name: "file",
            takes: Takes::Value("F"),
            help: "validate, submit: the manifest file (JSON or YAML)",
        },
        Flag {
            name: "dir",
            takes: Takes::Value("D"),
            help: "the directory a relative -file is in",
        },
        Flag {
            name: "id",
            takes: Takes::Value("ID"),
            help: "status: the execution",
        },
        Flag {
            name: "request-id",
            takes: Takes::Value("R"),
            help: "submit: idempotency key; a repeated submit returns the same executions",
        },
        Flag {
            name: "wait",
            takes: Takes::Bool,
            help: "submit: wait until every execution ends; exit 1 unless all SUCCEEDED",
        },
        Flag {
            help: "submit: the namespace to start in (default: the token's only namespace, \
                   else default)",
            ..go_flags::NAMESPACE
        },
        Flag {
            name: "output",
            takes: Takes::Value("DIR"),
            help: "hyperctl's; accepted and ignored (the manifest says where output goes)",
        },
        Flag {
            name: "dry-run",
            takes: Takes::Bool,
            help: "hyperctl's; accepted and ignored (validate checks without running)",
        },
        go_flags::ADDR,
        go_flags::JSON,
    ],
};
/// `wfctl manifest ...`: routes `create` and `generate` to the builder,
/// runs `validate`, `submit` and `status`.
pub(super) async fn run(globals: &GlobalArgs, args: &[String]) -> Result<(), CliError> {
    if args.is_empty() || is_help(args) {
        match args.first().map(String::as_str) {
            Some("create") => println!("{}", manifest_builder::CREATE.usage()),
            Some("generate") => println!("{}", manifest_builder::GENERATE.usage()),
            _ => println!("{}", MANIFEST.usage()),
        }
        return if args.is_empty() {
            Err(CliError::Usage("manifest needs a verb".to_string()))
        } else {
            Ok(())
        };
    }
    // create and generate take their own flags (the manifest's answers).
    match args[0].as_str() {
        "create" => {
            let flags = manifest_builder::CREATE.parse(&args[1..])?;
            return manifest_builder::create(&flags.apply_to(globals), &flags).await;
        }
        "generate" => {
            let flags = manifest_builder::GENERATE.parse(&args[1..])?;
            return manifest_builder::generate(&flags.apply_to(globals), &flags).await;
        }
        _ => {}
    }
    let flags = MANIFEST.parse(args)?;
    let Some((verb, rest)) = flags.positionals.split_first() else {
        return Err(usage_error("manifest needs a verb", &MANIFEST));
    };
    if !matches!(verb.as_str(), "status" | "validate" | "submit") {
        return Err(usage_error(
            &format!("unknown manifest verb {verb:?}"),
            &MANIFEST,
        ));
    }
    if let Some(extra) = rest.first() {
        return Err(usage_error(
            &format!("unexpected argument {extra:?}"),
            &MANIFEST,
        ));
    }
    let globals = flags.apply_to(globals);
    if verb == "status" {
        let id = flags
            .value("id")
            .ok_or_else(|| usage_error("manifest status needs -id ID", &MANIFEST))?;
        let ctx = Ctx::connect(&globals).await?;
        print_execution(ctx.output, &ctx.get_execution(id).await?);
        return Ok(());
    }
    let path = file_flag(&flags)
        .ok_or_else(|| usage_error(&format!("manifest {verb} needs -file F"), &MANIFEST))?;
    let file = manifests::read(&path)?;
    let ctx = Ctx::connect(&globals).await?;
    if verb == "validate" {
        manifests::validate(&ctx, &path, file).await
    } else {
        manifests::submit(&ctx, file, &manifests::Submission::of(&flags)).await
    }
}
