//! ACS capability and control bits [PCIe §7.7.8].

bitflags::bitflags! {
    /// ACS bits, in the order of the ACS Capability/Control registers.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
    pub struct AcsFlags: u8 {
        /// Source Validation.
        const SV = 1 << 0;
        /// Translation Blocking.
        const TB = 1 << 1;
        /// P2P Request Redirect.
        const RR = 1 << 2;
        /// P2P Completion Redirect.
        const CR = 1 << 3;
        /// Upstream Forwarding.
        const UF = 1 << 4;
        /// P2P Egress Control.
        const EC = 1 << 5;
        /// Direct Translated P2P.
        const DT = 1 << 6;
    }
}

impl AcsFlags {
    /// The flags the kernel requires for isolation (`REQ_ACS_FLAGS` in
    /// `drivers/iommu/iommu.c`): SV | RR | CR | UF.
    pub const REQ: AcsFlags = AcsFlags::SV
        .union(AcsFlags::RR)
        .union(AcsFlags::CR)
        .union(AcsFlags::UF);

    /// The redirect bits `pci_bridge_has_acs_redir` looks at: RR | CR | EC.
    pub const REDIR: AcsFlags = AcsFlags::RR.union(AcsFlags::CR).union(AcsFlags::EC);

    /// Lower-case names as written in platform files: `sv`, `tb`, `rr`, `cr`, `uf`, `ec`, `dt`.
    pub const NAMES: [(&'static str, AcsFlags); 7] = [
        ("sv", AcsFlags::SV),
        ("tb", AcsFlags::TB),
        ("rr", AcsFlags::RR),
        ("cr", AcsFlags::CR),
        ("uf", AcsFlags::UF),
        ("ec", AcsFlags::EC),
        ("dt", AcsFlags::DT),
    ];

    /// The flag of one lower-case name.
    pub fn from_lower_name(name: &str) -> Option<AcsFlags> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The lower-case names of the set bits, in register order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(n, _)| *n)
            .collect()
    }
}

impl std::fmt::Display for AcsFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.names().join(", "))
    }
}

/// A device's ACS capability as written in the platform file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Acs {
    /// The ACS Capability register.
    pub cap: AcsFlags,
    /// The ACS Control register when given (measured or firmware state); `None`:
    /// derived from what the kernel enables (K4.1, K4.2).
    pub ctl: Option<AcsFlags>,
}
