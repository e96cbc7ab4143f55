//! Saving the manifest to a file from Review (`o`, Ctrl-W): the path
//! field, the overwrite question, the write.

use super::*;

impl ManifestBuilder {
    /// `o`: asks where to save, on Review. A draft the validator refuses
    /// is not saved (the daemon's own problems, e.g. a source outside its
    /// roots, do not stop a file meant for elsewhere).
    pub(super) fn open_save(&mut self) -> Vec<Effect> {
        self.go(Step::Review);
        let problems = self.local_problems();
        if let Some(first) = problems.first() {
            return vec![Effect::Problem(format!("not saved: {first}"))];
        }
        let name = self.draft.effective_name().unwrap_or_else(|| "vm".into());
        self.save = Some(SavePrompt {
            path: absolute_text(&format!("{name}-manifest.json")),
            asking: false,
        });
        Vec::new()
    }

    pub(super) fn on_save_key(&mut self, action: &Action) -> Vec<Effect> {
        let Some(save) = &mut self.save else {
            return Vec::new();
        };
        if save.asking {
            match action {
                Action::Yes | Action::Save | Action::Open => {
                    let path = absolute_text(&save.path);
                    return self.write(&path);
                }
                Action::NextMatch | Action::Back => save.asking = false,
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Action::Type(c) => save.path.push(*c),
            Action::DeleteBack => {
                save.path.pop();
            }
            Action::Complete => {
                let done = complete_path(&save.path);
                save.path = done.text;
                self.matches = done.matches;
                return Vec::new();
            }
            Action::Back => self.save = None,
            Action::Open | Action::Save => {
                let path = absolute_text(save.path.trim());
                if save.path.trim().is_empty() || Path::new(&path).is_dir() {
                    return vec![Effect::Problem(format!(
                        "{} is a directory: add a file name",
                        safe(&path)
                    ))];
                }
                if Path::new(&path).exists() {
                    save.asking = true;
                    return Vec::new();
                }
                return self.write(&path);
            }
            _ => {}
        }
        self.matches.clear();
        Vec::new()
    }

    /// Writes the manifest to `path`, JSON or YAML by its extension.
    fn write(&mut self, path: &str) -> Vec<Effect> {
        let path = Path::new(path);
        let written = file_format(&GoFlags::default(), Some(path)).and_then(|format| {
            let (text, _) = self.draft.render(format);
            write_manifest(path, &text, true)
        });
        match written {
            Ok(()) => {
                self.save = None;
                self.matches.clear();
                vec![Effect::Note(format!(
                    "manifest written to {}",
                    path.display()
                ))]
            }
            Err(e) => {
                if let Some(save) = &mut self.save {
                    save.asking = false;
                }
                vec![Effect::Problem(e.to_string())]
            }
        }
    }
}
