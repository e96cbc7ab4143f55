//! The five stages of one VM's pipeline: load, inspect, fix, convert,
//! validate. Each returns what it did (or why it was skipped) or why it
//! failed; `super::run` turns that into events and the report.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde_json::{json, Value};
use tokio::process::Command;

use crate::{
    fs::partial,
    manifest::output_path::{first_output, further_disk, safe_name, today},
    policy::BUILTIN_FIX_TOOL,
};

use super::{
    command::{self, find_program, Cancel, ToolError},
    events::Emitter,
    image_chain::{self, ImageChainError},
    manifest::{DiskFormat, FixStage, SourceType, VmManifest},
    ovf::{has_extension, ovf_disk_files, unescape_xml, unpack_tar, with_formats, DISK_EXTENSIONS},
    qemu::{self, CheckOutcome, CompareOutcome, ConvertJob, QemuError},
    report::Artifact,
    Options,
};

/// Stage names, in phase order.
pub(crate) const STAGES: [&str; 5] = ["load", "inspect", "fix", "convert", "validate"];

/// Longest tool output kept in an error message.
const MAX_ERROR_CHARS: usize = 2000;

/// What a stage did.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It did its job: a one-line summary and the details for the report.
    Done { summary: String, result: Value },
    /// It did not run, on purpose, for this reason.
    Skipped {
        reason: String,
        detail: Option<Value>,
    },
}

/// Why a stage did not finish.
#[derive(Debug)]
pub(crate) enum StageError {
    /// It failed: the message says why.
    Failed(String),
    /// The pipeline was cancelled while it ran.
    Cancelled,
}

impl From<QemuError> for StageError {
    fn from(e: QemuError) -> Self {
        match e {
            QemuError::Cancelled => StageError::Cancelled,
            other => StageError::Failed(other.to_string()),
        }
    }
}

impl From<ImageChainError> for StageError {
    fn from(e: ImageChainError) -> Self {
        match e {
            ImageChainError::Qemu(e) => e.into(),
            other => StageError::Failed(other.to_string()),
        }
    }
}

impl From<ToolError> for StageError {
    fn from(e: ToolError) -> Self {
        match e {
            ToolError::Cancelled => StageError::Cancelled,
            other => StageError::Failed(other.to_string()),
        }
    }
}

pub(crate) fn failed(message: impl Into<String>) -> StageError {
    StageError::Failed(message.into())
}

type StageResult = Result<Outcome, StageError>;

/// A disk image and its qemu-img format.
#[derive(Debug, Clone)]
pub(crate) struct Disk {
    pub(crate) path: PathBuf,
    pub(crate) format: String,
}

/// A converted disk and what it was converted from.
#[derive(Debug, Clone)]
struct Output {
    path: PathBuf,
    format: String,
    input: Disk,
}

/// The state of one run, carried from stage to stage.
pub(crate) struct Run {
    pub(crate) options: Options,
    pub(crate) emitter: Emitter,
    pub(crate) cancel: Cancel,
    pub(crate) manifest: Option<VmManifest>,
    /// The VM name made safe for file names; the manifest file's stem
    /// until the manifest is read.
    pub(crate) name: String,
    pub(crate) warnings: Vec<String>,
    pub(crate) artifacts: Vec<Artifact>,
    /// The source disks found by load.
    sources: Vec<Disk>,
    /// What convert reads: the sources, or the fixed overlays.
    convert_inputs: Vec<Disk>,
    outputs: Vec<Output>,
    /// `<work dir>/.<name>.work.partial-<pid>/`: unpacked OVAs, overlays,
    /// boot logs; named as a partial so that what a killed run left is
    /// swept like its partial outputs.
    scratch: Option<PathBuf>,
}

