//! `wfctl manifest create` and `wfctl manifest generate DISK OUT_DIR`:
//! writing a single-VM pipeline manifest (the seed's format) on the client
//! side, checked with the same validator the daemon runs.
//!
//! `create` walks hyperctl's four steps ([`wizard`]); every answer can also
//! be given as a flag, and without a terminal on stdin (or with
//! `-non-interactive`) the flags are all there is, so scripts never block on
//! a prompt. [`draft`] is the manifest being built, [`prompt`] the prompt
//! toolkit, [`file`](mod@file) where the result is written. The flags of both verbs
//! are declared once, in [`FLAGS`].

pub(crate) mod draft;
pub(crate) mod file;
mod prompt;
pub(crate) mod step;
mod wizard;

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

use self::{
    draft::{absolute_text, Draft},
    file::{file_format, write_manifest, Written},
    prompt::Prompter,
    wizard::Wizard,
};
use super::{
    args::GlobalArgs,
    context::Ctx,
    error::CliError,
    go_flags::{self, Flag, Form, GoFlags, Takes},
    manifests::{self, ManifestFile},
    render::PrintFormat,
};
use crate::manifest::{
    self,
    pipeline::{BOOT_ACCELERATORS, FIX_LEVELS, FSTAB_MODES, OUTPUT_FORMATS, SOURCE_TYPES},
};

/// A flag that takes a value.
const fn value(name: &'static str, shown: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        takes: Takes::Value(shown),
        help,
    }
}

/// A flag that takes one of the manifest's own values.
const fn one_of(
    name: &'static str,
    shown: &'static str,
    allowed: &'static [&'static str],
    help: &'static str,
) -> Flag {
    Flag {
        name,
        takes: Takes::OneOf(shown, allowed),
        help,
    }
}

/// A boolean flag.
const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        takes: Takes::Bool,
        help,
    }
}

/// The flags of `manifest create` and `manifest generate`: every answer of
/// the four steps, and what to do with the result.
pub(crate) const FLAGS: &[Flag] = &[
    switch(
        "interactive",
        "create: ask, even without a terminal on stdin",
    ),
    switch("non-interactive", "create: never ask; the flags are all"),
    value(
        "source-path",
        "P",
        "create: the disk (or OVA/OVF) to convert",
    ),
    one_of(
        "source-type",
        "T",
        SOURCE_TYPES,
        "the source type (else from the extension)",
    ),
    value("name", "N", "the VM's name (else the source file's stem)"),
    value("ami-id", "ID", "the AMI id, for source type ami"),
    switch("inspect", "the INSPECT stage, with OS detection"),
    switch("fix", "the FIX stage: fstab, grub, initramfs, network"),
    one_of("fstab-mode", "M", FSTAB_MODES, "how FIX rewrites fstab"),
    one_of(
        "network-fix-level",
        "L",
        FIX_LEVELS,
        "how much FIX changes the network",
    ),
    one_of(
        "output-format",
        "F",
        OUTPUT_FORMATS,
        "the converted disk's format",
    ),
    switch("compress", "compress the output (qcow2 only)"),
    value(
        "output-path",
        "P",
        "where the converted disk goes (else the daemon's output directory)",
    ),
    switch(
        "validate",
        "the VALIDATE stage (qemu-img check and compare)",
    ),
    switch("boot-test", "boot the result under qemu in VALIDATE"),
    value(
        "boot-test-seconds",
        "N",
        "how long the boot test lets the guest run",
    ),
    one_of(
        "boot-accel",
        "A",
        &BOOT_ACCELERATORS,
        "the boot test's qemu accelerator",
    ),
    value(
        "file",
        "F",
        "create: write the manifest to F (else print it)",
    ),
    value(
        "format",
        "json|yaml",
        "the manifest's encoding (else from the file's extension)",
    ),
    switch("force", "overwrite an existing file"),
    switch("submit", "submit the manifest to the daemon afterwards"),
    switch("wait", "with -submit: wait until every execution ends"),
    value("request-id", "R", "with -submit: the idempotency key"),
    Flag {
        help: "with -submit: the namespace to start in (default: the token's only namespace, \
               else default)",
        ..go_flags::NAMESPACE
    },
    go_flags::ADDR,
    go_flags::JSON,
];

/// `wfctl manifest create`.
pub(crate) const CREATE: Form = Form {
    synopsis: "wfctl manifest create [-interactive|-non-interactive] [flags]",
    flags: FLAGS,
};

/// `wfctl manifest generate DISK OUT_DIR`.
pub(crate) const GENERATE: Form = Form {
    synopsis: "wfctl manifest generate DISK OUT_DIR [flags]",
    flags: FLAGS,
};

/// The problems as a CLI error (exit code 5), one `path: message` line each.
fn invalid(what: &str, problems: Vec<manifest::Problem>) -> CliError {
    CliError::InvalidArgument {
        message: format!("{what} would not be a valid manifest"),
        violations: problems.into_iter().map(|p| (p.path, p.message)).collect(),
    }
}

