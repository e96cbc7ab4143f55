//! Go-style flags, as hyperctl's forms take them: one or two dashes,
//! `-name value` or `-name=value`, booleans without a value (or with
//! `=true`/`=false`), `--` ends the flags, flags and operands may
//! interleave. clap does not take single-dash long flags, hence this parser.
//!
//! Each form declares its flags once, in a [`Form`]'s table of [`Flag`]s:
//! the parser learns from it which flags take a value, the usage text lists
//! it, and the flags of a choice are checked against it, so the three can
//! never disagree.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{args::GlobalArgs, error::CliError, render::PrintFormat};

/// What a flag takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Takes {
    /// Nothing: a boolean switch.
    Bool,
    /// A value, shown in the usage as this placeholder.
    Value(&'static str),
    /// One of these values, shown as the placeholder; anything else is a
    /// usage error naming the flag.
    OneOf(&'static str, &'static [&'static str]),
}

/// One flag of a form, declared once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flag {
    /// The name, without dashes.
    pub(crate) name: &'static str,
    /// Whether (and what) it takes.
    pub(crate) takes: Takes,
    /// One line of help.
    pub(crate) help: &'static str,
}

/// `-addr`, which every form takes.
pub(crate) const ADDR: Flag = Flag {
    name: "addr",
    takes: Takes::Value("ADDR"),
    help: "the daemon address, as --addr",
};

/// `-json`, which every form takes.
pub(crate) const JSON: Flag = Flag {
    name: "json",
    takes: Takes::Bool,
    help: "print the message as JSON, as -o json",
};

/// `-namespace`, which every form that starts work takes.
pub(crate) const NAMESPACE: Flag = Flag {
    name: "namespace",
    takes: Takes::Value("N"),
    help: "the namespace to start in, as --namespace (default: the token's only namespace, \
           else default)",
};

/// A hyperctl form: its synopsis and the table of its flags.
#[derive(Debug)]
pub(crate) struct Form {
    /// What follows `usage: ` (several lines are indented to match).
    pub(crate) synopsis: &'static str,
    /// Every flag the form takes.
    pub(crate) flags: &'static [Flag],
}

impl Form {
    fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// The usage text: the synopsis, then one line per flag with its help.
    pub(crate) fn usage(&self) -> String {
        let shown = |flag: &Flag| match flag.takes {
            Takes::Bool => format!("-{}", flag.name),
            Takes::Value(shown) | Takes::OneOf(shown, _) => format!("-{} {shown}", flag.name),
        };
        let width = self.flags.iter().map(|f| shown(f).len()).max().unwrap_or(0);
        let mut text = format!("usage: {}", self.synopsis.replace('\n', "\n       "));
        text.push_str("\nflags (booleans also take =true or =false):");
        for flag in self.flags {
            let _ = write!(text, "\n  {:<width$}  {}", shown(flag), flag.help);
            if let Takes::OneOf(_, allowed) = flag.takes {
                let _ = write!(text, ": {}", allowed.join(", "));
            }
        }
        text
    }

    /// Parses `args` as Go's `flag` package would with this table.
    pub(crate) fn parse(&self, args: &[String]) -> Result<GoFlags, CliError> {
        let mut flags = GoFlags::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--" {
                flags.positionals.extend(args[i..].iter().cloned());
                break;
            }
            let Some(body) = arg
                .strip_prefix("--")
                .or_else(|| arg.strip_prefix('-'))
                .filter(|b| !b.is_empty())
            else {
                flags.positionals.push(arg.clone());
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (body, None),
            };
            let Some(flag) = self.flag(name) else {
                return Err(CliError::Usage(format!(
                    "flag provided but not defined: -{name}\n{}",
                    self.usage()
                )));
            };
            if let Takes::Bool = flag.takes {
                let on = match inline.as_deref() {
                    None | Some("true" | "1" | "t" | "T" | "TRUE") => true,
                    Some("false" | "0" | "f" | "F" | "FALSE") => false,
                    Some(other) => {
                        return Err(CliError::Usage(format!(
                            "invalid boolean value {other:?} for -{name}\n{}",
                            self.usage()
                        )))
                    }
                };
                flags.switches.insert(name.to_string(), on);
                continue;
            }
            let value = match inline {
                Some(value) => value,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => {
                    return Err(CliError::Usage(format!(
                        "flag needs an argument: -{name}\n{}",
                        self.usage()
                    )))
                }
            };
            if let Takes::OneOf(_, allowed) = flag.takes {
                if !allowed.contains(&value.as_str()) {
                    return Err(CliError::Usage(format!(
                        "invalid value {value:?} for -{name}: one of {}",
                        allowed.join(", ")
                    )));
                }
            }
            flags
                .values
                .entry(name.to_string())
                .or_default()
                .push(value);
        }
        Ok(flags)
    }
}

