//! The PCIe port fields that root ports, switch ports and endpoints share: MPS and
//! MPSS (K5: one of 128…4096, MPS at most MPSS) and the ACS capability and control
//! (control bits only from the capability).

use peerpath_model::{Acs, Port};

use crate::check_mps_value;
use crate::raw::{AcsBit, RawAcs};
use crate::source::{ypath, Msg, Path, Seg};

use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// MPSS is one of 128…4096, and so is MPS, which is at most MPSS.
    pub(super) fn check_mps(&mut self, p: &Path, mpss: u32, mps: Option<u32>) {
        let mut ok = true;
        if let Err(expected) = check_mps_value(mpss) {
            ok = false;
            let mut pp = p.clone();
            pp.push(Seg::from("mpss"));
            self.report(
                pp,
                Msg::new(format!("{mpss} is not a valid MPSS")).expected(expected),
            );
        }
        if let Some(mps) = mps {
            let mut pp = p.clone();
            pp.push(Seg::from("mps"));
            if let Err(expected) = check_mps_value(mps) {
                self.report(
                    pp,
                    Msg::new(format!("{mps} is not a valid MPS")).expected(expected),
                );
            } else if ok && mps > mpss {
                self.report(
                    pp,
                    Msg::new(format!("MPS {mps} is above the MPSS {mpss}"))
                        .expected(format!("at most {mpss}"))
                        .help("MPS is what firmware programmed; it cannot exceed what the device supports"),
                );
            }
        }
    }

    /// The ACS capability and control; control sets only bits of the capability.
    pub(super) fn acs(&mut self, p: &Path, acs: &Option<RawAcs>) -> Option<Acs> {
        let acs = acs.as_ref()?;
        let cap = AcsBit::to_flags(&acs.cap);
        let ctl = acs.ctl.as_ref().map(|c| AcsBit::to_flags(c));
        if let (Some(bits), Some(ctl_flags)) = (&acs.ctl, ctl) {
            let extra = ctl_flags - cap;
            if !extra.is_empty() {
                let first = bits
                    .iter()
                    .position(|b| extra.contains(b.flag()))
                    .unwrap_or(0);
                let mut pp = p.clone();
                pp.extend(ypath!["acs", "ctl", first]);
                let names = extra.names();
                self.report(
                    pp,
                    Msg::new(format!(
                        "ACS Control sets {} not in the capability {cap}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .expected(format!("a subset of cap {cap}")),
                );
            }
        }
        Some(Acs { cap, ctl })
    }

    /// The port fields of a root port or switch port (for [`Entity::Switch`], its
    /// upstream port), checked.
    pub(super) fn port(
        &mut self,
        e: Entity,
        mpss: u32,
        mps: Option<u32>,
        acs: &Option<RawAcs>,
        mf: Option<bool>,
    ) -> Port {
        let p = self.port_path(e);
        self.check_mps(&p, mpss, mps);
        let acs = self.acs(&p, acs);
        Port {
            mpss,
            mps: mps.unwrap_or(128),
            acs,
            tbu: None,
            splits_oversized_writes: false,
            multifunction: mf.unwrap_or(false),
        }
    }
}
