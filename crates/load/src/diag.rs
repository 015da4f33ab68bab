//! Load diagnostics: what is wrong with the user's input, where, and how to fix it.
//!
//! Every diagnostic names the file, line and column, the YAML path
//! (`switches[0].downstream[1].mpss`), what was found, what was expected and, where we
//! can guess it, a help line. [`Diagnostics`] renders as plain text (one block per
//! diagnostic) and implements [`miette::Diagnostic`] so a terminal can show snippets.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

/// The source text a diagnostic points into, shared by every diagnostic of one file.
pub type SharedSource = Arc<NamedSource<String>>;

/// One problem in the user's input.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The file (as the caller named it).
    pub file: String,
    /// 1-based line; 0 when the problem has no position (e.g. the file cannot be read).
    pub line: usize,
    /// 1-based column in characters; 0 when the problem has no position.
    pub column: usize,
    /// YAML path of the offending node, e.g. `switches[0].downstream[1].acs.ctl`;
    /// empty for the document itself.
    pub path: String,
    /// What was found.
    pub message: String,
    /// What was expected, when that can be said briefly.
    pub expected: Option<String>,
    /// A hint such as "did you mean `mpss`?".
    pub help: Option<String>,
    /// Byte span of the offending node in `source`, for miette.
    pub span: Option<SourceSpan>,
    /// The file's text, for miette.
    pub source: Option<SharedSource>,
}

impl Diagnostic {
    /// A diagnostic without a position (the whole file, or no file at all).
    pub fn unlocated(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: 0,
            column: 0,
            path: String::new(),
            message: message.into(),
            expected: None,
            help: None,
            span: None,
            source: None,
        }
    }

    /// The plain-text block of this diagnostic:
    ///
    /// ```text
    /// error: topologies/x.yaml:12:9: switches[0].downstream[1].mpss: 384 is not a valid MPSS
    ///   expected: one of 128, 256, 512, 1024, 2048, 4096
    ///   help: ...
    /// ```
    pub fn plain(&self) -> String {
        let mut s = String::from("error: ");
        s.push_str(&self.file);
        if self.line > 0 {
            s.push_str(&format!(":{}:{}", self.line, self.column));
        }
        s.push_str(": ");
        if !self.path.is_empty() {
            s.push_str(&self.path);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        if let Some(e) = &self.expected {
            s.push_str("\n  expected: ");
            s.push_str(e);
        }
        if let Some(h) = &self.help {
            s.push_str("\n  help: ");
            s.push_str(h);
        }
        s
    }
}

/// The headline (`path: message`); the location and the expected/help lines are
/// rendered by miette or by [`Diagnostic::plain`].
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match (&self.expected, &self.help) {
            (None, None) => None,
            (Some(e), None) => Some(Box::new(format!("expected: {e}"))),
            (None, Some(h)) => Some(Box::new(h)),
            (Some(e), Some(h)) => Some(Box::new(format!("expected: {e}\n{h}"))),
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some("here".to_owned()), span),
        )))
    }
}

/// Every diagnostic of one load, in file order.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    /// The diagnostics, sorted by file position within each file.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// One diagnostic.
    pub fn single(d: Diagnostic) -> Self {
        Self { items: vec![d] }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// A miette view with a one-line summary as its headline and every diagnostic as a
    /// related item: `miette::Report::new(diags.fancy())`. Render this rather than
    /// `self`: the plain [`Display`](fmt::Display) of `Diagnostics` already lists every
    /// diagnostic, and a miette handler prints `Display` as the headline, so rendering
    /// `self` shows every message twice.
    pub fn fancy(self) -> Fancy {
        Fancy(self)
    }
}

/// Plain text: one block per diagnostic, blocks separated by a blank line.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            f.write_str(&d.plain())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("peerpath::load"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.items.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

/// See [`Diagnostics::fancy`].
#[derive(Debug, Clone)]
pub struct Fancy(pub Diagnostics);

impl fmt::Display for Fancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.items.len();
        let mut files: Vec<&str> = Vec::new();
        for d in &self.0.items {
            if !files.contains(&d.file.as_str()) {
                files.push(&d.file);
            }
        }
        write!(
            f,
            "could not load {}: {n} error{}",
            files.join(", "),
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Fancy {}

impl miette::Diagnostic for Fancy {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        miette::Diagnostic::related(&self.0)
    }
}
