//! ACS where the dump shows none: inferred from the kernel's IOMMU groups (K4.3 run
//! backwards). A root or downstream port whose children sit in groups of their own
//! isolates them; one that shares a group with a child does not. A multifunction
//! endpoint in a group apart from its sibling functions isolates from them.

use super::nodes::Layout;
use super::{Ctx, Role};
use crate::machine::{CapsSeen, PciDevice};

/// What the kernel's groups say about a device whose ACS the dump does not show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Inferred {
    Isolates,
    NoAcs,
}

/// The inference for `d` placed in `role`; `None` when the dump shows the ACS (or shows
/// the whole capability list without one), when asked not to infer, or when the groups
/// say nothing.
pub(super) fn infer(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    d: &PciDevice,
    role: Role,
) -> Option<Inferred> {
    if !cx.opts.acs_from_groups || d.acs.is_some() || d.caps == CapsSeen::Full {
        return None;
    }
    let own = cx.groups.get(&d.bdf)?;
    let others: Vec<u32> = match role {
        Role::RootPort | Role::Downstream => layout
            .children(d.bdf)
            .filter_map(|c| cx.groups.get(&c.bdf).copied())
            .collect(),
        Role::Endpoint if cx.m.is_multifunction(d.bdf) => layout
            .emitted
            .iter()
            .filter(|x| {
                x.bdf != d.bdf
                    && x.bdf.same_slot(&d.bdf)
                    && layout.role(x.bdf) == Some(Role::Endpoint)
            })
            .filter_map(|x| cx.groups.get(&x.bdf).copied())
            .collect(),
        _ => return None,
    };
    if others.is_empty() {
        None
    } else if others.contains(own) {
        Some(Inferred::NoAcs)
    } else {
        Some(Inferred::Isolates)
    }
}
