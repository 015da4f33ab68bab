//! Clearing ACS redirect on a pairing's ports, persistently and at runtime (K4.2,
//! K1.8; [PCIe §7.7.8.3] ACS Control register).
//!
//! The persistent change is the kernel's own hint, `pci=disable_acs_redir=<BDF;…>`
//! (`pci_p2pdma_map_type` prints it; `__pci_config_acs` applies it at enumeration).
//! The runtime change writes each port's ACS Control register with `setpci`
//! (`ECAP_ACS+0x6.w`, the 16-bit Control register at offset 6 of the ACS extended
//! capability): its current value with RR, CR and EC cleared and every other bit kept,
//! so source validation (SV), translation blocking (TB) and upstream forwarding (UF)
//! stay as they are. The runtime change is lost on reboot and on hot-plug (the kernel
//! programs ACS again when it enumerates the port, `pci_enable_acs`), and the kernel's
//! IOMMU groups, computed at boot, no longer describe the hardware: what the clearing
//! gives up is for the caller to show (K4.3).

use peerpath_model::{AcsFlags, NodeId};
use peerpath_topology::Topology;

/// The bits clearing ACS redirect removes (`disable_acs_redir`: RR, CR, EC).
pub(crate) const CLEARED: AcsFlags = AcsFlags::REDIR;

/// One port's runtime change.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SetpciLine {
    /// The port's name.
    pub port: String,
    /// The port's BDF, `SSSS:BB:DD.F`.
    pub bdf: String,
    /// The ACS Control register the kernel leaves (K4.1, K4.2), as a 16-bit value.
    pub current: String,
    /// The value written: `current` without RR, CR and EC.
    pub value: String,
    /// The command.
    pub command: String,
}

/// Clearing ACS redirect on some ports: the kernel parameter and the runtime commands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClearRedirect {
    /// `pci=disable_acs_redir=<BDF;…>`.
    pub parameter: String,
    /// One `setpci` line per port with a BDF.
    pub runtime: Vec<SetpciLine>,
}

/// What clearing ACS redirect on `ports` takes; `None` when no port has a BDF.
pub fn clear_redirect(topo: &Topology<'_>, ports: &[NodeId]) -> Option<ClearRedirect> {
    let runtime: Vec<SetpciLine> = ports
        .iter()
        .filter_map(|&n| {
            let bdf = topo.bdf(n)?.to_string();
            let ctl = topo.acs_ctl(n);
            let value = ctl.difference(CLEARED);
            Some(SetpciLine {
                port: topo.name(n).to_owned(),
                command: format!("setpci -s {bdf} ECAP_ACS+0x6.w={:04x}", value.bits()),
                bdf,
                current: format!("{:04x}", ctl.bits()),
                value: format!("{:04x}", value.bits()),
            })
        })
        .collect();
    if runtime.is_empty() {
        return None;
    }
    let bdfs: Vec<&str> = runtime.iter().map(|l| l.bdf.as_str()).collect();
    Some(ClearRedirect {
        parameter: format!("pci=disable_acs_redir={}", bdfs.join(";")),
        runtime,
    })
}

impl ClearRedirect {
    /// The runtime alternative, for a finding's fix: `or at runtime (…): setpci …`.
    pub fn at_runtime(&self) -> String {
        let cmds: Vec<&str> = self.runtime.iter().map(|l| l.command.as_str()).collect();
        format!(
            "or at runtime (lost on reboot and hot-plug): {}",
            cmds.join("; ")
        )
    }

    /// One sentence for a finding's fix: the parameter, then the runtime commands.
    pub fn sentence(&self) -> String {
        format!(
            "add the kernel parameter {}, {}",
            self.parameter,
            self.at_runtime()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat::{self, node};
    use peerpath_model::IommuKind;

    #[test]
    fn runtime_values_clear_only_rr_cr_ec() {
        let p = testplat::switch_pair(|b| {
            testplat::add_iommu(b, IommuKind::Smmuv3);
            let dp0 = node(b, "sw0.dp0");
            // Firmware left SV, RR, CR, UF, EC and DT on; TB off.
            b.acs(
                dp0,
                AcsFlags::all().difference(AcsFlags::TB),
                Some(AcsFlags::all().difference(AcsFlags::TB)),
            );
            let dp1 = node(b, "sw0.dp1");
            b.acs(dp1, AcsFlags::REQ, None);
        });
        let topo = Topology::new(&p);
        let ports: Vec<NodeId> = ["sw0.dp0", "sw0.dp1"]
            .iter()
            .filter_map(|n| p.node_by_name(n))
            .collect();
        let fix = clear_redirect(&topo, &ports).expect("ports have BDFs");
        assert_eq!(
            fix.parameter,
            "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"
        );
        // 0x7d = SV|RR|CR|UF|EC|DT -> SV|UF|DT = 0x51.
        assert_eq!(fix.runtime[0].current, "007d");
        assert_eq!(fix.runtime[0].value, "0051");
        assert_eq!(
            fix.runtime[0].command,
            "setpci -s 0000:02:00.0 ECAP_ACS+0x6.w=0051"
        );
        // The kernel's SV|RR|CR|UF (K4.1) -> SV|UF.
        assert_eq!(fix.runtime[1].current, "001d");
        assert_eq!(fix.runtime[1].value, "0011");
    }
}
