//! The one state of `wfctl tui` ([`App`]): which screen is shown, each
//! screen's state, the open execution tabs, the daemon's status and whether
//! it can be reached. Keys arrive as [`Action`]s ([`super::keys`]), the
//! daemon's answers as [`Update`]s; both may produce [`Request`]s for the
//! link, which the loop in [`super`] sends. `draw` (in [`draw`]) paints it
//! all.

mod draw;

use crossterm::event::KeyEvent;

use super::{
    keys::{action_for, Action, InputMode},
    messages::{Effect, JobTab, Request, TabId, Update},
    screens::{
        dashboard::Dashboard, execution::ExecutionView, form::Form, jobs::Jobs,
        manifest::ManifestBuilder, workflows::Workflows,
    },
    theme::Theme,
};
use crate::pb;

/// The screen shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// The workflow daemon dashboard.
    Dashboard,
    /// The job monitor.
    Jobs,
    /// The discovered workflows.
    Workflows,
    /// The run form of a workflow.
    Form,
    /// The manifest builder.
    Manifest,
    /// An execution tab, by its index in [`App::tabs`].
    Execution(usize),
}

/// Whether the daemon answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Connection {
    /// No answer yet.
    Connecting,
    /// The last call reached it.
    Up,
    /// It cannot be reached; why.
    Down(String),
}

/// The most execution tabs open at once (keys 1-9).
pub(crate) const MAX_TABS: usize = 9;

/// Everything `wfctl tui` shows.
#[derive(Debug)]
pub(crate) struct App {
    /// The styles.
    pub(crate) theme: Theme,
    /// The daemon address, for the banner.
    pub(crate) addr: String,
    /// The namespace work starts in (`--namespace`), for the status line.
    pub(crate) namespace: Option<String>,
    /// The screen shown.
    pub(crate) view: View,
    /// The screen before the form (Esc goes back to it).
    previous: View,
    /// The key map overlay is shown.
    pub(crate) help: bool,
    /// Whether the daemon answers.
    pub(crate) connection: Connection,
    /// The daemon's last status.
    pub(crate) status: Option<pb::GetStatusResponse>,
    /// The dashboard.
    pub(crate) dashboard: Dashboard,
    /// The job monitor.
    pub(crate) jobs: Jobs,
    /// The workflow list.
    pub(crate) workflows: Workflows,
    /// The run form, while one is open.
    pub(crate) form: Option<Form>,
    /// The manifest builder.
    pub(crate) manifest: ManifestBuilder,
    /// The execution tabs, in the order opened.
    pub(crate) tabs: Vec<ExecutionView>,
    next_tab: TabId,
    /// The status line: a note, or a problem (true).
    pub(crate) notice: Option<(String, bool)>,
    /// The user asked to leave.
    pub(crate) quit: bool,
}

impl App {
    /// The app at start: the dashboard, nothing fetched yet.
    pub(crate) fn new(addr: String, namespace: Option<String>, theme: Theme) -> App {
        App {
            theme,
            addr,
            namespace,
            view: View::Dashboard,
            previous: View::Dashboard,
            help: false,
            connection: Connection::Connecting,
            status: None,
            dashboard: Dashboard::default(),
            jobs: Jobs::default(),
            workflows: Workflows::default(),
            form: None,
            manifest: ManifestBuilder::default(),
            tabs: Vec::new(),
            next_tab: 1,
            notice: None,
            quit: false,
        }
    }

    /// The requests to send at start: poll what the dashboard shows.
    pub(crate) fn start(&self) -> Vec<Request> {
        vec![self.watch(), Request::LoadWorkflows]
    }

    /// The job lists the screen shown needs polled.
    fn watch(&self) -> Request {
        match self.view {
            View::Dashboard => Request::Watch(vec![JobTab::Active]),
            View::Jobs => Request::Watch(vec![self.jobs.tab()]),
            _ => Request::Watch(Vec::new()),
        }
    }

