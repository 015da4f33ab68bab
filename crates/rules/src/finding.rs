//! Findings: the product. A failing P2P path is a result, not an `Err`.
//!
//! The codes are a contract (rules.md, section F): tests, scripts and users depend on
//! the exact strings. Each code's logic lives in one `f_*` module; this module only
//! holds the data types, the ordering and the outcome rule.

use std::collections::BTreeMap;

/// How bad a finding is. Orders `Error < Warning < Info`, the output order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the pairing.
    Error,
    /// Degrades the pairing.
    Warning,
    /// For information.
    Info,
}

impl Severity {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal, $sev:ident, [$($rule:literal),*];)+) => {
        /// A finding code (rules.md, section F). `as_str` is the contract string.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Code {
            $($(#[$doc])* $variant,)+
        }

        impl Code {
            /// Every code, in rules.md order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The contract string, e.g. `p2p-not-supported`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)+ }
            }

            /// The code's fixed severity.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)+ }
            }

            /// The rule ids the code rests on (rules.md, section F).
            pub fn rules(self) -> &'static [&'static str] {
                match self { $(Code::$variant => &[$($rule),*],)+ }
            }

            /// Parses a contract string.
            pub fn from_name(s: &str) -> Option<Code> {
                match s { $($text => Some(Code::$variant),)+ _ => None }
            }
        }
    };
}

codes! {
    /// Kernel map type is `not-supported`.
    P2pNotSupported = "p2p-not-supported", Error, ["K1.5", "K1.6", "K1.7"];
    /// ACS redirect on the path forces `thru-host-bridge`.
    AcsRedirect = "acs-redirect", Info, ["K1.4", "K1.8"];
    /// The dma-buf attach is refused.
    DmabufAttachRefused = "dmabuf-attach-refused", Error, ["K2.1"];
    /// dma-direct MMIO address beyond the importer's DMA mask / bus limit.
    DmaMask = "dma-mask", Error, ["K3.4"];
    /// `swiotlb=force` makes a dma-direct MMIO mapping fail.
    SwiotlbForced = "swiotlb-forced", Error, ["K3.4", "K3.7"];
    /// Arch DMA ops without `map_resource`.
    NoMapResource = "no-map-resource", Error, ["K3.6"];
    /// Exporter or importer bound to vfio-noiommu.
    NoiommuUnsupported = "noiommu-unsupported", Error, ["K3.8"];
    /// An untranslated TLP meets a blocked domain, an aborting STE, an unmapped IOVA or
    /// a permission it lacks.
    IommuFault = "iommu-fault", Error, ["K3.2", "H3"];
    /// The kernel's address assumes one regime and the hardware applies another.
    BypassMismatch = "bypass-mismatch", Error, ["K1.10", "K3.3", "H2", "H3"];
    /// ATS enabled on a device whose domain is identity or blocked.
    AtsIdentity = "ats-identity", Warning, ["H2"];
    /// The root complex does not forward between the root ports the route needs.
    RcNoForward = "rc-no-forward", Error, ["H6"];
    /// ACS egress control or TB blocks the request.
    AcsViolation = "acs-violation", Error, ["H1"];
    /// Normal-memory mapping lets the interconnect merge writes above the target root
    /// port's MPS.
    MpsWriteMerge = "mps-write-merge", Error, ["K2.3", "H4"];
    /// A TLP's payload exceeds the effective MPS of a link on its route.
    MpsExceeded = "mps-exceeded", Error, ["K5", "H5"];
    /// The TLP's address decodes to nothing, or to DRAM instead of the exporter's BAR.
    UnsupportedRequest = "unsupported-request", Error, ["H7"];
    /// A CC guest forces swiotlb, so MMIO mappings fail.
    CcSwiotlbForced = "cc-swiotlb-forced", Error, ["K3.7", "C1"];
    /// Shared-state importer targets a locked/running TDI, or a realm bus-addr mapping
    /// lacks the shared alias.
    CcAlias = "cc-alias", Error, ["C1", "C2"];
    /// The access would move the exporter's TDI to ERROR, or it is already there.
    TdispError = "tdisp-error", Error, ["C2", "C3"];
    /// Exporter and importer share an IOMMU group.
    IommuGroupShared = "iommu-group-shared", Warning, ["K4.3"];
    /// Different groups, yet one reaches the other's MMIO without translation.
    GroupIsolationHole = "group-isolation-hole", Warning, ["K4.3", "H1"];
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Structured evidence: the values that triggered a finding, sorted by key.
pub type Evidence = BTreeMap<String, serde_json::Value>;

/// One finding of one pairing.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
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
pub fn sort_and_dedup(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.code == b.code && a.subject == b.subject);
}

/// A pairing's verdict.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// No error or warning.
    Works,
    /// At least one warning, no error.
    Degraded,
    /// At least one error.
    Fails,
}

impl Outcome {
    /// `fails` if any error, else `degraded` if any warning, else `works` (rules.md F).
    pub fn of(findings: &[Finding]) -> Outcome {
        if findings.iter().any(|f| f.severity == Severity::Error) {
            Outcome::Fails
        } else if findings.iter().any(|f| f.severity == Severity::Warning) {
            Outcome::Degraded
        } else {
            Outcome::Works
        }
    }

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Works => "works",
            Outcome::Degraded => "degraded",
            Outcome::Fails => "fails",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert_eq!(Code::from_name(c.as_str()), Some(*c));
            assert!(!c.rules().is_empty());
        }
        assert_eq!(Code::ALL.len(), 20);
    }

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
        assert_eq!(Outcome::of(&v), Outcome::Fails);
        assert_eq!(Outcome::of(&v[2..]), Outcome::Degraded);
        assert_eq!(Outcome::of(&v[3..]), Outcome::Works);
    }
}
