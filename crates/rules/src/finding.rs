//! Findings: the product. A failing P2P path is a result, not an `Err`.
//!
//! The codes are a contract (rules.md, section F): tests, scripts and users depend on
//! the exact strings. Each code's logic lives in one `f_*` module; this module only
//! holds the data types, the ordering and the outcome rule.

use std::collections::BTreeMap;

pub use peerpath_model::{Code, Outcome, Severity};

/// Structured evidence: the values that triggered a finding, sorted by key.
pub type Evidence = BTreeMap<String, serde_json::Value>;

/// One finding of one pairing.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The contract code.
    pub code: Code,
    /// The code's severity.
    pub severity: Severity,
    /// The platform name of the node where it happens.
    pub subject: String,
    /// One sentence for people.
    pub message: String,
    /// The values that triggered it.
    pub evidence: Evidence,
    /// What to change, where something can be changed.
    pub fix: Option<String>,
    /// The rule ids it rests on.
    pub rules: Vec<&'static str>,
}

impl Finding {
    /// A finding of `code` at `subject`; severity and rules come from the code.
    pub fn new(code: Code, subject: &str, message: String) -> Self {
        Self {
            code,
            severity: code.severity(),
            subject: subject.to_owned(),
            message,
            evidence: Evidence::new(),
            fix: None,
            rules: code.rules().to_vec(),
        }
    }

    /// Adds one evidence value.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.evidence.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the fix.
    pub fn fix(mut self, fix: String) -> Self {
        self.fix = Some(fix);
        self
    }

    /// The output order: (severity, code, subject).
    fn sort_key(&self) -> (Severity, &'static str, &str) {
        (self.severity, self.code.as_str(), self.subject.as_str())
    }
}

/// Sorts findings by (severity, code, subject) and keeps the first of each
/// (code, subject): one place, one finding.
pub(crate) fn sort_and_dedup(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.code == b.code && a.subject == b.subject);
}

/// A pairing's outcome from its findings: `fails` if any error, else `degraded` if
/// any warning, else `works` (rules.md F).
pub(crate) fn outcome_of(findings: &[Finding]) -> Outcome {
    Outcome::of_severities(findings.iter().map(|f| f.severity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_sort_by_severity_code_subject_and_dedup() {
        let mut v = vec![
            Finding::new(Code::AcsRedirect, "sw0", String::new()),
            Finding::new(Code::IommuGroupShared, "b", String::new()),
            Finding::new(Code::DmaMask, "z", String::new()),
            Finding::new(Code::BypassMismatch, "a", String::new()),
            Finding::new(Code::DmaMask, "z", "second".into()),
        ];
        sort_and_dedup(&mut v);
        let got: Vec<_> = v
            .iter()
            .map(|f| (f.code.as_str(), f.subject.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("bypass-mismatch", "a"),
                ("dma-mask", "z"),
                ("iommu-group-shared", "b"),
                ("acs-redirect", "sw0")
            ]
        );
        assert_eq!(outcome_of(&v), Outcome::Fails);
        assert_eq!(outcome_of(&v[2..]), Outcome::Degraded);
        assert_eq!(outcome_of(&v[3..]), Outcome::Works);
    }
}
