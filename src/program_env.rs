//! The environment workflow programs start with: an allow-list taken from
//! the daemon's own environment, never all of it. The daemon's environment
//! may hold secrets meant for it alone (tokens, proxy credentials, cloud
//! keys), and a workflow program is code the caller picks.
//!
//! Both the runner (an execution) and discovery (`--workflow-metadata`)
//! start programs with [`ProgramEnv::apply`]; whatever the daemon sets for
//! one program (such as `WORKFLOW_EXECUTION_ID`) it adds afterwards with
//! `Command::env`, so those are always the execution's own values.

use std::ffi::{OsStr, OsString};

/// Names passed whenever the daemon has them: the search path, the home
/// directory, and the operator's locale and time zone. Locale and time zone
/// change how programs format text and times, and hold nothing private.
pub(crate) const ALWAYS_PASSED: &[&str] = &["PATH", "HOME", "LANG", "LANGUAGE", "TZ"];

/// Prefix of the locale categories (`LC_ALL`, `LC_CTYPE`, ...), passed for
/// the same reason as `LANG`.
const LOCALE_PREFIX: &str = "LC_";

/// `PATH` when the daemon runs without one (an empty environment), so that
/// programs written as shell scripts still find the usual tools.
const FALLBACK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A name of the `program_env` setting: a variable name, or a prefix ending
/// in `*` (`LIBGUESTFS_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramEnvName(String);

impl ProgramEnvName {
    /// Checks one configured name; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let name = text.strip_suffix('*').unwrap_or(text);
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "{text:?} is not an environment variable name (letters, digits and _, \
                 not starting with a digit; a trailing * passes every name with that prefix)"
            ));
        }
        Ok(ProgramEnvName(text.to_string()))
    }

    fn matches(&self, name: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == self.0,
        }
    }

    /// The name as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The variables every program gets, taken once from the daemon's
/// environment at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProgramEnv {
    vars: Vec<(OsString, OsString)>,
}

impl ProgramEnv {
    /// The allowed part of the daemon's own environment: [`ALWAYS_PASSED`],
    /// the locale categories, and the names the operator listed.
    pub(crate) fn from_daemon(listed: &[ProgramEnvName]) -> Self {
        Self::from_vars(std::env::vars_os(), listed)
    }

    /// The allowed part of `vars`.
    pub(crate) fn from_vars(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
        listed: &[ProgramEnvName],
    ) -> Self {
        let mut kept: Vec<(OsString, OsString)> = vars
            .into_iter()
            .filter(|(name, _)| {
                let Some(name) = name.to_str() else {
                    return false;
                };
                ALWAYS_PASSED.contains(&name)
                    || name.starts_with(LOCALE_PREFIX)
                    || listed.iter().any(|l| l.matches(name))
            })
            .collect();
        if !kept.iter().any(|(name, _)| name == "PATH") {
            kept.push(("PATH".into(), FALLBACK_PATH.into()));
        }
        kept.sort();
        ProgramEnv { vars: kept }
    }

    /// Adds (or replaces) a variable the daemon itself sets for every
    /// program, such as the operator's policy: never taken from callers.
    pub(crate) fn with_daemon_var(mut self, name: &str, value: String) -> Self {
        self.vars.retain(|(kept, _)| kept != name);
        self.vars.push((name.into(), value.into()));
        self.vars.sort();
        self
    }

    /// The variables, by name.
    pub(crate) fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(n, v)| (n.as_os_str(), v.as_os_str()))
    }

    /// Replaces the whole environment of `command` with these variables.
    pub(crate) fn apply(&self, command: &mut std::process::Command) {
        command.env_clear().envs(self.vars());
    }

    /// [`ProgramEnv::apply`] for a tokio command.
    pub(crate) fn apply_async(&self, command: &mut tokio::process::Command) {
        command.env_clear().envs(self.vars());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(n, v)| (n.into(), v.into())).collect()
    }

    #[test]
    fn only_allowed_names_pass() {
        let listed = [
            ProgramEnvName::parse("HTTP_PROXY").unwrap(),
            ProgramEnvName::parse("LIBGUESTFS_*").unwrap(),
        ];
        let env = ProgramEnv::from_vars(
            vars(&[
                ("PATH", "/bin"),
                ("HOME", "/root"),
                ("LC_TIME", "C"),
                ("HTTP_PROXY", "http://proxy"),
                ("LIBGUESTFS_BACKEND", "direct"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("WORKFLOWD_LISTEN", "0.0.0.0:1"),
            ]),
            &listed,
        );
        let names: Vec<&OsStr> = env.vars().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "HOME",
                "HTTP_PROXY",
                "LC_TIME",
                "LIBGUESTFS_BACKEND",
                "PATH"
            ]
        );
    }

    #[test]
    fn a_missing_path_gets_the_usual_one() {
        let env = ProgramEnv::from_vars(Vec::new(), &[]);
        let path = env.vars().find(|(n, _)| *n == "PATH").unwrap().1;
        assert!(path.to_str().unwrap().contains("/usr/bin"));
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "1X", "A=B", "A B", "*"] {
            assert!(ProgramEnvName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ProgramEnvName::parse("_X1").is_ok());
    }
}
