//! The four steps of `manifest create` (Source, Pipeline, Output,
//! Review), asked with the [`Prompter`] into a [`Draft`]. Typing `back` at
//! any prompt returns to the start of the previous step with the answers
//! given so far as the defaults; `cancel` leaves without writing anything.

use std::{
    io::{BufRead, Write},
    path::{Path, PathBuf},
};

use super::step::Step;
use super::{
    draft::{absolute_text, Draft},
    file::{file_format, write_manifest},
    prompt::{Prompter, Reply},
};
use crate::cli::{error::CliError, go_flags::GoFlags};
use crate::manifest::pipeline::{FIX_LEVELS, FSTAB_MODES, OUTPUT_FORMATS, SOURCE_TYPES};

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

/// The four steps over one draft: the prompts of each step.
pub(crate) struct Wizard<'f, R, W> {
    prompter: Prompter<R, W>,
    draft: Draft,
    /// `-file`: the default answer to "save to".
    file: Option<PathBuf>,
    /// `-force`: overwrite without asking.
    force: bool,
    /// The flags, for `-format`.
    flags: &'f GoFlags,
}

impl<'f, R: BufRead, W: Write> Wizard<'f, R, W> {
    /// A wizard that starts from `draft` (the flags' answers) and asks
    /// through `prompter`.
    pub(crate) fn new(prompter: Prompter<R, W>, draft: Draft, flags: &'f GoFlags) -> Self {
        Wizard {
            prompter,
            draft,
            file: flags.value("file").map(PathBuf::from),
            force: flags.switch("force"),
            flags,
        }
    }

    /// Runs the steps until saved (the text, the file and whether to
    /// submit) or cancelled (None).
    pub(crate) fn run(&mut self) -> Result<Option<(String, PathBuf, bool)>, CliError> {
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
