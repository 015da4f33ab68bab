//! Fields of a memory request TLP that more than one model reads: the Address Type
//! [PCIe §10.2.1] decides what ACS does at a port (H1) and what a translation agent
//! does (H2).

use std::fmt;

/// The TLP's Address Type field [PCIe §10.2.1] (H2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum At {
    /// AT=00b: the address is whatever regime the kernel handed the device (bus
    /// address, raw PA or IOVA); a translation agent may translate it.
    Untranslated,
    /// AT=01b: an ATS translation request for `addr` (an IOVA).
    TranslationRequest,
    /// AT=10b: the address is already a physical address from an ATS completion.
    Translated,
}

impl At {
    /// The name used in JSON: `untranslated`, `translation-request`, `translated`.
    pub fn as_str(self) -> &'static str {
        match self {
            At::Untranslated => "untranslated",
            At::TranslationRequest => "translation-request",
            At::Translated => "translated",
        }
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
