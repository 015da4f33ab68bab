//! Colour for terminals: the caller decides whether to colour (never in pipes).

use peerpath_rules::{Outcome, Severity};

/// Whether to emit ANSI colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Style {
    /// Emit ANSI colour codes.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// An outcome word, padded to `width`, coloured.
    pub fn outcome(self, o: Outcome, width: usize) -> String {
        let text = format!("{:<width$}", o.as_str());
        match o {
            Outcome::Works => self.paint("32", &text),
            Outcome::Degraded => self.paint("33", &text),
            Outcome::Fails => self.paint("31", &text),
        }
    }

    /// An outcome that rests on an assumed fact (issue 24): the word and `?`.
    pub fn verdict(self, o: Outcome, unsure: bool, width: usize) -> String {
        if !unsure {
            return self.outcome(o, width);
        }
        let text = format!("{:<width$}", format!("{}?", o.as_str()));
        match o {
            Outcome::Works => self.paint("32", &text),
            Outcome::Degraded => self.paint("33", &text),
            Outcome::Fails => self.paint("31", &text),
        }
    }

    /// A severity word, coloured.
    pub fn severity(self, s: Severity) -> String {
        match s {
            Severity::Error => self.paint("1;31", "error"),
            Severity::Warning => self.paint("1;33", "warning"),
            Severity::Info => self.paint("1;36", "info"),
        }
    }

    /// Bold text.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}
