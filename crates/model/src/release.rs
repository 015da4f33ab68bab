//! Kernel releases: which version-dependent behaviour applies (issue 24, item 4).
//!
//! `kernel.release` is parsed into a [`Release`] (major.minor); distribution suffixes
//! (`-45-generic`, `-427.el9`, `.el8_10.x86_64`) are dropped. A platform without a
//! release behaves as [`Release::NEWEST`], the newest kernel source peerpath models,
//! and [`Kernel::release_assumed`](crate::Kernel::release_assumed) says so.
//!
//! Distribution kernels backport: a RHEL 8 `4.18.0-553` kernel is not mainline 4.18.
//! peerpath models mainline releases only; the number is read as the mainline release
//! it is based on (see docs/kernels.md).

use std::fmt;
use std::str::FromStr;

/// A mainline kernel release, `major.minor`; [`Release::NEWEST`] is the newest source
/// modelled (it orders after every numbered release).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Release {
    /// Major version (`6` in 6.8).
    pub major: u16,
    /// Minor version (`8` in 6.8).
    pub minor: u16,
}

impl Release {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// The newest kernel source peerpath models (the leon/linux-rdma tree read for
    /// docs/research/kernel-facts.md: `drivers/pci/p2pdma.c` 04673b71,
    /// `drivers/pci/quirks.c` 58ea35f1). Orders after every numbered release.
    pub const NEWEST: Release = Release {
        major: u16::MAX,
        minor: 0,
    };

    /// Whether this is [`Release::NEWEST`].
    pub fn is_newest(self) -> bool {
        self == Self::NEWEST
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_newest() {
            f.write_str("newest")
        } else {
            write!(f, "{}.{}", self.major, self.minor)
        }
    }
}

/// When a kernel fact (a table row, a behaviour) came in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Introduced {
    /// In this mainline release (verified: the row's source names how).
    In(Release),
    /// Present in the newest source read; absent up to and including `after` (verified),
    /// the first release that has it not verified. Taken as present in every release
    /// after `after` — an assumption for numbered releases ([`Introduced::assumed_at`]).
    NotVerified {
        /// The last release known not to have it.
        after: Release,
    },
    /// Present in the newest source read; when it came in was not verified. Taken as
    /// present in every release — an assumption for numbered releases.
    Unknown,
}

impl Introduced {
    /// Whether the fact holds at `r`.
    pub fn present_at(self, r: Release) -> bool {
        match self {
            Introduced::In(since) => r >= since,
            Introduced::NotVerified { after } => r > after,
            Introduced::Unknown => true,
        }
    }

    /// Whether the fact is taken as present at `r` without a verified release: `r` is a
    /// numbered release after `after`.
    pub fn assumed_at(self, r: Release) -> bool {
        match self {
            Introduced::In(_) => false,
            Introduced::NotVerified { after } => r > after && !r.is_newest(),
            Introduced::Unknown => !r.is_newest(),
        }
    }
}

impl fmt::Display for Introduced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Introduced::In(r) => write!(f, "{r}"),
            Introduced::NotVerified { after } => {
                write!(f, "after {after} (first release not verified)")
            }
            Introduced::Unknown => f.write_str("first release not verified"),
        }
    }
}

/// Why a release string did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseParseError(pub String);

impl fmt::Display for ReleaseParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a kernel release (expected `MAJOR.MINOR…` such as `6.8.0-45-generic`, or `newest`)",
            self.0
        )
    }
}

impl std::error::Error for ReleaseParseError {}

impl FromStr for Release {
    type Err = ReleaseParseError;

    /// Parses `6.8`, `v6.8`, `6.8.0-45-generic`, `5.14.0-427.el9`,
    /// `4.18.0-553.el8_10.x86_64`, `6.18-rc3` or `newest`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ReleaseParseError(s.to_owned());
        let t = s.trim();
        if t.eq_ignore_ascii_case("newest") {
            return Ok(Self::NEWEST);
        }
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let mut parts = t.splitn(3, '.');
        let major = parts.next().ok_or_else(err)?;
        let rest = parts.next().ok_or_else(err)?;
        // The minor number ends at the first non-digit (`18-rc3`, `14`).
        let minor_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let minor = &rest[..minor_end];
        let num = |x: &str| -> Result<u16, ReleaseParseError> {
            if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            x.parse::<u16>()
                .ok()
                .filter(|v| *v < u16::MAX)
                .ok_or_else(err)
        };
        let major = num(major)?;
        if major == 0 {
            return Err(err());
        }
        Ok(Self::new(major, num(minor)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_distribution_release_strings() {
        for (s, want) in [
            ("6.8.0-45-generic", (6, 8)),
            ("5.14.0-427.el9", (5, 14)),
            ("4.18.0-553.el8_10.x86_64", (4, 18)),
            ("6.18", (6, 18)),
            ("v5.4", (5, 4)),
            ("6.19-rc3", (6, 19)),
            ("5.15.0-1-arm64", (5, 15)),
        ] {
            assert_eq!(
                s.parse::<Release>(),
                Ok(Release::new(want.0, want.1)),
                "{s}"
            );
        }
        assert_eq!("newest".parse::<Release>(), Ok(Release::NEWEST));
        for bad in ["", "6", "six.eight", "6.x", "0.9", "-1.2", "6..8"] {
            assert!(bad.parse::<Release>().is_err(), "{bad}");
        }
    }

    #[test]
    fn introduced_not_verified_is_an_assumption_for_numbered_releases_only() {
        let i = Introduced::NotVerified {
            after: Release::new(6, 8),
        };
        assert!(!i.present_at(Release::new(6, 8)));
        assert!(i.present_at(Release::new(6, 9)) && i.assumed_at(Release::new(6, 9)));
        assert!(i.present_at(Release::NEWEST) && !i.assumed_at(Release::NEWEST));
        let v = Introduced::In(Release::new(5, 4));
        assert!(!v.present_at(Release::new(4, 20)) && v.present_at(Release::new(5, 4)));
        assert!(!v.assumed_at(Release::new(6, 1)));
    }

    #[test]
    fn orders_numerically_with_newest_last() {
        let r = |s: &str| s.parse::<Release>().expect("release");
        assert!(r("4.18") < r("4.20"));
        assert!(r("5.9") < r("5.18"));
        assert!(r("6.8") < r("newest"));
        assert_eq!(r("5.15.0-1").to_string(), "5.15");
        assert_eq!(Release::NEWEST.to_string(), "newest");
    }
}