    /// Whether the screen shows a clock that ticks (an elapsed time of a
    /// running execution), so it must be redrawn every second.
    pub(crate) fn ticking(&self) -> bool {
        match self.view {
            View::Dashboard => !self.dashboard.active.executions.is_empty(),
            View::Jobs => {
                self.jobs.tab() == JobTab::Active && !self.dashboard.active.executions.is_empty()
            }
            View::Execution(i) => self.tabs.get(i).is_some_and(ExecutionView::live),
            _ => false,
        }
    }

    /// Whether keys are typed into a text field on the screen shown.
    fn input_mode(&self) -> InputMode {
        match self.view {
            View::Form => self
                .form
                .as_ref()
                .map_or(InputMode::Navigate, Form::input_mode),
            View::Manifest => self.manifest.input_mode(),
            View::Execution(i) => self
                .tabs
                .get(i)
                .map_or(InputMode::Navigate, ExecutionView::input_mode),
            _ => InputMode::Navigate,
        }
    }

    /// Handles a key; returns the requests it leads to.
    pub(crate) fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let Some(action) = action_for(key, self.input_mode()) else {
            return Vec::new();
        };
        self.on_action(action)
    }

    /// Handles an action: the overlay and the confirmations first, then the
    /// keys that work anywhere, then the screen shown.
    pub(crate) fn on_action(&mut self, action: Action) -> Vec<Request> {
        // A note stays until the next key: by then it has been read.
        self.notice = None;
        if action == Action::Interrupt {
            return self.leave();
        }
        if self.help {
            self.help = false;
            return match action {
                Action::Quit => self.leave(),
                _ => Vec::new(),
            };
        }
        let before = self.view;
        let switches_tab = matches!(
            action,
            Action::NextTab | Action::PrevTab | Action::Left | Action::Right
        );
        // The screen takes every key while the user types, while a question
        // waits for its answer, and in the run form (which Esc leaves), so
        // no letter meant for it quits or switches screens.
        let modal =
            self.input_mode() == InputMode::Text || self.view == View::Form || self.asking();
        let effects = if modal {
            match action {
                Action::Refresh => self.refresh(),
                action => self.screen_action(&action),
            }
        } else {
            match action {
                Action::Quit => return self.leave(),
                Action::Help => {
                    self.help = true;
                    Vec::new()
                }
                Action::Dashboard => self.show(View::Dashboard),
                Action::Jobs => self.show(View::Jobs),
                Action::Workflows => {
                    self.view = View::Workflows;
                    vec![Effect::Send(Request::LoadWorkflows)]
                }
                Action::Manifest => self.show(View::Manifest),
                Action::ExecutionTab(n) if n <= self.tabs.len() => {
                    self.show(View::Execution(n - 1))
                }
                Action::ExecutionTab(n) => vec![Effect::Note(format!("no execution tab {n}"))],
                Action::CloseTab => self.close_tab(),
                Action::Refresh => self.refresh(),
                action => self.screen_action(&action),
            }
        };
        let mut requests = self.apply(effects);
        if self.view != before || switches_tab {
            requests.push(self.watch());
        }
        requests
    }

    /// Whether the screen shown asks a yes/no question.
    fn asking(&self) -> bool {
        match self.view {
            View::Execution(i) => self.tabs.get(i).is_some_and(ExecutionView::asking),
            View::Manifest => self.manifest.asking(),
            _ => false,
        }
    }

    /// Polls again now (and lists the workflows again when they are shown).
    fn refresh(&self) -> Vec<Effect> {
        let mut effects = vec![Effect::Send(Request::Refresh)];
        if matches!(self.view, View::Workflows | View::Form) {
            effects.push(Effect::Send(Request::LoadWorkflows));
        }
        effects
    }

    fn leave(&mut self) -> Vec<Request> {
        self.quit = true;
        Vec::new()
    }

    fn show(&mut self, view: View) -> Vec<Effect> {
        self.view = view;
        Vec::new()
    }

    /// The screen shown handles the action.
    fn screen_action(&mut self, action: &Action) -> Vec<Effect> {
        match self.view {
            // hyperctl's "s: Submit Job": pick the workflow to run.
            View::Dashboard if *action == Action::Submit => {
                self.view = View::Workflows;
                vec![Effect::Send(Request::LoadWorkflows)]
            }
            View::Dashboard => self.dashboard.on_action(action),
            View::Jobs => self.jobs.on_action(action),
            View::Workflows => {
                if *action == Action::Open {
                    if let Some(workflow) = self.workflows.selected() {
                        self.form = Some(Form::new(workflow.clone()));
                        self.previous = View::Workflows;
                        self.view = View::Form;
                    }
                } else {
                    self.workflows.on_action(action);
                }
                Vec::new()
            }
            View::Form => match &mut self.form {
                Some(form) => form.on_action(action),
                None => Vec::new(),
            },
            View::Manifest => self.manifest.on_action(action),
            View::Execution(i) => match self.tabs.get_mut(i) {
                Some(tab) => tab.on_action(action),
                None => Vec::new(),
            },
        }
    }

    /// Carries out the screens' effects; returns the requests among them.
    fn apply(&mut self, effects: Vec<Effect>) -> Vec<Request> {
        let mut requests = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send(request) => requests.push(request),
                Effect::OpenExecution(id) => requests.extend(self.open(id)),
                Effect::Note(text) => self.notice = Some((text, false)),
                Effect::Problem(text) => self.notice = Some((text, true)),
                Effect::Leave => {
                    if self.view == View::Form {
                        self.form = None;
                    }
                    self.view = self.previous;
                }
            }
        }
        requests
    }

    /// Carries out effects that answer an earlier request; with `stay`
    /// the screen shown stays (tabs opened by them open behind it), since
    /// the user has moved on and may be typing.
    fn apply_behind(&mut self, effects: Vec<Effect>, stay: bool) -> (bool, Vec<Request>) {
        let view = self.view;
        let requests = self.apply(effects);
        if stay {
            self.view = view;
        }
        (true, requests)
    }

    /// Shows the tab of an execution, opening one (and following it) when
    /// there is none yet.
    fn open(&mut self, execution_id: String) -> Vec<Request> {
        if let Some(i) = self
            .tabs
            .iter()
            .position(|t| t.execution_id == execution_id)
        {
            self.view = View::Execution(i);
            return Vec::new();
        }
        if self.tabs.len() >= MAX_TABS {
            self.notice = Some((
                format!(
                    "{MAX_TABS} execution tabs are open, so {execution_id} is not: close one with x"
                ),
                true,
            ));
            return Vec::new();
        }
        let tab = self.next_tab;
        self.next_tab += 1;
        self.tabs
            .push(ExecutionView::new(tab, execution_id.clone()));
        self.view = View::Execution(self.tabs.len() - 1);
        vec![Request::Follow { tab, execution_id }]
    }

    fn close_tab(&mut self) -> Vec<Effect> {
        let View::Execution(i) = self.view else {
            return vec![Effect::Note(
                "x closes an execution tab; none is shown".into(),
            )];
        };
        let tab = self.tabs.remove(i);
        self.view = if self.tabs.is_empty() {
            View::Jobs
        } else {
            View::Execution(i.min(self.tabs.len() - 1))
        };
        vec![Effect::Send(Request::Unfollow(tab.tab))]
    }

    /// Takes an update from the link; returns whether the screen changed
    /// and the requests it leads to.
    pub(crate) fn on_update(&mut self, update: Update) -> (bool, Vec<Request>) {
        let before = self.view;
        let (changed, mut requests) = self.take_update(update);
        if self.view != before {
            requests.push(self.watch());
        }
        (changed || self.view != before, requests)
    }

    fn take_update(&mut self, update: Update) -> (bool, Vec<Request>) {
        let mut effects = Vec::new();
        let changed = match update {
            Update::Connected => {
                // Back after an outage (or up at last): what could not be
                // fetched or checked meanwhile is asked again.
                if self.connection != Connection::Up {
                    effects.push(Effect::Send(Request::LoadWorkflows));
                    effects.extend(self.manifest.reconnected());
                }
                self.connection = Connection::Up;
                true
            }
            Update::Disconnected(reason) => {
                let changed = self.connection != Connection::Down(reason.clone());
                self.connection = Connection::Down(reason);
                changed
            }
            Update::Status(status) => {
                // Only the dashboard shows it (its uptime changes each time).
                let changed = self.status.as_ref() != Some(&status);
                self.status = Some(*status);
                changed && self.view == View::Dashboard
            }
            Update::Jobs {
                tab,
                executions,
                more,
            } => {
                let shown = match self.view {
                    View::Dashboard => tab == JobTab::Active,
                    View::Jobs => tab == self.jobs.tab(),
                    _ => false,
                };
                let changed = if tab == JobTab::Active {
                    self.jobs.list_mut(tab).replace(executions.clone(), more);
                    self.dashboard.active.replace(executions, more)
                } else {
                    self.jobs.list_mut(tab).replace(executions, more)
                };
                changed && shown
            }
            Update::Workflows(list) => {
                let changed = self.workflows.list.as_ref() != Some(&list);
                self.workflows.replace(*list);
                changed && self.view == View::Workflows
            }
            Update::Execution { tab, execution } => {
                let shown = self.shown_tab() == Some(tab);
                match self.tab_mut(tab) {
                    Some(view) if view.execution.as_ref() != Some(&execution) => {
                        view.execution = Some(*execution);
                        shown
                    }
                    _ => false,
                }
            }
            Update::Events { tab, events } => {
                let shown = self.shown_tab() == Some(tab);
                match self.tab_mut(tab) {
                    Some(view) => {
                        view.apply(events);
                        shown
                    }
                    None => false,
                }
            }
            Update::Violations {
                workflow_id,
                violations,
                message,
            } => {
                if let Some(form) = self
                    .form
                    .as_mut()
                    .filter(|f| f.workflow_id() == workflow_id)
                {
                    form.violations(violations.clone(), message.clone());
                }
                effects.push(Effect::Problem(if violations.is_empty() {
                    format!("{workflow_id} not started: {message}")
                } else {
                    format!("{workflow_id} not started: the daemon refused the inputs")
                }));
                true
            }
            Update::Started(execution) => {
                // The form that asked is done with; another form, or a
                // screen the user has moved on to, is left alone (the tab
                // opens behind it).
                let asked = self
                    .form
                    .as_ref()
                    .is_some_and(|f| f.workflow_id() == execution.workflow_id && f.waiting());
                let stay = !(asked && self.view == View::Form);
                if asked {
                    self.form = None;
                    if self.view == View::Form {
                        self.view = self.previous;
                    }
                }
                effects.push(Effect::Note(format!(
                    "started execution {} of {}",
                    execution.id, execution.workflow_id
                )));
                effects.push(Effect::OpenExecution(execution.id));
                return self.apply_behind(effects, stay);
            }
            Update::ManifestChecked { generation, result } => {
                self.manifest.checked(generation, result);
                self.view == View::Manifest
            }
            Update::ManifestSubmitted(result) => {
                effects.extend(self.manifest.submitted(result));
                let stay = self.view != View::Manifest;
                return self.apply_behind(effects, stay);
            }
            Update::Failed(message) => {
                effects.push(Effect::Problem(message));
                true
            }
            Update::Note(message) => {
                effects.push(Effect::Note(message));
                true
            }
        };
        let requests = self.apply(effects);
        (changed, requests)
    }

    /// The execution tab shown, if one is.
    fn shown_tab(&self) -> Option<TabId> {
        match self.view {
            View::Execution(i) => self.tabs.get(i).map(|t| t.tab),
            _ => None,
        }
    }

    fn tab_mut(&mut self, tab: TabId) -> Option<&mut ExecutionView> {
        self.tabs.iter_mut().find(|t| t.tab == tab)
    }
}
