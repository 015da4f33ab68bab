//! The output contract's vocabulary (rules.md section F, K1.1; output-format.md):
//! finding codes, severities, pairing outcomes and map types. Typed here, below the
//! loader, so scenario files are checked against them when they load and every crate
//! above names them the same way. The strings are a contract: tests, scripts and
//! users' files depend on them.

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
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
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

            /// The code's position in `ALL` (rules.md order), below 32.
            pub fn index(self) -> usize {
                self as usize
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
    /// The export's driver maps the peer itself and p2pdma would have decided another
    /// map type.
    DriverBypassesP2pdma = "driver-bypasses-p2pdma", Info, ["K2.4", "K1.5"];
    /// A device assigned to a VM shares its IOMMU group with a device not assigned to
    /// the same VM.
    VfioGroupNotViable = "vfio-group-not-viable", Error, ["V2", "K4.3"];
    /// A guest-issued untranslated request carries a GPA that a host switch routes,
    /// before translation, to a device other than the intended peer.
    GuestAddressMisroute = "guest-address-misroute", Error, ["V3", "H1"];
    /// Two requesters behind one SMMU map to the same StreamID.
    StreamIdAlias = "stream-id-alias", Warning, ["H3", "K4.3"];
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
    /// Every outcome, best first.
    pub const ALL: [Outcome; 3] = [Outcome::Works, Outcome::Degraded, Outcome::Fails];

    /// `fails` if any error, else `degraded` if any warning, else `works` (rules.md F).
    pub fn of_severities(severities: impl IntoIterator<Item = Severity>) -> Outcome {
        severities
            .into_iter()
            .map(|s| match s {
                Severity::Error => Outcome::Fails,
                Severity::Warning => Outcome::Degraded,
                Severity::Info => Outcome::Works,
            })
            .max()
            .unwrap_or(Outcome::Works)
    }

    /// Parses the name used in JSON and scenario files.
    pub fn from_name(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
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

/// The P2PDMA map type (K1.1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MapType {
    /// Peers reach each other below a common upstream bridge; bus addresses, no IOMMU.
    BusAddr,
    /// Through the root complex; the importer's normal DMA mapping is used.
    ThruHostBridge,
    /// The mapping must fail.
    NotSupported,
}

impl MapType {
    /// Every map type.
    pub const ALL: [MapType; 3] = [
        MapType::BusAddr,
        MapType::ThruHostBridge,
        MapType::NotSupported,
    ];

    /// Parses the name used in JSON and scenario files.
    pub fn from_name(s: &str) -> Option<MapType> {
        MapType::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The name used in JSON and scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            MapType::BusAddr => "bus-addr",
            MapType::ThruHostBridge => "thru-host-bridge",
            MapType::NotSupported => "not-supported",
        }
    }
}

impl std::fmt::Display for MapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert_eq!(Code::from_name(c.as_str()), Some(*c));
            assert!(!c.rules().is_empty());
        }
        assert_eq!(Code::ALL.len(), 24);
        for m in MapType::ALL {
            assert_eq!(MapType::from_name(m.as_str()), Some(m));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_name(o.as_str()), Some(o));
        }
        assert_eq!(Code::from_name("p2p-not-suported"), None);
    }

    #[test]
    fn outcome_is_the_worst_severity() {
        use Severity::*;
        assert_eq!(Outcome::of_severities([]), Outcome::Works);
        assert_eq!(Outcome::of_severities([Info, Info]), Outcome::Works);
        assert_eq!(Outcome::of_severities([Info, Warning]), Outcome::Degraded);
        assert_eq!(
            Outcome::of_severities([Warning, Error, Info]),
            Outcome::Fails
        );
    }
}