/// Writes the manifest to `path` (kept when it exists, unless `-force`),
/// then finishes as [`finish`] does.
async fn save_and_finish(
    globals: &GlobalArgs,
    flags: &GoFlags,
    text: String,
    path: PathBuf,
) -> Result<(), CliError> {
    write_manifest(&path, &text, flags.switch("force"))?;
    finish(
        globals,
        flags,
        text,
        Written::File(path),
        flags.switch("submit"),
    )
    .await
}

/// Submits the manifest when asked; the written path (or the manifest
/// itself) has already gone to stdout.
async fn finish(
    globals: &GlobalArgs,
    flags: &GoFlags,
    text: String,
    written: Written,
    submit: bool,
) -> Result<(), CliError> {
    if let Written::File(path) = &written {
        eprintln!("wfctl: manifest written to {}", path.display());
        // stdout holds the data: the file written, or what the submit prints.
        if !submit {
            println!("{}", path.display());
        }
    }
    if !submit {
        return Ok(());
    }
    let ctx = Ctx::connect(globals).await?;
    let file = ManifestFile {
        content: text.into_bytes(),
        file_name: written.file_name(),
    };
    manifests::submit(&ctx, file, &manifests::Submission::of(flags)).await
}

/// `wfctl manifest create`; `globals` has the form's `-addr` and `-json`
/// applied.
pub(crate) async fn create(globals: &GlobalArgs, flags: &GoFlags) -> Result<(), CliError> {
    if let Some(extra) = flags.positionals.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument {extra:?}\n{}",
            CREATE.usage()
        )));
    }
    if flags.switch("interactive") && flags.switch("non-interactive") {
        return Err(CliError::Usage(
            "-interactive and -non-interactive contradict each other".into(),
        ));
    }
    let draft = Draft::from_flags(flags)?;
    let interactive = flags.switch("interactive")
        || (!flags.switch("non-interactive") && std::io::stdin().is_terminal());
    if interactive {
        let stdin = std::io::stdin();
        let prompter = Prompter::new(stdin.lock(), std::io::stderr());
        let mut wizard = Wizard::new(prompter, draft, flags);
        let Some((text, path, submit)) = wizard.run()? else {
            eprintln!("wfctl: manifest creation cancelled; nothing was written");
            return Ok(());
        };
        let submit = submit || flags.switch("submit");
        return finish(globals, flags, text, Written::File(path), submit).await;
    }
    if draft.source_path.is_none() {
        return Err(CliError::Usage(format!(
            "manifest create needs -source-path when it does not prompt (stdin is not a terminal, \
             or -non-interactive); give -interactive to answer the prompts from stdin\n{}",
            CREATE.usage()
        )));
    }
    let file = flags.value("file").map(PathBuf::from);
    let format = match (&file, flags.value("format"), globals.output) {
        // Printed on stdout: `-o yaml` asks for YAML too.
        (None, None, PrintFormat::Yaml) => manifest::Format::Yaml,
        _ => file_format(flags, file.as_deref())?,
    };
    let (text, problems) = draft.render(format);
    if !problems.is_empty() {
        return Err(invalid("the flags given", problems));
    }
    match file {
        Some(path) => save_and_finish(globals, flags, text, path).await,
        None => {
            // No file: the manifest itself is the output.
            if flags.switch("submit") {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            let submit = flags.switch("submit");
            finish(globals, flags, text, Written::Stdout(format), submit).await
        }
    }
}

/// `wfctl manifest generate DISK OUT_DIR`: hyperctl's defaults for one disk
/// written to `OUT_DIR/<stem>-manifest.json`; prints that path.
pub(crate) async fn generate(globals: &GlobalArgs, flags: &GoFlags) -> Result<(), CliError> {
    let [disk, out_dir] = flags.positionals.as_slice() else {
        return Err(CliError::Usage(format!(
            "manifest generate needs DISK and OUT_DIR\n{}",
            GENERATE.usage()
        )));
    };
    if flags.value("source-path").is_some() {
        return Err(CliError::Usage(format!(
            "manifest generate takes the disk as DISK, not -source-path\n{}",
            GENERATE.usage()
        )));
    }
    let disk_path = Path::new(disk);
    let metadata = std::fs::metadata(disk_path)
        .map_err(|e| CliError::Usage(format!("cannot read {disk}: {e}")))?;
    if !metadata.is_file() {
        return Err(CliError::Usage(format!("{disk} is not a disk image file")));
    }
    let mut draft = Draft::from_flags(flags)?;
    // Absolute but not resolved: a link's own name names the VM.
    draft.source_path = Some(absolute_text(disk));
    if draft.effective_source_type().is_none() {
        return Err(CliError::Usage(format!(
            "cannot tell the source type of {disk} from its extension; give -source-type ({})",
            SOURCE_TYPES.join(", ")
        )));
    }
    let stem = draft.effective_name().unwrap_or_else(|| "vm".into());
    let format = file_format(flags, None)?;
    let path = Path::new(out_dir).join(format!("{stem}-manifest.{}", format.extension()));
    let (text, problems) = draft.render(format);
    if !problems.is_empty() {
        return Err(invalid(&format!("the manifest for {disk}"), problems));
    }
    save_and_finish(globals, flags, text, path).await
}