impl Run {
    /// A run that has not started any stage.
    pub(crate) fn new(options: Options, emitter: Emitter, cancel: Cancel) -> Self {
        let name = safe_name(
            &options
                .manifest
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        Run {
            options,
            emitter,
            cancel,
            manifest: None,
            name,
            warnings: Vec::new(),
            artifacts: Vec::new(),
            sources: Vec::new(),
            convert_inputs: Vec::new(),
            outputs: Vec::new(),
            scratch: None,
        }
    }

    /// Why a stage is off in the manifest, if it is.
    pub(crate) fn disabled(&self, stage: &str) -> Option<String> {
        let pipeline = &self.manifest.as_ref()?.pipeline;
        let enabled = match stage {
            "inspect" => pipeline.inspect.enabled,
            "fix" => pipeline.fix.enabled,
            "convert" => pipeline.convert.enabled,
            "validate" => pipeline.validate.enabled,
            _ => true,
        };
        (!enabled).then(|| "disabled in the manifest (enabled: false)".to_string())
    }

    /// What the task of a stage is about, for `task_started`.
    pub(crate) fn describe(&self, stage: &str) -> String {
        let format = self
            .manifest
            .as_ref()
            .map(|m| m.pipeline.convert.output_format.as_str())
            .unwrap_or("qcow2");
        match stage {
            "load" => "Check the source disk and what source_type says it is".into(),
            "inspect" => "Read disk facts (qemu-img info) and detect the guest OS".into(),
            "fix" => "Apply guest fixes (needs libguestfs or a configured fix tool)".into(),
            "convert" => format!("Convert with qemu-img to {format}"),
            _ => "Check the output (qemu-img check, compare) and boot test".into(),
        }
    }

    /// Runs one stage.
    pub(crate) async fn stage(&mut self, stage: &str) -> StageResult {
        match stage {
            "load" => self.load().await,
            "inspect" => self.inspect().await,
            "fix" => self.fix().await,
            "convert" => self.convert().await,
            _ => self.validate().await,
        }
    }

    fn progress(&self, task: &str, message: &str) {
        self.emitter.progress(task, message);
    }

    fn warn(&mut self, warning: String) {
        self.emitter.say(&format!("warning: {warning}"));
        self.warnings.push(warning);
    }

    fn manifest(&self) -> &VmManifest {
        self.manifest
            .as_ref()
            .expect("stages after load run only with a manifest")
    }

    /// Resolves a path from the manifest against the working directory.
    fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.options.work_dir.join(path)
        }
    }

    /// The scratch directory, created on first use.
    fn scratch(&mut self) -> Result<PathBuf, StageError> {
        if let Some(dir) = &self.scratch {
            return Ok(dir.clone());
        }
        let dir = self.options.work_dir.join(partial::partial_name(
            format!("{}.work", self.name).as_ref(),
            std::process::id(),
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        self.scratch = Some(dir.clone());
        Ok(dir)
    }

    /// Removes the scratch directory (unpacked OVA, overlays, logs).
    pub(crate) fn remove_scratch(&mut self) {
        if let Some(dir) = self.scratch.take() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                self.warn(format!(
                    "could not remove the scratch directory {}: {e}",
                    dir.display()
                ));
            }
        }
    }

    // ---- load -------------------------------------------------------------

    async fn load(&mut self) -> StageResult {
        // The document itself is a source: a caller of Execute could
        // otherwise point the program at any JSON file.
        let manifest_path = self
            .options
            .policy
            .confine_source(&self.options.manifest)
            .map_err(|e| failed(format!("input manifest: {e}")))?;
        let manifest = VmManifest::load(&manifest_path).map_err(|e| failed(e.to_string()))?;
        self.name = safe_name(&manifest.name);
        let load = manifest.pipeline.load.clone();
        self.manifest = Some(manifest);

        let given = self.resolve(&load.source_path);
        // From here on the resolved path: what was checked is what is read.
        let source = self
            .options
            .policy
            .confine_source(&given)
            .map_err(|e| failed(format!("load.source_path: {e}")))?;
        self.progress(
            "load",
            &format!(
                "checking source {} ({})",
                source.display(),
                load.source_type.as_str()
            ),
        );
        let meta = match tokio::fs::metadata(&source).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(failed(format!(
                    "source {} does not exist",
                    source.display()
                )))
            }
            Err(e) => {
                return Err(failed(format!(
                    "cannot read source {}: {e}",
                    source.display()
                )))
            }
        };
        {
            use std::os::unix::fs::FileTypeExt;
            if !(meta.is_file() || meta.file_type().is_block_device()) {
                return Err(failed(format!("source {} is not a file", source.display())));
            }
        }

        let disk_files: Vec<(PathBuf, &str)> = match load.source_type {
            SourceType::Ova => with_formats(self.unpack_ova(&source).await?)?,
            SourceType::Ovf => with_formats(
                ovf_disk_files(&source, None)?
                    .into_iter()
                    .map(|disk| {
                        self.options.policy.confine_source(&disk).map_err(|e| {
                            failed(format!(
                                "a disk file the OVF {} references (its href): {e}",
                                source.display()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )?,
            other => vec![(
                source.clone(),
                other
                    .qemu_format()
                    .expect("every source type but ova and ovf is a disk format"),
            )],
        };
        let mut disks = Vec::new();
        let mut disk_facts = Vec::new();
        for (path, format) in disk_files {
            // Read as the format it was declared, never probed, and only
            // once nothing it references lies outside its directory.
            let chain = image_chain::verify(&path, format, &self.cancel).await?;
            let info = chain
                .into_iter()
                .next()
                .expect("a verified chain starts with the image itself");
            self.progress(
                "load",
                &format!(
                    "disk {}: {} image, {} bytes virtual",
                    path.display(),
                    info.format,
                    info.virtual_size
                ),
            );
            disk_facts.push(json!({
                "path": path,
                "format": info.format,
                "virtual_size": info.virtual_size,
            }));
            disks.push(Disk {
                path,
                format: info.format,
            });
        }
        if load.source_type == SourceType::Ami && load.ami_id.is_none() {
            self.warn("source_type is ami but load.ami_id is missing".into());
        }
        let summary = format!(
            "{} disk(s) found in {} source {}",
            disks.len(),
            load.source_type.as_str(),
            source.display()
        );
        self.sources = disks.clone();
        self.convert_inputs = disks;
        Ok(Outcome::Done {
            summary,
            result: json!({
                "source_type": load.source_type.as_str(),
                "source_path": source,
                "ami_id": load.ami_id,
                "disks": disk_facts,
            }),
        })
    }

    /// Unpacks an OVA (a tar archive) into the scratch directory and
    /// returns its disk files, found through its .ovf.
    async fn unpack_ova(&mut self, ova: &Path) -> Result<Vec<PathBuf>, StageError> {
        let dir = self.scratch()?.join("ova");
        std::fs::create_dir_all(&dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        self.progress("load", &format!("unpacking OVA {}", ova.display()));
        let (ova_path, into, cancel) = (ova.to_path_buf(), dir.clone(), self.cancel.clone());
        let files = tokio::task::spawn_blocking(move || unpack_tar(&ova_path, &into, &cancel))
            .await
            .map_err(|e| failed(format!("unpacking {} failed: {e}", ova.display())))??;
        let mut ovfs: Vec<&PathBuf> = files
            .iter()
            .filter(|f| has_extension(f, &["ovf"]))
            .collect();
        ovfs.sort();
        if let Some(ovf) = ovfs.first() {
            if ovfs.len() > 1 {
                self.warn(format!(
                    "the OVA holds {} .ovf files; using {}",
                    ovfs.len(),
                    ovf.display()
                ));
            }
            return ovf_disk_files(ovf, Some(&dir));
        }
        let mut disks: Vec<PathBuf> = files
            .iter()
            .filter(|f| has_extension(f, &DISK_EXTENSIONS))
            .cloned()
            .collect();
        disks.sort();
        if disks.is_empty() {
            return Err(failed(format!(
                "the OVA {} holds no .ovf descriptor and no disk file",
                ova.display()
            )));
        }
        self.warn(format!(
            "the OVA {} holds no .ovf descriptor; using its disk files",
            ova.display()
        ));
        Ok(disks)
    }

    // ---- inspect ----------------------------------------------------------

    async fn inspect(&mut self) -> StageResult {
        let mut disks = Vec::new();
        for disk in self.sources.clone() {
            let chain = qemu::info_chain(&disk.path, &disk.format, &self.cancel).await?;
            let Some(top) = chain.first() else {
                return Err(failed(format!(
                    "qemu-img info returned nothing for {}",
                    disk.path.display()
                )));
            };
            self.progress(
                "inspect",
                &format!(
                    "{}: {}, virtual size {} bytes, {} bytes allocated, backing chain of {}",
                    disk.path.display(),
                    top.format,
                    top.virtual_size,
                    top.actual_size.unwrap_or(0),
                    chain.len() - 1
                ),
            );
            if top.dirty_flag {
                self.warn(format!(
                    "{} was not closed cleanly (dirty flag set)",
                    disk.path.display()
                ));
            }
            disks.push(json!({
                "path": disk.path,
                "format": top.format,
                "virtual_size": top.virtual_size,
                "actual_size": top.actual_size,
                "cluster_size": top.cluster_size,
                "dirty": top.dirty_flag,
                "backing_chain": chain[1..].iter().map(|b| json!({
                    "filename": b.filename,
                    "format": b.format,
                    "virtual_size": b.virtual_size,
                })).collect::<Vec<_>>(),
            }));
        }

        let (os, os_detection) = if !self.manifest().pipeline.inspect.detect_os {
            (Value::Null, "not requested (detect_os: false)".to_string())
        } else {
            self.progress("inspect", "detecting the guest OS");
            match self.detect_os().await {
                Ok(Some((tool, os))) => (os, format!("done with {tool}")),
                Ok(None) => {
                    self.warn(
                        "OS detection skipped: libguestfs (virt-inspector or guestfish) is not \
                         installed, so the guest OS was not identified"
                            .into(),
                    );
                    (
                        Value::Null,
                        "skipped: libguestfs is not installed".to_string(),
                    )
                }
                Err(StageError::Cancelled) => return Err(StageError::Cancelled),
                Err(StageError::Failed(e)) => {
                    self.warn(format!("OS detection failed: {e}"));
                    (Value::Null, format!("failed: {e}"))
                }
            }
        };
        Ok(Outcome::Done {
            summary: format!(
                "{} disk(s) inspected; OS detection: {os_detection}",
                disks.len()
            ),
            result: json!({ "disks": disks, "os": os, "os_detection": os_detection }),
        })
    }

    /// Identifies the guest OS with libguestfs, when it is installed.
    async fn detect_os(&self) -> Result<Option<(&'static str, Value)>, StageError> {
        if let Some(program) = find_program("virt-inspector") {
            let mut cmd = Command::new(program);
            for disk in &self.sources {
                cmd.arg(format!("--format={}", disk.format))
                    .arg("-a")
                    .arg(&disk.path);
            }
            let out = command::run(&mut cmd, &self.cancel).await?;
            if !out.status.success() {
                return Err(failed(format!(
                    "virt-inspector: {}",
                    clip(&out.error_text())
                )));
            }
            return Ok(Some(("virt-inspector", parse_inspector_xml(&out.stdout)?)));
        }
        if let Some(program) = find_program("guestfish") {
            let base = |cmd: &mut Command| {
                cmd.arg("--ro");
                for disk in &self.sources {
                    cmd.arg(format!("--format={}", disk.format))
                        .arg("-a")
                        .arg(&disk.path);
                }
                cmd.arg("run");
            };
            let mut cmd = Command::new(&program);
            base(&mut cmd);
            cmd.args([":", "inspect-os"]);
            let out = command::run(&mut cmd, &self.cancel).await?;
            if !out.status.success() {
                return Err(failed(format!("guestfish: {}", clip(&out.error_text()))));
            }
            let Some(root) = out.stdout.lines().map(str::trim).find(|l| !l.is_empty()) else {
                return Err(failed("libguestfs found no operating system on the disk"));
            };
            let keys = [
                "type",
                "distro",
                "product-name",
                "major-version",
                "minor-version",
                "arch",
            ];
            let mut cmd = Command::new(&program);
            base(&mut cmd);
            for key in keys {
                cmd.args([":", &format!("inspect-get-{key}"), root]);
            }
            let out = command::run(&mut cmd, &self.cancel).await?;
            if !out.status.success() {
                return Err(failed(format!("guestfish: {}", clip(&out.error_text()))));
            }
            let mut os = serde_json::Map::new();
            os.insert("root".into(), json!(root));
            for (key, value) in keys.iter().zip(out.stdout.lines()) {
                os.insert(key.replace('-', "_"), json!(value.trim()));
            }
            return Ok(Some(("guestfish", Value::Object(os))));
        }
        Ok(None)
    }

    // ---- fix --------------------------------------------------------------

    async fn fix(&mut self) -> StageResult {
        let fix = self.manifest().pipeline.fix.clone();
        let requested = fix.requested();
        if requested.is_empty() {
            return Ok(Outcome::Skipped {
                reason: "no guest fixes requested".into(),
                detail: None,
            });
        }
        let require = self.options.require_fix;
        // The manifest's fix.tool wins over the program's fix_tool input;
        // either only picks a tool the operator configured, by name.
        let picked = match (&fix.tool, &self.options.fix_tool) {
            (Some(name), _) => Some(("fix.tool", name.clone())),
            (None, Some(name)) => Some(("input fix_tool", name.clone())),
            (None, None) => None,
        }
        .filter(|(_, name)| !name.is_empty() && name != BUILTIN_FIX_TOOL);
        let configured = match picked {
            None => None,
            Some((field, name)) => match self.options.policy.fix_tools.get(&name) {
                Some(tool) => Some((name, tool.clone())),
                None => {
                    return Err(failed(format!(
                        "{field} {name:?} is not a configured fix tool; the configured \
                         ones (setting fix_tools) are: {}",
                        self.options.policy.fix_tool_names().join(", ")
                    )))
                }
            },
        };

        // The tool that will do the work, or why there is none.
        let mut missing = Vec::new();
        let mut tool = None;
        if let Some((name, configured)) = configured {
            if configured.program().is_file() {
                tool = Some(FixTool::Configured {
                    name,
                    tool: configured,
                });
            } else {
                missing.push(format!(
                    "the fix tool {name:?}'s program {} was not found",
                    configured.program().display()
                ));
            }
        }
        if tool.is_none() {
            match find_program("virt-customize") {
                Some(program) => {
                    let (commands, not_possible) = virt_customize_plan(&fix);
                    if commands.is_empty() {
                        missing.push(format!(
                            "virt-customize cannot apply {}",
                            not_possible.join(", ")
                        ));
                    } else {
                        tool = Some(FixTool::VirtCustomize {
                            program,
                            commands,
                            not_possible,
                        });
                    }
                }
                None => missing.push("virt-customize (libguestfs) is not installed".into()),
            }
        }
        let Some(tool) = tool else {
            let message = format!(
                "guest fixes NOT applied ({}): no guest tooling: {}; configure a fix tool \
                 (setting fix_tools, e.g. hyper2kvm) and pick it with fix.tool, or install \
                 libguestfs (virt-customize)",
                requested.join(", "),
                missing.join("; ")
            );
            if require {
                return Err(failed(format!("{message}; require_fix is true")));
            }
            self.warn(message.clone());
            return Ok(Outcome::Skipped {
                reason: message,
                detail: Some(json!({ "requested": requested, "applied": [] })),
            });
        };

        // Fixes go into a copy-on-write overlay: the source is never changed.
        let scratch = self.scratch()?;
        let mut overlays = Vec::new();
        for (i, disk) in self.sources.clone().iter().enumerate() {
            let backing = std::fs::canonicalize(&disk.path)
                .map_err(|e| failed(format!("cannot resolve {}: {e}", disk.path.display())))?;
            let overlay = scratch.join(format!("{}-disk{}.fixed.qcow2", self.name, i + 1));
            qemu::create_overlay(&backing, &disk.format, &overlay, &self.cancel).await?;
            overlays.push(Disk {
                path: overlay,
                format: "qcow2".into(),
            });
        }

        let result = match &tool {
            FixTool::Configured { name, tool } => {
                let mut runs = Vec::new();
                for overlay in &overlays {
                    let args = tool.args(&overlay.path, &self.name);
                    self.progress(
                        "fix",
                        &format!(
                            "running the fix tool {name} ({} {:?}) on {}",
                            tool.program().display(),
                            args,
                            overlay.path.display()
                        ),
                    );
                    let mut cmd = Command::new(tool.program());
                    cmd.args(&args)
                        .current_dir(&self.options.work_dir)
                        .env("VM_PIPELINE_NAME", &self.name)
                        .env("VM_PIPELINE_DISK_FORMAT", &overlay.format)
                        .env(
                            "VM_PIPELINE_FIX",
                            serde_json::to_string(&fix).unwrap_or_default(),
                        );
                    let out = command::run(&mut cmd, &self.cancel).await?;
                    self.echo("fix", &out.stdout);
                    self.echo("fix", &out.stderr);
                    if !out.status.success() {
                        return Err(failed(format!(
                            "fix tool {name} ({}) failed on {} ({}): {}",
                            tool.program().display(),
                            overlay.path.display(),
                            command::describe_status(out.status),
                            clip(&out.error_text())
                        )));
                    }
                    runs.push(json!({ "disk": overlay.path, "exit_code": out.code() }));
                }
                json!({
                    "tool": name,
                    "argv": tool.argv,
                    "requested": requested,
                    "note": "the requested fixes were handed to the fix tool; \
                             what it changed is its own report",
                    "runs": runs,
                })
            }
            FixTool::VirtCustomize {
                program,
                commands,
                not_possible,
            } => {
                if !not_possible.is_empty() {
                    let message = format!(
                        "virt-customize cannot apply {}; those fixes were NOT applied",
                        not_possible.join(", ")
                    );
                    if require {
                        return Err(failed(format!("{message}; require_fix is true")));
                    }
                    self.warn(message);
                }
                for overlay in &overlays {
                    self.progress(
                        "fix",
                        &format!("running virt-customize on {}", overlay.path.display()),
                    );
                    let mut cmd = Command::new(program);
                    cmd.args(["--format", "qcow2", "-a"]).arg(&overlay.path);
                    for (_, script) in commands {
                        cmd.args(["--run-command", script]);
                    }
                    let out = command::run(&mut cmd, &self.cancel).await?;
                    self.echo("fix", &out.stdout);
                    if !out.status.success() {
                        return Err(failed(format!(
                            "virt-customize failed on {} ({}): {}",
                            overlay.path.display(),
                            command::describe_status(out.status),
                            clip(&out.error_text())
                        )));
                    }
                }
                json!({
                    "tool": "virt-customize",
                    "requested": requested,
                    "applied": commands.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                    "not_applied": not_possible,
                })
            }
        };
        self.convert_inputs = overlays;
        Ok(Outcome::Done {
            summary: format!(
                "fixes run with {}",
                result["tool"].as_str().unwrap_or("a tool")
            ),
            result,
        })
    }

    /// Prints a tool's output on stdout, prefixed, line by line.
    fn echo(&self, prefix: &str, text: &str) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            self.emitter.say(&format!("{prefix}: {line}"));
        }
    }

    // ---- convert ----------------------------------------------------------

    async fn convert(&mut self) -> StageResult {
        let convert = self.manifest().pipeline.convert.clone();
        let format = convert.output_format;
        let compress = convert.compress && format == DiskFormat::Qcow2;
        if convert.compress && format != DiskFormat::Qcow2 {
            self.warn(format!(
                "compress is only supported for qcow2 output; {} output is not compressed",
                format.as_str()
            ));
        }
        let first = self.output_path(convert.output_path.as_deref(), format)?;
        // Checked again right before they are read: the fix stage may have
        // taken minutes, during which the source directory may have changed.
        for source in self.sources.clone() {
            image_chain::verify(&source.path, &source.format, &self.cancel).await?;
        }
        let inputs = self.convert_inputs.clone();
        let count = inputs.len();
        let mut last_percent = -1i64;
        let mut results = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let destination = if i == 0 {
                first.clone()
            } else {
                further_disk(&first, i + 1)
            };
            if let Some(reserved) = partial::partial_component(&destination) {
                return Err(failed(format!(
                    "the output path {} contains {:?}, a name of the form \
                     .<name>.partial-<pid> that is reserved for unfinished outputs",
                    destination.display(),
                    reserved
                )));
            }
            // Nothing already there is replaced unless the manifest says
            // so; the move into place checks again (no-replace link).
            if !convert.overwrite && destination.symlink_metadata().is_ok() {
                return Err(failed(format!(
                    "convert.output_path: {} already exists; it is replaced only when the \
                     manifest says convert.overwrite: true",
                    destination.display()
                )));
            }
            for source in &self.sources {
                if same_file(&source.path, &destination) {
                    return Err(failed(format!(
                        "the output {} is the source itself",
                        destination.display()
                    )));
                }
            }
            self.progress(
                "convert",
                &format!(
                    "converting {} ({}) to {} ({}{})",
                    input.path.display(),
                    input.format,
                    destination.display(),
                    format.as_str(),
                    if compress { ", compressed" } else { "" }
                ),
            );
            let target = PartialOutput::prepare(&destination, &self.options.policy)?;
            let job = ConvertJob {
                source: &input.path,
                source_format: &input.format,
                destination: &target.file,
                format: format.as_str(),
                compress,
            };
            let emitter = self.emitter;
            let converted = qemu::convert(&job, &self.cancel, |percent| {
                // Whole percent of all disks together, at most one event each.
                let overall = ((i as f64 * 100.0 + percent) / count as f64).floor() as i64;
                if overall > last_percent {
                    last_percent = overall;
                    emitter.progress("convert", &format!("converting {overall}%"));
                }
            })
            .await;
            if let Err(e) = converted {
                target.discard();
                return Err(e.into());
            }
            let size_bytes = target.commit(convert.overwrite)?;
            self.artifacts.push(Artifact {
                kind: "disk".into(),
                path: destination.clone(),
                format: format.as_str().into(),
                size_bytes,
            });
            results.push(json!({
                "input": input.path,
                "input_format": input.format,
                "path": destination,
                "format": format.as_str(),
                "compressed": compress,
                "size_bytes": size_bytes,
            }));
            self.outputs.push(Output {
                path: destination,
                format: format.as_str().into(),
                input: input.clone(),
            });
        }
        if last_percent < 100 {
            self.emitter.progress("convert", "converting 100%");
        }
        Ok(Outcome::Done {
            summary: format!(
                "{} disk(s) converted to {}: {}",
                results.len(),
                format.as_str(),
                self.outputs
                    .iter()
                    .map(|o| o.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            result: json!({ "outputs": results }),
        })
    }

    /// Where the (first) output goes (see [`first_output`]), resolved and
    /// inside the policy's output directory. The `output_dir` input, when
    /// given, must itself be inside it (relative: to it).
    fn output_path(
        &self,
        output_path: Option<&Path>,
        format: DiskFormat,
    ) -> Result<PathBuf, StageError> {
        let policy = &self.options.policy;
        let output_dir = match &self.options.output_dir {
            Some(dir) => policy
                .output_target(dir)
                .map_err(|e| failed(format!("input output_dir: {e}")))?,
            None => policy.output_dir.clone(),
        };
        let first = first_output(
            &output_dir,
            &self.name,
            output_path,
            format.as_str(),
            &today(),
        );
        policy
            .confine_output(&first)
            .map_err(|e| failed(format!("convert.output_path: {e}")))
    }

    // ---- validate ---------------------------------------------------------

    async fn validate(&mut self) -> StageResult {
        if self.outputs.is_empty() {
            let reason = "nothing to validate: the convert stage produced no output".to_string();
            self.warn(format!("validate skipped: {reason}"));
            return Ok(Outcome::Skipped {
                reason,
                detail: None,
            });
        }
        let mut errors = Vec::new();
        let mut checks = Vec::new();
        for output in self.outputs.clone() {
            self.progress("validate", &format!("checking {}", output.path.display()));
            let check = match qemu::check(&output.path, &output.format, &self.cancel).await? {
                CheckOutcome::Clean(report) => json!({ "status": "clean", "report": report }),
                CheckOutcome::Leaks(report) => {
                    self.warn(format!(
                        "qemu-img check: {} has leaked clusters (wasted space, data intact)",
                        output.path.display()
                    ));
                    json!({ "status": "leaked_clusters", "report": report })
                }
                CheckOutcome::Unsupported => {
                    json!({ "status": "not_supported", "note": format!("the {} format has no consistency check", output.format) })
                }
                CheckOutcome::Corrupted(text) => {
                    errors.push(format!(
                        "qemu-img check: {} is corrupted: {}",
                        output.path.display(),
                        clip(&text)
                    ));
                    json!({ "status": "corrupted" })
                }
                CheckOutcome::Failed(text) => {
                    errors.push(format!(
                        "qemu-img check {} failed: {}",
                        output.path.display(),
                        clip(&text)
                    ));
                    json!({ "status": "failed" })
                }
            };
            self.progress(
                "validate",
                &format!(
                    "comparing {} with {}",
                    output.input.path.display(),
                    output.path.display()
                ),
            );
            let compare = match qemu::compare(
                &output.input.path,
                &output.input.format,
                &output.path,
                &output.format,
                &self.cancel,
            )
            .await?
            {
                CompareOutcome::Identical => json!({ "status": "identical" }),
                CompareOutcome::Different(text) => {
                    errors.push(format!(
                        "qemu-img compare: {} differs from {}: {}",
                        output.path.display(),
                        output.input.path.display(),
                        clip(&text)
                    ));
                    json!({ "status": "different", "detail": text })
                }
                CompareOutcome::Error(text) => {
                    errors.push(format!(
                        "qemu-img compare of {} and {} failed: {}",
                        output.input.path.display(),
                        output.path.display(),
                        clip(&text)
                    ));
                    json!({ "status": "error" })
                }
            };
            checks.push(json!({
                "path": output.path,
                "format": output.format,
                "compared_with": output.input.path,
                "check": check,
                "compare": compare,
            }));
        }

        let boot = if self.manifest().pipeline.validate.boot_test {
            match find_program("qemu-system-x86_64") {
                Some(program) => match self.boot_test(&program).await {
                    Ok(result) => result,
                    Err(StageError::Failed(e)) => {
                        errors.push(format!("boot test: {e}"));
                        json!({ "status": "failed", "error": e })
                    }
                    Err(StageError::Cancelled) => return Err(StageError::Cancelled),
                },
                None => {
                    let warning = "boot_test requested but qemu-system-x86_64 is not installed; \
                                   the boot test was not run"
                        .to_string();
                    self.warn(warning.clone());
                    json!({ "status": "skipped", "reason": warning })
                }
            }
        } else {
            json!({ "status": "not_requested" })
        };

        if !errors.is_empty() {
            return Err(failed(errors.join("; ")));
        }
        Ok(Outcome::Done {
            summary: format!(
                "{} output(s) checked and identical to their source",
                checks.len()
            ),
            result: json!({ "outputs": checks, "boot_test": boot }),
        })
    }

    /// Boots the first output headless (snapshot mode: nothing is written)
    /// and lets it run for the manifest's `boot_test_seconds`. This is a
    /// smoke test: it shows the BIOS finds something to boot on the disk and
    /// the guest does not reset or stop early, not that the OS came up; the
    /// serial console's tail is kept.
    async fn boot_test(&mut self, program: &Path) -> Result<Value, StageError> {
        let output = self.outputs[0].clone();
        let seconds = self.manifest().pipeline.validate.boot_test_seconds;
        let accelerator = self
            .manifest()
            .pipeline
            .validate
            .boot_accel
            .clone()
            .unwrap_or_else(|| self.options.boot_accel.clone());
        let scratch = self.scratch()?;
        let serial = scratch.join("boot-serial.log");
        let bios_log = scratch.join("boot-bios.log");
        let qemu_log = scratch.join("boot-qemu.log");
        self.progress(
            "validate",
            &format!(
                "boot test: running {} headless for {seconds} s",
                output.path.display()
            ),
        );
        let log = std::fs::File::create(&qemu_log)
            .map_err(|e| failed(format!("cannot create {}: {e}", qemu_log.display())))?;
        let drive = format!(
            "file={},format={},if=virtio",
            qemu_option_value(&output.path),
            output.format
        );
        let mut child = Command::new(program)
            .args(["-nodefaults", "-display", "none", "-machine"])
            .arg(format!("accel={accelerator}"))
            .args([
                "-m",
                "1024",
                "-snapshot",
                // A guest reset ends qemu; so does a disk the BIOS cannot
                // boot, which SeaBIOS would otherwise retry every minute,
                // looking to this test like a guest that runs.
                "-no-reboot",
                "-boot",
                "strict=on,reboot-timeout=0",
                // SeaBIOS writes its messages ("No bootable device.") to
                // the debug console port.
                "-chardev",
            ])
            .arg(format!(
                "file,id=bios,path={}",
                qemu_option_value(&bios_log)
            ))
            .args(["-device", "isa-debugcon,iobase=0x402,chardev=bios"])
            .arg("-serial")
            .arg(format!("file:{}", qemu_option_value(&serial)))
            .arg("-drive")
            .arg(drive)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(format!("cannot start {}: {e}", program.display())))?;
        let ended = tokio::select! {
            status = child.wait() => Some(status),
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => None,
            _ = self.cancel.cancelled() => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(StageError::Cancelled);
            }
        };
        let serial_tail = tail(&std::fs::read_to_string(&serial).unwrap_or_default(), 20);
        let Some(status) = ended else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Ok(json!({
                "status": "ran",
                "seconds": seconds,
                "accelerator": accelerator,
                "note": "qemu ran the guest without it stopping or resetting; \
                         the guest OS itself was not verified",
                "serial_tail": serial_tail,
            }));
        };
        let status = status.map_err(|e| failed(e.to_string()))?;
        let bios_says = std::fs::read_to_string(&bios_log).unwrap_or_default();
        if bios_says.contains("No bootable device") {
            return Err(failed(format!(
                "the BIOS found nothing to boot on {} (no boot sector or boot loader)",
                output.path.display()
            )));
        }
        let qemu_says = tail(&std::fs::read_to_string(&qemu_log).unwrap_or_default(), 10);
        Err(failed(format!(
            "qemu stopped after less than {seconds} s ({}; with -no-reboot a guest reset \
             also ends it): {} {}",
            command::describe_status(status),
            qemu_says.trim(),
            serial_tail.trim()
        )))
    }
}

/// A path as the value of a qemu option, where a comma separates options
/// and a doubled one stands for itself.
fn qemu_option_value(path: &Path) -> String {
    path.to_string_lossy().replace(',', ",,")
}

/// The tool the fix stage uses.
enum FixTool {
    /// A tool the operator configured (setting `fix_tools`), by its name.
    Configured {
        name: String,
        tool: crate::policy::FixTool,
    },
    /// virt-customize with the `--run-command` scripts it can run, and the
    /// requested fixes it has no way to apply.
    VirtCustomize {
        program: PathBuf,
        commands: Vec<(String, String)>,
        not_possible: Vec<String>,
    },
}

/// Which requested fixes virt-customize can apply (as shell commands run
/// inside the guest) and which it cannot.
fn virt_customize_plan(fix: &FixStage) -> (Vec<(String, String)>, Vec<String>) {
    let mut commands = Vec::new();
    let mut not_possible = Vec::new();
    for wanted in fix.requested() {
        if wanted == "grub" {
            commands.push((
                wanted,
                "if command -v update-grub >/dev/null 2>&1; then update-grub; \
                 elif command -v grub2-mkconfig >/dev/null 2>&1; then grub2-mkconfig -o /boot/grub2/grub.cfg; \
                 else echo 'no grub tool in the guest' >&2; exit 1; fi"
                    .to_string(),
            ));
        } else if wanted.starts_with("initramfs") {
            commands.push((
                wanted,
                "if command -v dracut >/dev/null 2>&1; then dracut -f --regenerate-all; \
                 elif command -v update-initramfs >/dev/null 2>&1; then update-initramfs -u -k all; \
                 else echo 'no initramfs tool in the guest' >&2; exit 1; fi"
                    .to_string(),
            ));
        } else {
            // fstab and network rewrites need hyper2kvm's logic.
            not_possible.push(wanted);
        }
    }
    (commands, not_possible)
}

/// A conversion target written in a hidden sibling directory
/// (`.<file>.partial-<pid>/<file>`) and moved into
/// place only when complete, so a crash or cancel never leaves a
/// half-written file under the final name. (The file keeps its final name
/// inside the directory because vmdk embeds its own file name.)
struct PartialOutput {
    destination: PathBuf,
    dir: PathBuf,
    file: PathBuf,
    /// Directories created for the output, outermost first.
    created: Vec<PathBuf>,
}

impl PartialOutput {
    /// Makes the hidden directory next to `destination` (already confined
    /// to the output directory); checks again once the directories exist,
    /// so a symlink put in the way meanwhile is not followed out.
    fn prepare(
        destination: &Path,
        policy: &crate::policy::WorkflowPolicy,
    ) -> Result<Self, StageError> {
        let parent = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let file_name = destination
            .file_name()
            .ok_or_else(|| failed(format!("{} is not a file path", destination.display())))?;
        let mut created = Vec::new();
        let mut dir = parent.as_path();
        while !dir.exists() {
            created.push(dir.to_path_buf());
            match dir.parent() {
                Some(up) if !up.as_os_str().is_empty() => dir = up,
                _ => break,
            }
        }
        created.reverse();
        std::fs::create_dir_all(&parent)
            .map_err(|e| failed(format!("cannot create {}: {e}", parent.display())))?;
        // The pid keeps two runs writing the same output from removing
        // each other's partial files (the last one to finish wins), and
        // tells the daemon whose leftovers these are after a SIGKILL.
        let partial_dir = parent.join(partial::partial_name(file_name, std::process::id()));
        policy
            .confine_output(&partial_dir)
            .map_err(|e| failed(format!("convert.output_path: {e}")))?;
        let _ = std::fs::remove_dir_all(&partial_dir);
        std::fs::create_dir(&partial_dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", partial_dir.display())))?;
        Ok(PartialOutput {
            destination: destination.to_path_buf(),
            file: partial_dir.join(file_name),
            dir: partial_dir,
            created,
        })
    }

    /// Moves the finished file into place; returns its size. Without
    /// `overwrite` a file that appeared at the destination meanwhile is
    /// kept: a hard link never replaces anything.
    fn commit(self, overwrite: bool) -> Result<u64, StageError> {
        let moved = if overwrite {
            std::fs::rename(&self.file, &self.destination)
        } else {
            std::fs::hard_link(&self.file, &self.destination)
        };
        if let Err(e) = moved {
            let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                "it already exists and convert.overwrite is not true".to_string()
            } else {
                e.to_string()
            };
            let message = format!(
                "cannot move {} to {}: {why}",
                self.file.display(),
                self.destination.display()
            );
            self.discard();
            return Err(failed(message));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::metadata(&self.destination)
            .map(|m| m.len())
            .map_err(|e| failed(format!("cannot stat {}: {e}", self.destination.display())))
    }

    /// Removes what was written, and the directories made for it if they
    /// are empty.
    fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        for dir in self.created.iter().rev() {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn clip(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text.to_string();
    }
    let tail: String = text
        .chars()
        .rev()
        .take(MAX_ERROR_CHARS)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("...{tail}")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The first operating system of `virt-inspector`'s XML.
fn parse_inspector_xml(xml: &str) -> Result<Value, StageError> {
    let Some(start) = xml.find("<operatingsystem>") else {
        return Err(failed("libguestfs found no operating system on the disk"));
    };
    let os_xml = &xml[start..];
    let os_xml = &os_xml[..os_xml.find("</operatingsystem>").unwrap_or(os_xml.len())];
    let mut os = serde_json::Map::new();
    for key in [
        "root",
        "name",
        "arch",
        "distro",
        "product_name",
        "major_version",
        "minor_version",
        "hostname",
    ] {
        let open = format!("<{key}>");
        if let Some(at) = os_xml.find(&open) {
            let rest = &os_xml[at + open.len()..];
            if let Some(end) = rest.find('<') {
                os.insert(key.into(), json!(unescape_xml(rest[..end].trim())));
            }
        }
    }
    Ok(Value::Object(os))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_customize_never_claims_fstab_or_network() {
        let (commands, not_possible) = virt_customize_plan(&FixStage::default());
        let names: Vec<&str> = commands.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["grub", "initramfs (regenerate)"]);
        assert_eq!(not_possible, ["fstab (stabilize-all)", "network (full)"]);
    }

    #[test]
    fn inspector_xml_gives_the_os() {
        let xml = "<operatingsystems><operatingsystem><root>/dev/sda1</root><name>linux</name>\
                   <distro>debian</distro><major_version>12</major_version></operatingsystem>\
                   </operatingsystems>";
        let os = parse_inspector_xml(xml).unwrap();
        assert_eq!(os["distro"], "debian");
        assert_eq!(os["major_version"], "12");
    }
}
