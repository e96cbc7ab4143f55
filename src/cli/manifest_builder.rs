//! `wfctl manifest create` and `wfctl manifest generate DISK OUT_DIR`:
//! writing a single-VM pipeline manifest (the seed's format) on the client
//! side, checked with the same validator the daemon runs.
//!
//! `create` walks hyperctl's four steps, Source, Pipeline, Output and
//! Review. Typing `back` at any prompt returns to the start of the previous
//! step with the answers given so far as the defaults; `cancel` leaves
//! without writing anything. Every answer can also be given as a flag, and
//! without a terminal on stdin (or with `-non-interactive`) the flags are all
//! there is, so scripts never block on a prompt.
//!
//! The prompts are plain lines (question on stderr, answer read from stdin)
//! rather than a terminal widget library: those need a terminal, and these
//! work the same over ssh, in a pipe (`-interactive` with answers piped in)
//! and under test.

use std::{
    io::{BufRead, IsTerminal, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;
use serde_json::{json, Value};

use super::{hyperctl::GoFlags, manifests, output::OutputFormat, CliError, Ctx, GlobalArgs};
use crate::manifest::{
    self,
    pipeline::{BOOT_ACCELERATORS, FIX_LEVELS, FSTAB_MODES, OUTPUT_FORMATS, SOURCE_TYPES},
    Context, FormatHint,
};

/// Flags of `manifest create` and `manifest generate` that take a value.
pub const VALUE_FLAGS: &[&str] = &[
    "addr",
    "name",
    "source-type",
    "source-path",
    "ami-id",
    "fstab-mode",
    "network-fix-level",
    "output-format",
    "output-path",
    "boot-test-seconds",
    "boot-accel",
    "file",
    "format",
    "request-id",
];

/// Boolean flags of `manifest create` and `manifest generate`.
pub const BOOL_FLAGS: &[&str] = &[
    "inspect",
    "fix",
    "compress",
    "validate",
    "boot-test",
    "interactive",
    "non-interactive",
    "submit",
    "wait",
    "force",
    "json",
];

/// The usage line of `manifest create`.
pub const CREATE_USAGE: &str = "usage: wfctl manifest create [-interactive|-non-interactive] \
[-source-path P] [-source-type T] [-name N] [-ami-id ID] [-inspect=BOOL] [-fix=BOOL] \
[-fstab-mode M] [-network-fix-level L] [-output-format F] [-compress=BOOL] [-output-path P] \
[-validate=BOOL] [-boot-test [-boot-test-seconds N] [-boot-accel kvm:tcg|tcg|kvm]] \
[-file F [-force]] [-format json|yaml] [-submit [-wait]]";

/// The usage line of `manifest generate`.
pub const GENERATE_USAGE: &str = "usage: wfctl manifest generate DISK OUT_DIR [-format json|yaml] \
[-force] [pipeline flags as for create] [-submit [-wait]]";

/// A single-VM manifest being built: every answer of the four steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The VM's name; the source file's stem when not given.
    pub name: Option<String>,
    /// One of [`SOURCE_TYPES`]; from the source path's extension when not given.
    pub source_type: Option<String>,
    /// The disk (or OVA/OVF) to convert, as the daemon will open it.
    pub source_path: Option<String>,
    /// The AMI id, for source type `ami`.
    pub ami_id: Option<String>,
    /// The INSPECT stage (with OS detection).
    pub inspect: bool,
    /// The FIX stage: fstab, grub, initramfs and network.
    pub fix: bool,
    /// One of [`FSTAB_MODES`].
    pub fstab_mode: String,
    /// One of [`FIX_LEVELS`].
    pub network_fix_level: String,
    /// One of [`OUTPUT_FORMATS`].
    pub output_format: String,
    /// Compress the output (qcow2 only).
    pub compress: bool,
    /// Where the converted disk goes; the daemon's output directory when None.
    pub output_path: Option<String>,
    /// The VALIDATE stage.
    pub validate: bool,
    /// Boot the result under qemu as part of VALIDATE.
    pub boot_test: bool,
    /// How long the boot test lets the guest run (our key, not hyperctl's:
    /// only written when given; the daemon's default otherwise).
    pub boot_test_seconds: Option<u64>,
    /// The boot test's qemu accelerator (ours too, only written when
    /// given): one of [`BOOT_ACCELERATORS`].
    pub boot_accel: Option<String>,
}

impl Default for Draft {
    /// hyperctl's defaults: inspect with OS detection, every fix (fstab
    /// stabilize-all, grub, initramfs regenerated, network full), qcow2
    /// compressed, validate without a boot test.
    fn default() -> Self {
        Draft {
            name: None,
            source_type: None,
            source_path: None,
            ami_id: None,
            inspect: true,
            fix: true,
            fstab_mode: "stabilize-all".into(),
            network_fix_level: "full".into(),
            output_format: "qcow2".into(),
            compress: true,
            output_path: None,
            validate: true,
            boot_test: false,
            boot_test_seconds: None,
            boot_accel: None,
        }
    }
}

impl Draft {
    /// The defaults with every flag given applied; enum values are checked
    /// here so that a typo is a usage error naming the flag.
    pub fn from_flags(flags: &GoFlags) -> Result<Draft, CliError> {
        let mut draft = Draft::default();
        let one_of = |flag: &str, allowed: &[&str]| -> Result<Option<String>, CliError> {
            match flags.value(flag) {
                None => Ok(None),
                Some(value) if allowed.contains(&value) => Ok(Some(value.to_string())),
                Some(value) => Err(CliError::Usage(format!(
                    "invalid value {value:?} for -{flag}: one of {}",
                    allowed.join(", ")
                ))),
            }
        };
        let text = |flag: &str| flags.value(flag).map(str::to_string);
        draft.name = text("name");
        draft.source_path = text("source-path").map(|p| absolute_text(&p));
        draft.source_type = one_of("source-type", SOURCE_TYPES)?;
        draft.ami_id = text("ami-id");
        draft.output_path = text("output-path").map(|p| absolute_text(&p));
        if let Some(mode) = one_of("fstab-mode", FSTAB_MODES)? {
            draft.fstab_mode = mode;
        }
        if let Some(level) = one_of("network-fix-level", FIX_LEVELS)? {
            draft.network_fix_level = level;
        }
        if let Some(format) = one_of("output-format", OUTPUT_FORMATS)? {
            draft.output_format = format;
        }
        draft.boot_accel = one_of("boot-accel", &BOOT_ACCELERATORS)?;
        if let Some(seconds) = flags.value("boot-test-seconds") {
            let seconds = seconds.parse().map_err(|_| {
                CliError::Usage(format!(
                    "invalid value {seconds:?} for -boot-test-seconds: a whole number of seconds"
                ))
            })?;
            draft.boot_test_seconds = Some(seconds);
        }
        for (flag, field) in [
            ("inspect", &mut draft.inspect),
            ("fix", &mut draft.fix),
            ("compress", &mut draft.compress),
            ("validate", &mut draft.validate),
            ("boot-test", &mut draft.boot_test),
        ] {
            if let Some(on) = flags.bool_value(flag) {
                *field = on;
            }
        }
        Ok(draft)
    }

    /// The source type: as given, else from the source path's extension.
    pub fn effective_source_type(&self) -> Option<String> {
        self.source_type.clone().or_else(|| {
            self.source_path
                .as_deref()
                .and_then(|p| manifest::pipeline::source_type_of(Path::new(p)))
                .map(str::to_string)
        })
    }

    /// The VM name: as given, else the source file's stem.
    pub fn effective_name(&self) -> Option<String> {
        self.name.clone().or_else(|| {
            self.source_path
                .as_deref()
                .and_then(|p| Path::new(p).file_stem())
                .and_then(|s| s.to_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
    }

    /// The manifest document, in the seed's single-VM format with every
    /// stage spelled out (so the file says what will run).
    pub fn document(&self) -> SeedManifest {
        let fix = self.fix;
        SeedManifest {
            version: "1.0",
            name: self.effective_name(),
            pipeline: SeedPipeline {
                load: Load {
                    source_type: self.effective_source_type(),
                    source_path: self.source_path.clone(),
                    ami_id: self.ami_id.clone(),
                },
                inspect: json!({"enabled": self.inspect, "detect_os": self.inspect}),
                fix: json!({
                    "enabled": fix,
                    "fstab": {"enabled": fix, "mode": self.fstab_mode},
                    "grub": {"enabled": fix},
                    "initramfs": {"enabled": fix, "regenerate": fix},
                    "network": {"enabled": fix, "fix_level": self.network_fix_level},
                }),
                convert: Convert {
                    output_format: self.output_format.clone(),
                    // Only qcow2 output can be compressed.
                    compress: self.compress && self.output_format == "qcow2",
                    output_path: self.output_path.clone(),
                },
                validate: self.validate_stage(),
            },
        }
    }

    /// The validate stage; `boot_test_seconds` and `boot_accel` only when
    /// given, so a manifest without them stays as hyperctl writes it.
    fn validate_stage(&self) -> Value {
        let mut stage = json!({"enabled": self.validate, "boot_test": self.boot_test});
        if let Some(seconds) = self.boot_test_seconds {
            stage["boot_test_seconds"] = json!(seconds);
        }
        if let Some(accel) = &self.boot_accel {
            stage["boot_accel"] = json!(accel);
        }
        stage
    }

    /// The document as a file in `format`, and every problem the daemon's
    /// validator finds in it (`path: message`).
    pub fn render(&self, format: manifest::Format) -> (String, Vec<manifest::Problem>) {
        let document = self.document();
        let text = match format {
            manifest::Format::Json => {
                let mut text = serde_json::to_string_pretty(&document).expect("JSON value");
                text.push('\n');
                text
            }
            manifest::Format::Yaml => crate::yaml::to_string(&document).expect("YAML value"),
        };
        let hint = match format {
            manifest::Format::Json => FormatHint::Json,
            manifest::Format::Yaml => FormatHint::Yaml,
        };
        let validation = manifest::validate(text.as_bytes(), hint, Context::default());
        (text, validation.problems)
    }
}

/// A single-VM manifest as written: a struct rather than a JSON map so the
/// keys come out in the seed's order (version, name, pipeline; load first).
/// The stages whose keys need no order stay JSON values.
#[derive(Debug, Serialize)]
pub struct SeedManifest {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    pipeline: SeedPipeline,
}

#[derive(Debug, Serialize)]
struct SeedPipeline {
    load: Load,
    inspect: Value,
    fix: Value,
    convert: Convert,
    validate: Value,
}

#[derive(Debug, Serialize)]
struct Load {
    #[serde(skip_serializing_if = "Option::is_none")]
    source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ami_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct Convert {
    output_format: String,
    compress: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_path: Option<String>,
}

/// `path` made absolute against the current directory: the daemon resolves
/// nothing relative to where wfctl ran.
fn absolute_text(path: &str) -> String {
    std::path::absolute(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string())
}

/// The encoding of a manifest file: `-format`, else its extension, else JSON.
fn file_format(flags: &GoFlags, file: Option<&Path>) -> Result<manifest::Format, CliError> {
    match flags.value("format") {
        Some("json") => return Ok(manifest::Format::Json),
        Some("yaml") | Some("yml") => return Ok(manifest::Format::Yaml),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "invalid value {other:?} for -format: json or yaml"
            )))
        }
        None => {}
    }
    let ext = file
        .and_then(|f| f.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("yaml" | "yml") => manifest::Format::Yaml,
        _ => manifest::Format::Json,
    })
}