/// Flags parsed the way Go's `flag` package does.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GoFlags {
    /// Flags with a value, by name without dashes, every value given in
    /// order (a repeated flag keeps them all, as Go's `flag.Var` may).
    values: HashMap<String, Vec<String>>,
    /// Boolean flags that were given, with their value (the last one wins).
    switches: HashMap<String, bool>,
    /// Arguments that are not flags, in order.
    pub(crate) positionals: Vec<String>,
}

impl GoFlags {
    /// The value of a flag with a value (the last one, when it was given
    /// more than once, as Go's `flag.String` keeps it).
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values(name).last().map(String::as_str)
    }

    /// Every value of a repeatable flag (`-input a=1 -input b=2`), in order.
    pub(crate) fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether a boolean flag was set (to true).
    pub(crate) fn switch(&self, name: &str) -> bool {
        self.bool_value(name) == Some(true)
    }

    /// A boolean flag's value, None when it was not given (so that
    /// `-compress=false` can turn off what defaults to on).
    pub(crate) fn bool_value(&self, name: &str) -> Option<bool> {
        self.switches.get(name).copied()
    }

    /// The globals with [`ADDR`] and [`JSON`] of a hyperctl form applied.
    pub(crate) fn apply_to(&self, globals: &GlobalArgs) -> GlobalArgs {
        let mut globals = globals.clone();
        if let Some(addr) = self.value(ADDR.name) {
            globals.addr = Some(addr.to_string());
        }
        if self.switch(JSON.name) {
            globals.output = PrintFormat::Json;
        }
        globals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Form = Form {
        synopsis: "wfctl test [flags]",
        flags: &[
            Flag {
                name: "op",
                takes: Takes::Value("OP"),
                help: "what to do",
            },
            Flag {
                name: "mode",
                takes: Takes::OneOf("MODE", &["a", "b"]),
                help: "how",
            },
            JSON,
        ],
    };

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flags_take_one_or_two_dashes_and_inline_values() {
        let flags = FORM
            .parse(&strings(&[
                "-op", "list", "--mode=b", "-json", "pos", "--", "-x",
            ]))
            .unwrap();
        assert_eq!(flags.value("op"), Some("list"));
        assert_eq!(flags.value("mode"), Some("b"));
        assert!(flags.switch("json"));
        assert_eq!(flags.positionals, strings(&["pos", "-x"]));
        let flags = FORM.parse(&strings(&["-op", "a", "-op=b"])).unwrap();
        assert_eq!(flags.value("op"), Some("b"));
        assert_eq!(flags.values("op"), strings(&["a", "b"]));
        assert!(flags.values("mode").is_empty());
    }

    #[test]
    fn go_flag_errors_read_like_go() {
        let err = FORM.parse(&strings(&["-nope"])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("flag provided but not defined: -nope"));
        let err = FORM.parse(&strings(&["-op"])).unwrap_err();
        assert!(err.to_string().starts_with("flag needs an argument: -op"));
        let err = FORM.parse(&strings(&["-mode", "c"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"c\" for -mode: one of a, b"
        );
        let flags = FORM.parse(&strings(&["-json=false"])).unwrap();
        assert!(!flags.switch("json"));
    }

    #[test]
    fn the_usage_lists_every_flag_of_the_table_once() {
        let usage = FORM.usage();
        assert!(usage.starts_with("usage: wfctl test [flags]\n"), "{usage}");
        for flag in FORM.flags {
            assert_eq!(
                usage.matches(&format!("  -{} ", flag.name)).count(),
                1,
                "{usage}"
            );
        }
        assert!(usage.contains("-mode MODE  how: a, b"), "{usage}");
    }
}
