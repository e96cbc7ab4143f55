//! Painting the manifest builder: the step indicator, each step, the
//! review with its validation, the hint and state lines.

use super::*;

impl ManifestBuilder {
    /// Draws the step indicator, the step, and the hint and validation
    /// lines.
    pub(crate) fn draw(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let [steps_area, body_area, hint_area, state_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.indicator(theme)), steps_area);
        let block = Block::bordered().title(Span::styled(
            format!(" {} ", self.step.title()),
            theme.title(),
        ));
        match self.step {
            Step::Review => self.draw_review(frame, body_area, paint),
            _ => {
                let lines = match self.step {
                    Step::Source => self.source_lines(theme),
                    Step::Pipeline => self.pipeline_lines(theme),
                    _ => self.output_lines(theme),
                };
                frame.render_widget(Paragraph::new(lines).block(block), body_area);
            }
        }
        frame.render_widget(Paragraph::new(self.hint(theme)), hint_area);
        frame.render_widget(Paragraph::new(self.state_line(theme)), state_area);
    }

    /// `Step 2/4  Source › [Pipeline] › Output › Review`.
    fn indicator(&self, theme: Theme) -> Line<'static> {
        let mut spans = vec![Span::styled(
            format!(" Step {}/4  ", self.step.index() + 1),
            theme.dim(),
        )];
        for (i, step) in Step::ALL.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" › "));
            }
            if *step == self.step {
                spans.push(Span::styled(
                    format!("[{}]", step.title()),
                    theme.selected(),
                ));
            } else {
                spans.push(Span::raw(step.title()));
            }
        }
        Line::from(spans)
    }

    /// A row's first two cells: the cursor.
    fn cursor_span(&self, row: Row, theme: Theme) -> Span<'static> {
        if self.row() == Some(row) {
            Span::styled("▶ ", theme.title())
        } else {
            Span::raw("  ")
        }
    }

    /// `▶ [✓] NAME  what` for a check box row.
    fn check_line(
        &self,
        row: Row,
        on: bool,
        name: &str,
        what: &str,
        theme: Theme,
    ) -> Line<'static> {
        let under = self.row() == Some(row);
        Line::from(vec![
            self.cursor_span(row, theme),
            Span::styled(
                format!("[{}] {name:<10}", if on { "✓" } else { " " }),
                if under {
                    theme.selected()
                } else {
                    Style::new()
                },
            ),
            Span::styled(format!(" {what}"), theme.dim()),
        ])
    }

    /// `▶   label  ‹value›  other  other` for a choice row.
    fn choice_line(
        &self,
        row: Row,
        indent: &str,
        label: &str,
        values: &[&str],
        value: &str,
        theme: Theme,
    ) -> Line<'static> {
        let under = self.row() == Some(row);
        let mut spans = vec![
            self.cursor_span(row, theme),
            Span::raw(format!("{indent}{label:<19}")),
        ];
        for v in values {
            if *v == value {
                spans.push(Span::styled(
                    format!("‹{v}›"),
                    if under {
                        theme.selected()
                    } else {
                        theme.title()
                    },
                ));
            } else {
                spans.push(Span::raw(format!(" {v} ")));
            }
            spans.push(Span::raw(" "));
        }
        Line::from(spans)
    }

    /// A text field with what an empty one means.
    fn field_line(&self, field: Field, empty: String, theme: Theme) -> Line<'static> {
        let value = self.texts.get(field);
        let under = self.row() == Some(Row::Text(field));
        let typing = under && !self.paused;
        let mut line = text_field(field.label(), value, typing, theme);
        if under && !typing {
            line.spans[0] = Span::styled("▶ ", theme.title());
        }
        if value.is_empty() {
            let gap = if typing { " " } else { "" };
            line.spans
                .push(Span::styled(format!("{gap}{empty}"), theme.dim()));
        }
        line
    }

    fn matches_line(&self, theme: Theme) -> Option<Line<'static>> {
        if self.matches.is_empty() {
            return None;
        }
        Some(Line::styled(
            format!("    matches: {}", safe(&self.matches.join("  "))),
            theme.dim(),
        ))
    }

    fn source_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let mut lines = vec![Line::styled(
            "Source type (Space checks one)",
            theme.title(),
        )];
        for (i, source_type) in SOURCE_TYPES.iter().enumerate() {
            let on = self.draft.source_type.as_deref() == Some(*source_type);
            lines.push(self.check_line(
                Row::SourceType(i),
                on,
                source_type,
                source_type_note(source_type),
                theme,
            ));
        }
        let inferred = match (&self.draft.source_type, self.draft.effective_source_type()) {
            (Some(_), _) => "  Space on the checked type unchecks it".to_string(),
            (None, Some(t)) => format!("  none checked: from the path's extension ({t})"),
            (None, None) => "  none checked: from the path's extension".to_string(),
        };
        lines.push(Line::styled(inferred, theme.dim()));
        lines.push(Line::raw(""));
        lines.push(self.field_line(
            Field::SourcePath,
            "(the disk, OVA or OVF to convert, as the daemon will read it)".into(),
            theme,
        ));
        if self.editing() == Some(Field::SourcePath) {
            lines.extend(self.matches_line(theme));
        }
        if self.is_ami() {
            lines.push(self.field_line(Field::AmiId, "(required for ami)".into(), theme));
        }
        let stem = Draft {
            name: None,
            ..self.draft.clone()
        }
        .effective_name();
        let empty = match stem {
            Some(stem) => format!("({}, from the file name)", safe(&stem)),
            None => "(from the file name)".into(),
        };
        lines.push(self.field_line(Field::Name, empty, theme));
        lines
    }

    fn pipeline_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let d = &self.draft;
        let mut lines = vec![
            self.check_line(
                Row::Inspect,
                d.inspect,
                "INSPECT",
                "detect OS and drivers",
                theme,
            ),
            self.check_line(
                Row::Fix,
                d.fix,
                "FIX",
                "fstab, grub, initramfs, network",
                theme,
            ),
        ];
        if d.fix {
            lines.push(self.choice_line(
                Row::FstabMode,
                "      ",
                "fstab mode",
                FSTAB_MODES,
                &d.fstab_mode,
                theme,
            ));
            lines.push(self.choice_line(
                Row::FixLevel,
                "      ",
                "network fix level",
                FIX_LEVELS,
                &d.network_fix_level,
                theme,
            ));
        }
        lines.push(self.check_line(
            Row::Convert,
            d.convert,
            "CONVERT",
            &format!("to the target format ({}, on Output)", d.output_format),
            theme,
        ));
        lines.push(self.check_line(
            Row::Validate,
            d.validate,
            "VALIDATE",
            "check the output image",
            theme,
        ));
        if d.validate {
            let under = self.row() == Some(Row::BootTest);
            lines.push(Line::from(vec![
                self.cursor_span(Row::BootTest, theme),
                Span::raw("      "),
                Span::styled(
                    format!("[{}] boot test ", if d.boot_test { "✓" } else { " " }),
                    if under {
                        theme.selected()
                    } else {
                        Style::new()
                    },
                ),
                Span::styled(" boot the result under qemu", theme.dim()),
            ]));
        }
        lines
    }

    fn output_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let d = &self.draft;
        let mut lines = vec![self.choice_line(
            Row::OutputFormat,
            "",
            "Output format",
            OUTPUT_FORMATS,
            &d.output_format,
            theme,
        )];
        if compresses(&d.output_format) {
            let under = self.row() == Some(Row::Compress);
            lines.push(Line::from(vec![
                self.cursor_span(Row::Compress, theme),
                Span::styled(
                    format!("[{}] compress", if d.compress { "✓" } else { " " }),
                    if under {
                        theme.selected()
                    } else {
                        Style::new()
                    },
                ),
                Span::styled(" (only qcow2 compresses)", theme.dim()),
            ]));
        } else {
            lines.push(Line::styled(
                format!(
                    "  [ ] compress: not for {} (only qcow2 compresses)",
                    d.output_format
                ),
                theme.dim(),
            ));
        }
        lines.push(Line::raw(""));
        lines.push(self.field_line(
            Field::OutputPath,
            "(empty: the daemon's output directory)".into(),
            theme,
        ));
        if self.editing() == Some(Field::OutputPath) {
            lines.extend(self.matches_line(theme));
        }
        lines
    }

    /// Review: the validation state over the manifest text.
    fn draw_review(&mut self, frame: &mut Frame<'_>, area: Rect, paint: Paint) {
        let theme = paint.theme;
        let state = self.validation_lines(theme);
        // Problems wrap rather than lose their end; the manifest keeps at
        // least half the screen.
        let inner_width = usize::from(area.width.saturating_sub(2)).max(1);
        let rows: usize = state
            .iter()
            .map(|line| line.width().div_ceil(inner_width).max(1))
            .sum();
        let most = (area.height / 2).max(3);
        let state_height = (rows as u16).saturating_add(2).min(most);
        let [state_area, text_area] =
            Layout::vertical([Constraint::Length(state_height), Constraint::Min(3)]).areas(area);
        frame.render_widget(
            Paragraph::new(state)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(Span::styled(" Validation ", theme.title()))),
            state_area,
        );
        let (text, _) = self.rendered();
        let lines: Vec<&str> = text.lines().collect();
        self.page = text_area.height.saturating_sub(2) as usize;
        self.scroll = self.scroll.min(lines.len().saturating_sub(self.page));
        let shown: Vec<Line<'static>> = lines
            .iter()
            .skip(self.scroll)
            .take(self.page)
            .map(|l| Line::raw(safe(l)))
            .collect();
        let last = (self.scroll + self.page).min(lines.len());
        let title = if lines.len() > self.page {
            format!(
                " Manifest (JSON, lines {}-{last} of {}, PgUp/PgDn) ",
                self.scroll + 1,
                lines.len()
            )
        } else {
            " Manifest (JSON) ".to_string()
        };
        frame.render_widget(
            Paragraph::new(shown)
                .block(Block::bordered().title(Span::styled(title, theme.title()))),
            text_area,
        );
    }

    /// `valid`, `checking…` or each problem; the client-side validator's
    /// until the daemon answers, and why when it cannot.
    fn validation_lines(&self, theme: Theme) -> Vec<Line<'static>> {
        let problem = |text: &str| Line::styled(format!("✗ {}", safe(text)), theme.error());
        let local = || {
            let problems = self.local_problems();
            if problems.is_empty() {
                vec![Line::styled(
                    "  the local check finds no problem",
                    theme.dim(),
                )]
            } else {
                problems.iter().map(|p| problem(p)).collect()
            }
        };
        match &self.answer {
            Some(Ok(response)) if response.valid => {
                let vms = response.vms.len();
                vec![Line::styled(
                    format!(
                        "✓ valid: the daemon would run {vms} VM pipeline{}",
                        if vms == 1 { "" } else { "s" }
                    ),
                    theme.ok(),
                )]
            }
            Some(Ok(_)) => self.problems().iter().map(|p| problem(p)).collect(),
            Some(Err(message)) => {
                let mut lines = vec![Line::styled(
                    format!("the daemon cannot check it: {}", safe(message)),
                    theme.busy(),
                )];
                lines.extend(local());
                lines
            }
            None if self.generation > 0 => {
                let mut lines = vec![Line::styled("checking… (the daemon)", theme.busy())];
                lines.extend(local());
                lines
            }
            None => local(),
        }
    }

    /// The keys of the row under the cursor.
    fn hint(&self, theme: Theme) -> Line<'static> {
        let text = if let Some(save) = &self.save {
            if save.asking {
                return Line::styled(
                    format!(
                        " {} exists: overwrite it? y: yes  n, Esc: no",
                        safe(&absolute_text(&save.path))
                    ),
                    theme.error(),
                );
            }
            return text_field("Save to", &save.path, true, theme);
        } else if let Some(field) = self.editing() {
            if field.is_path() {
                "Tab: complete  Up/Down: leave the field  Esc: stop typing  Enter: next step"
            } else {
                "Up/Down: leave the field  Esc: stop typing  Enter: next step"
            }
        } else {
            match self.row() {
                Some(Row::Text(_)) => "Space: type again  Up/Down: move  Enter: next step",
                Some(Row::FstabMode | Row::FixLevel | Row::OutputFormat) => {
                    "Left/Right: change  Up/Down: move  Enter: next step"
                }
                Some(_) => "Space: toggle  Up/Down: move  Enter: next step",
                None => "s: submit  o: save to a file  PgUp/PgDn: scroll  Backspace: back",
            }
        };
        Line::styled(format!(" {text}"), theme.dim())
    }

    /// One line of validation state for every step.
    pub(super) fn state_line(&self, theme: Theme) -> Line<'static> {
        if self.save.as_ref().is_some_and(|save| !save.asking) {
            return match self.matches_line(theme) {
                Some(matches) => matches,
                None => Line::styled(
                    " Enter: write (JSON, or YAML for .yaml/.yml)  Tab: complete  Esc: cancel",
                    theme.dim(),
                ),
            };
        }
        if self.submitting {
            return Line::styled(" submitting…", theme.busy());
        }
        let problems = self.problems();
        let who = match &self.answer {
            Some(Ok(_)) => "",
            Some(Err(_)) => " (local check: the daemon cannot be reached)",
            None if self.generation > 0 => " (local check; the daemon is checking…)",
            None => " (local check)",
        };
        match problems.first() {
            None => Line::styled(format!(" manifest: valid{who}"), theme.ok()),
            Some(first) => Line::styled(
                format!(
                    " {} problem{}{who}: {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    safe(first)
                ),
                theme.error(),
            ),
        }
    }
}