/// The problems as a CLI error (exit code 5), one `path: message` line each.
fn invalid(what: &str, problems: Vec<manifest::Problem>) -> CliError {
    CliError::InvalidArgument {
        message: format!("{what} would not be a valid manifest"),
        violations: problems.into_iter().map(|p| (p.path, p.message)).collect(),
    }
}

/// Writes `text` to `path`, creating its directory; an existing file is
/// kept unless `force`.
fn write_manifest(path: &Path, text: &str, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} already exists; give -force to overwrite it",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    crate::fs::write_atomic(path, text.as_bytes(), crate::fs::Access::Shared)
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))
}

/// Where the manifest text went.
enum Written {
    /// To this file.
    File(PathBuf),
    /// To stdout, in this format.
    Stdout(manifest::Format),
}

impl Written {
    /// The file name the daemon is told when the manifest is submitted.
    fn file_name(&self) -> String {
        match self {
            Written::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Written::Stdout(format) => format!("manifest.{}", format.extension()),
        }
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
    let mut globals = globals.clone();
    if let Some(addr) = flags.value("addr") {
        globals.addr = Some(addr.to_string());
    }
    if flags.switch("json") {
        globals.output = OutputFormat::Json;
    }
    let ctx = Ctx::connect(&globals).await?;
    manifests::submit(
        &ctx,
        text.into_bytes(),
        written.file_name(),
        flags.value("request-id").map(str::to_string),
        flags.switch("wait"),
    )
    .await
}

/// `wfctl manifest create`.
pub async fn create(
    globals: &GlobalArgs,
    flags: &GoFlags,
    extra: &[String],
) -> Result<(), CliError> {
    if let Some(extra) = extra.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument {extra:?}\n{CREATE_USAGE}"
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
        let mut builder = Builder {
            prompter: Prompter::new(stdin.lock(), std::io::stderr()),
            draft,
            file: flags.value("file").map(PathBuf::from),
            force: flags.switch("force"),
            flags,
        };
        let Some((text, path, submit)) = builder.run()? else {
            eprintln!("wfctl: manifest creation cancelled; nothing was written");
            return Ok(());
        };
        let submit = submit || flags.switch("submit");
        return finish(globals, flags, text, Written::File(path), submit).await;
    }
    if draft.source_path.is_none() {
        return Err(CliError::Usage(format!(
            "manifest create needs -source-path when it does not prompt (stdin is not a terminal, \
             or -non-interactive); give -interactive to answer the prompts from stdin\n{CREATE_USAGE}"
        )));
    }
    let file = flags.value("file").map(PathBuf::from);
    let format = match (&file, flags.value("format"), globals.output) {
        // Printed on stdout: `-o yaml` asks for YAML too.
        (None, None, OutputFormat::Yaml) => manifest::Format::Yaml,
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
pub async fn generate(
    globals: &GlobalArgs,
    flags: &GoFlags,
    args: &[String],
) -> Result<(), CliError> {
    let [disk, out_dir] = args else {
        return Err(CliError::Usage(format!(
            "manifest generate needs DISK and OUT_DIR\n{GENERATE_USAGE}"
        )));
    };
    if flags.value("source-path").is_some() {
        return Err(CliError::Usage(format!(
            "manifest generate takes the disk as DISK, not -source-path\n{GENERATE_USAGE}"
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

/// An answer to one prompt.
#[derive(Debug, PartialEq)]
pub enum Reply<T> {
    /// The value chosen.
    Answer(T),
    /// `back`: return to the previous step.
    Back,
    /// `cancel`: leave without writing.
    Cancel,
}

/// Asks questions on `output` and reads one answer line each from `input`.
pub struct Prompter<R, W> {
    input: R,
    output: W,
    /// The step being asked, for the message when input ends.
    step: &'static str,
}

impl<R: BufRead, W: Write> Prompter<R, W> {
    /// A prompter over `input` and `output`.
    pub fn new(input: R, output: W) -> Self {
        Prompter {
            input,
            output,
            step: "",
        }
    }

    fn say(&mut self, text: &str) {
        // A failed write to stderr is not worth failing the builder for.
        let _ = writeln!(self.output, "{text}");
    }

    /// One line of input, trimmed; `back` and `cancel` are understood here.
    fn ask(&mut self, question: &str) -> Result<Reply<String>, CliError> {
        let _ = write!(self.output, "{question}: ");
        let _ = self.output.flush();
        let mut line = String::new();
        let read = self
            .input
            .read_line(&mut line)
            .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
        if read == 0 {
            let _ = writeln!(self.output);
            return Err(CliError::Usage(format!(
                "standard input ended during the {} step; nothing was written",
                self.step
            )));
        }
        let answer = line.trim();
        Ok(match answer.to_ascii_lowercase().as_str() {
            "back" | "<" => Reply::Back,
            "cancel" | "quit" => Reply::Cancel,
            _ => Reply::Answer(answer.to_string()),
        })
    }

    /// One of `options`, by number or by name; Enter takes `default`.
    pub fn select(
        &mut self,
        question: &str,
        options: &[&str],
        default: &str,
    ) -> Result<Reply<String>, CliError> {
        self.say(question);
        for (i, option) in options.iter().enumerate() {
            let mark = if *option == default { " (default)" } else { "" };
            self.say(&format!("  {}) {option}{mark}", i + 1));
        }
        loop {
            let reply = self.ask(&format!("choose 1-{} [{default}]", options.len()))?;
            let Reply::Answer(answer) = reply else {
                return Ok(reply);
            };
            if answer.is_empty() {
                return Ok(Reply::Answer(default.to_string()));
            }
            let by_number = answer
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| options.get(i));
            let by_name = options.iter().find(|o| o.eq_ignore_ascii_case(&answer));
            match by_number.or(by_name) {
                Some(option) => return Ok(Reply::Answer(option.to_string())),
                None => self.say(&format!(
                    "  {answer:?} is not one of the choices: answer 1-{} or a name, \
                     `back` or `cancel`",
                    options.len()
                )),
            }
        }
    }

    /// Free text; Enter takes `default`, and with no default an answer is
    /// required unless `optional`.
    pub fn text(
        &mut self,
        question: &str,
        default: Option<&str>,
        optional: bool,
    ) -> Result<Reply<Option<String>>, CliError> {
        let shown = match default {
            Some(default) => format!("{question} [{default}]"),
            None if optional => format!("{question} [none]"),
            None => question.to_string(),
        };
        loop {
            let reply = self.ask(&shown)?;
            let answer = match reply {
                Reply::Answer(answer) => answer,
                Reply::Back => return Ok(Reply::Back),
                Reply::Cancel => return Ok(Reply::Cancel),
            };
            if !answer.is_empty() {
                return Ok(Reply::Answer(Some(answer)));
            }
            if let Some(default) = default {
                return Ok(Reply::Answer(Some(default.to_string())));
            }
            if optional {
                return Ok(Reply::Answer(None));
            }
            self.say("  an answer is required (or `back`, `cancel`)");
        }
    }

    /// Yes or no; Enter takes `default`.
    pub fn confirm(&mut self, question: &str, default: bool) -> Result<Reply<bool>, CliError> {
        let hint = if default { "Y/n" } else { "y/N" };
        loop {
            let reply = self.ask(&format!("{question} [{hint}]"))?;
            let answer = match reply {
                Reply::Answer(answer) => answer,
                Reply::Back => return Ok(Reply::Back),
                Reply::Cancel => return Ok(Reply::Cancel),
            };
            match answer.to_ascii_lowercase().as_str() {
                "" => return Ok(Reply::Answer(default)),
                "y" | "yes" | "true" => return Ok(Reply::Answer(true)),
                "n" | "no" | "false" => return Ok(Reply::Answer(false)),
                _ => self.say("  answer y or n (or `back`, `cancel`)"),
            }
        }
    }
}

/// The four steps of `manifest create`, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Source,
    Pipeline,
    Output,
    Review,
}

impl Step {
    const ALL: [Step; 4] = [Step::Source, Step::Pipeline, Step::Output, Step::Review];

    fn title(self) -> &'static str {
        match self {
            Step::Source => "Source",
            Step::Pipeline => "Pipeline",
            Step::Output => "Output",
            Step::Review => "Review",
        }
    }
}

/// How a step ended.
enum Flow {
    Next,
    Back,
    Cancel,
    /// Review chose to save: the manifest text, where it went, and whether
    /// to submit it.
    Saved(String, PathBuf, bool),
}

/// Unwraps an answer inside a step: `back` and `cancel` end the step.
macro_rules! answer {
    ($reply:expr) => {
        match $reply? {
            Reply::Answer(value) => value,
            Reply::Back => return Ok(Flow::Back),
            Reply::Cancel => return Ok(Flow::Cancel),
        }
    };
}

/// The interactive builder: the draft and the prompts of each step.
struct Builder<'f, R, W> {
    prompter: Prompter<R, W>,
    draft: Draft,
    /// `-file`: the default answer to "save to".
    file: Option<PathBuf>,
    /// `-force`: overwrite without asking.
    force: bool,
    /// The flags, for `-format`.
    flags: &'f GoFlags,
}

impl<R: BufRead, W: Write> Builder<'_, R, W> {
    /// Runs the steps until saved (the text, the file and whether to
    /// submit) or cancelled (None).
    fn run(&mut self) -> Result<Option<(String, PathBuf, bool)>, CliError> {
        let mut index = 0;
        loop {
            let step = Step::ALL[index];
            self.prompter.step = step.title();
            self.prompter.say(&format!(
                "\nStep {}/{}: {}   (type `back` for the previous step, `cancel` to leave)",
                index + 1,
                Step::ALL.len(),
                step.title()
            ));
            let flow = match step {
                Step::Source => self.source()?,
                Step::Pipeline => self.pipeline()?,
                Step::Output => self.output()?,
                Step::Review => self.review()?,
            };
            match flow {
                Flow::Next => index += 1,
                Flow::Back if index == 0 => {
                    self.prompter
                        .say("  this is the first step; starting it again");
                }
                Flow::Back => index -= 1,
                Flow::Cancel => return Ok(None),
                Flow::Saved(text, path, submit) => return Ok(Some((text, path, submit))),
            }
        }
    }

    fn source(&mut self) -> Result<Flow, CliError> {
        let p = &mut self.prompter;
        let path = answer!(p.text(
            "Source disk path (vmdk, ova, ovf, vhd, vhdx, raw, ...)",
            self.draft.source_path.as_deref(),
            false
        ))
        .expect("a required answer");
        let path = absolute_text(&path);
        if !Path::new(&path).exists() {
            p.say(&format!(
                "  note: {path} does not exist on this machine; the daemon must be able to read it"
            ));
        }
        self.draft.source_path = Some(path);
        let inferred = self.draft.effective_source_type();
        let source_type = answer!(p.select(
            "Source type:",
            SOURCE_TYPES,
            inferred.as_deref().unwrap_or("vmdk")
        ));
        self.draft.ami_id = if source_type == "ami" {
            answer!(p.text("AMI id", self.draft.ami_id.as_deref(), false))
        } else {
            None
        };
        self.draft.source_type = Some(source_type);
        let stem = Draft {
            name: None,
            ..self.draft.clone()
        }
        .effective_name();
        let name = answer!(p.text(
            "VM name",
            self.draft.name.as_deref().or(stem.as_deref()),
            false
        ));
        // A name equal to the file's stem is left implicit, so that going
        // back and picking another disk renames the VM with it.
        self.draft.name = name.filter(|n| Some(n) != stem.as_ref());
        Ok(Flow::Next)
    }

    fn pipeline(&mut self) -> Result<Flow, CliError> {
        let p = &mut self.prompter;
        self.draft.inspect =
            answer!(p.confirm("Enable INSPECT (detect the guest OS)?", self.draft.inspect));
        self.draft.fix = answer!(p.confirm(
            "Enable FIX (fstab, grub, initramfs, network)?",
            self.draft.fix
        ));
        if self.draft.fix {
            self.draft.fstab_mode =
                answer!(p.select("fstab mode:", FSTAB_MODES, &self.draft.fstab_mode));
            self.draft.network_fix_level = answer!(p.select(
                "Network fix level:",
                FIX_LEVELS,
                &self.draft.network_fix_level
            ));
        }
        Ok(Flow::Next)
    }

    fn output(&mut self) -> Result<Flow, CliError> {
        let p = &mut self.prompter;
        self.draft.output_format =
            answer!(p.select("Output format:", OUTPUT_FORMATS, &self.draft.output_format));
        if self.draft.output_format == "qcow2" {
            self.draft.compress = answer!(p.confirm("Compress the output?", self.draft.compress));
        }
        let output_path = answer!(p.text(
            "Output file (empty: the daemon's output directory)",
            self.draft.output_path.as_deref(),
            true
        ));
        self.draft.output_path = output_path.map(|o| absolute_text(&o));
        self.draft.validate = answer!(p.confirm(
            "Enable VALIDATE (qemu-img check and compare)?",
            self.draft.validate
        ));
        Ok(Flow::Next)
    }

    fn review(&mut self) -> Result<Flow, CliError> {
        let default_file = self.file.clone().unwrap_or_else(|| {
            let name = self.draft.effective_name().unwrap_or_else(|| "vm".into());
            PathBuf::from(format!("{name}-manifest.json"))
        });
        // The review shows the document in the format the default file
        // will have; the file chosen below decides the final encoding.
        let format = file_format(self.flags, Some(&default_file))?;
        let (text, problems) = self.draft.render(format);
        let p = &mut self.prompter;
        p.say(&text);
        if !problems.is_empty() {
            for problem in &problems {
                p.say(&format!("  problem: {problem}"));
            }
            p.say("  the manifest is not valid yet; back to the first step");
            return Ok(Flow::Back);
        }
        let action = answer!(p.select(
            "What now?",
            &["save", "save and submit to the daemon", "cancel"],
            "save"
        ));
        if action == "cancel" {
            return Ok(Flow::Cancel);
        }
        let submit = action != "save";
        loop {
            let file = answer!(p.text("Save to", Some(&default_file.to_string_lossy()), false))
                .expect("a required answer");
            let path = PathBuf::from(file);
            if path.exists() && !self.force {
                let overwrite =
                    answer!(p.confirm(&format!("{} exists; overwrite it?", path.display()), false));
                if !overwrite {
                    continue;
                }
            }
            let format = file_format(self.flags, Some(&path))?;
            let (text, _) = self.draft.render(format);
            write_manifest(&path, &text, true)?;
            return Ok(Flow::Saved(text, path, submit));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::hyperctl::parse_go_flags;

    fn prompter(input: &str) -> Prompter<&[u8], Vec<u8>> {
        Prompter::new(input.as_bytes(), Vec::new())
    }

    #[test]
    fn select_takes_a_number_a_name_or_the_default_and_asks_again_otherwise() {
        let options = &["qcow2", "raw", "vdi"];
        let mut p = prompter("2\nVDI\n\nnine\n1\nback\ncancel\n");
        assert_eq!(
            p.select("q", options, "qcow2").unwrap(),
            Reply::Answer("raw".into())
        );
        assert_eq!(
            p.select("q", options, "qcow2").unwrap(),
            Reply::Answer("vdi".into())
        );
        assert_eq!(
            p.select("q", options, "raw").unwrap(),
            Reply::Answer("raw".into())
        );
        assert_eq!(
            p.select("q", options, "raw").unwrap(),
            Reply::Answer("qcow2".into())
        );
        assert_eq!(p.select("q", options, "raw").unwrap(), Reply::Back);
        assert_eq!(p.select("q", options, "raw").unwrap(), Reply::Cancel);
        let shown = String::from_utf8(p.output).unwrap();
        assert!(
            shown.contains("\"nine\" is not one of the choices"),
            "{shown}"
        );
    }

    #[test]
    fn confirm_and_text_take_defaults_and_insist_on_required_answers() {
        let mut p = prompter("\nmaybe\nn\n\n\nx\n");
        assert_eq!(p.confirm("q", true).unwrap(), Reply::Answer(true));
        assert_eq!(p.confirm("q", true).unwrap(), Reply::Answer(false));
        assert_eq!(p.text("q", None, true).unwrap(), Reply::Answer(None));
        assert_eq!(
            p.text("q", None, false).unwrap(),
            Reply::Answer(Some("x".into()))
        );
        let err = p.text("q", None, false).unwrap_err();
        assert!(err.to_string().contains("standard input ended"), "{err}");
    }

    #[test]
    fn flags_fill_the_draft_and_bad_enum_values_name_the_flag() {
        let args: Vec<String> = [
            "-source-path=/d/web.vmdk",
            "-fix=false",
            "-output-format",
            "raw",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let flags = parse_go_flags(&args, VALUE_FLAGS, BOOL_FLAGS, "u").unwrap();
        let draft = Draft::from_flags(&flags).unwrap();
        let document = serde_json::to_value(draft.document()).unwrap();
        assert_eq!(document["name"], "web");
        assert_eq!(document["pipeline"]["load"]["source_type"], "vmdk");
        assert_eq!(document["pipeline"]["fix"]["enabled"], false);
        assert_eq!(document["pipeline"]["convert"]["output_format"], "raw");
        // Only qcow2 compresses.
        assert_eq!(document["pipeline"]["convert"]["compress"], false);
        let (_, problems) = draft.render(manifest::Format::Yaml);
        assert!(problems.is_empty(), "{problems:?}");

        let args = vec!["-fstab-mode=all".to_string()];
        let flags = parse_go_flags(&args, VALUE_FLAGS, BOOL_FLAGS, "u").unwrap();
        let err = Draft::from_flags(&flags).unwrap_err();
        assert!(err.to_string().contains("-fstab-mode"), "{err}");
    }

    #[test]
    fn the_boot_test_settings_are_written_only_when_given_and_checked_like_the_daemon() {
        let draft_of = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let flags = parse_go_flags(&args, VALUE_FLAGS, BOOL_FLAGS, "u").unwrap();
            Draft::from_flags(&flags)
        };
        let plain = draft_of(&["-source-path=/d/a.raw", "-boot-test"]).unwrap();
        let validate = &serde_json::to_value(plain.document()).unwrap()["pipeline"]["validate"];
        assert_eq!(validate["boot_test"], true);
        assert!(validate.get("boot_test_seconds").is_none(), "{validate}");

        let timed = draft_of(&[
            "-source-path=/d/a.raw",
            "-boot-test",
            "-boot-test-seconds",
            "5",
            "-boot-accel=tcg",
        ])
        .unwrap();
        let document = serde_json::to_value(timed.document()).unwrap();
        assert_eq!(document["pipeline"]["validate"]["boot_test_seconds"], 5);
        assert_eq!(document["pipeline"]["validate"]["boot_accel"], "tcg");
        let (_, problems) = timed.render(manifest::Format::Json);
        assert!(problems.is_empty(), "{problems:?}");

        let zero = draft_of(&["-source-path=/d/a.raw", "-boot-test-seconds=0"]).unwrap();
        let (_, problems) = zero.render(manifest::Format::Json);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "pipeline.validate.boot_test_seconds");

        let err = draft_of(&["-boot-test-seconds=soon"]).unwrap_err();
        assert!(err.to_string().contains("-boot-test-seconds"), "{err}");
        let err = draft_of(&["-boot-accel=hvf"]).unwrap_err();
        assert!(err.to_string().contains("-boot-accel"), "{err}");
    }

    #[test]
    fn an_ami_without_its_id_is_a_problem_at_its_path() {
        let draft = Draft {
            source_path: Some("/d/x.ami".into()),
            ..Draft::default()
        };
        let (_, problems) = draft.render(manifest::Format::Json);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "pipeline.load.ami_id");
    }
}
