//! What `--apply` writes: the user's own file, edited where the knobs changed
//! (`peerpath_load::edit`), so comments, blank lines, key order and style stay as
//! written. The edits are the difference between the platform the file gives and the
//! changed platform, knob by knob (the knobs of [`crate::Change`] and an export's
//! `via`, which `--via` may override); anything else differing is refused. The edited
//! text is loaded again and must give the changed platform exactly.

use peerpath_load::edit::{scalar, Editor, Step};
use peerpath_model::{ConfigAcs, Domain, NodeId, Platform};

/// The platform file a proposal is applied to.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The file's text.
    pub text: &'a str,
    /// The platform as the file gives it (before `--via`).
    pub base: &'a Platform,
    /// The key the platform sits under (`platform` in a scenario file), if any.
    pub within: Option<&'a str>,
}

/// `target` written as `source` edited.
pub(crate) fn edited(source: &Source<'_>, target: &Platform) -> Result<String, String> {
    let base = source.base;
    let mut e = Editor::new(source.text).map_err(|e| e.to_string())?;
    let root: Vec<Step<'_>> = source.within.map(Step::Key).into_iter().collect();
    let at = |rest: &[Step<'static>]| -> Vec<Step<'_>> {
        root.iter().copied().chain(rest.iter().copied()).collect()
    };
    let name = |n: &NodeId| scalar(&target.node(*n).name);
    let list = |v: &[String]| format!("[{}]", v.join(", "));
    let fail = |e: peerpath_load::edit::EditError| e.to_string();
    let (bk, tk) = (&base.kernel, &target.kernel);
    if bk.release != tk.release {
        let r = tk.release.as_deref().unwrap_or("newest");
        e.set(
            &at(&[Step::Key("kernel"), Step::Key("release")]),
            &format!("\"{r}\""),
        )
        .map_err(fail)?;
    }
    if bk.default_domain != tk.default_domain {
        e.set(
            &at(&[Step::Key("kernel"), Step::Key("default_domain")]),
            tk.default_domain.as_str(),
        )
        .map_err(fail)?;
    }
    if bk.pcie_bus_config != tk.pcie_bus_config {
        e.set(
            &at(&[Step::Key("kernel"), Step::Key("pcie_bus_config")]),
            tk.pcie_bus_config.as_str(),
        )
        .map_err(fail)?;
    }
    if bk.swiotlb_force != tk.swiotlb_force {
        e.set(
            &at(&[Step::Key("kernel"), Step::Key("swiotlb_force")]),
            &tk.swiotlb_force.to_string(),
        )
        .map_err(fail)?;
    }
    if bk.noats != tk.noats {
        e.set(
            &at(&[Step::Key("kernel"), Step::Key("noats")]),
            &tk.noats.to_string(),
        )
        .map_err(fail)?;
    }
    let redir = at(&[Step::Key("kernel"), Step::Key("disable_acs_redir")]);
    if bk.disable_acs_redir != tk.disable_acs_redir {
        if tk.disable_acs_redir.starts_with(&bk.disable_acs_redir) {
            let new: Vec<String> = tk.disable_acs_redir[bk.disable_acs_redir.len()..]
                .iter()
                .map(name)
                .collect();
            e.append(&redir, &new).map_err(fail)?;
        } else {
            let all: Vec<String> = tk.disable_acs_redir.iter().map(name).collect();
            e.set(&redir, &list(&all)).map_err(fail)?;
        }
    }
    let config = at(&[Step::Key("kernel"), Step::Key("config_acs")]);
    if bk.config_acs != tk.config_acs {
        let flow = |c: &ConfigAcs| {
            format!(
                "{{port: {}, set: [{}], clear: [{}]}}",
                name(&c.port),
                c.set.names().join(", "),
                c.clear.names().join(", ")
            )
        };
        if tk.config_acs.len() >= bk.config_acs.len() {
            for (i, (b, t)) in bk.config_acs.iter().zip(&tk.config_acs).enumerate() {
                if b != t {
                    let mut path = config.clone();
                    path.push(Step::Index(i));
                    e.replace(&path, &flow(t)).map_err(fail)?;
                }
            }
            let new: Vec<String> = tk.config_acs[bk.config_acs.len()..]
                .iter()
                .map(flow)
                .collect();
            if !new.is_empty() {
                e.append(&config, &new).map_err(fail)?;
            }
        } else {
            let all: Vec<String> = tk.config_acs.iter().map(flow).collect();
            e.set(&config, &list(&all)).map_err(fail)?;
        }
    }
    if base.domains != target.domains {
        let flow = |d: &Domain| {
            let devices: Vec<String> = d.devices.iter().map(name).collect();
            format!(
                "{{name: {}, type: {}, devices: {}}}",
                scalar(&d.name),
                d.ty.as_str(),
                list(&devices)
            )
        };
        let domains = at(&[Step::Key("domains")]);
        for (i, b) in base.domains.iter().enumerate() {
            let mut path = domains.clone();
            path.push(Step::Index(i));
            match target.domains.iter().find(|t| t.name == b.name) {
                None => e.remove(&path).map_err(fail)?,
                Some(t) if t != b => e.replace(&path, &flow(t)).map_err(fail)?,
                Some(_) => {}
            }
        }
        let new: Vec<String> = target
            .domains
            .iter()
            .filter(|t| !base.domains.iter().any(|b| b.name == t.name))
            .map(flow)
            .collect();
        if !new.is_empty() {
            e.append(&domains, &new).map_err(fail)?;
        }
    }
    for (i, (b, t)) in base.exports.iter().zip(&target.exports).enumerate() {
        if b.via != t.via {
            e.set(
                &at(&[Step::Key("exports"), Step::Index(i), Step::Key("via")]),
                t.via.as_str(),
            )
            .map_err(fail)?;
        }
    }
    // Issue 18: the VM knobs — a device's `ats`, `map_bars`, which devices a VM has
    // (an assigned device is bound to vfio-pci, so a stated `driver` follows).
    for (bn, tn) in base.nodes.iter().zip(&target.nodes) {
        if let (peerpath_model::NodeKind::Endpoint(b), peerpath_model::NodeKind::Endpoint(t)) =
            (&bn.kind, &tn.kind)
        {
            if b.driver != t.driver {
                let i = e
                    .index_where(&at(&[Step::Key("endpoints")]), "name", &tn.name)
                    .ok_or_else(|| format!("endpoint {} not found in the file", tn.name))?;
                e.set(
                    &at(&[Step::Key("endpoints"), Step::Index(i), Step::Key("driver")]),
                    t.driver.as_str(),
                )
                .map_err(fail)?;
            }
        }
    }
    if base.vms != target.vms {
        if base.vms.len() != target.vms.len() {
            // Only a VM left without devices goes: its entry is removed whole.
            let gone: Vec<usize> = (0..base.vms.len())
                .filter(|&i| !target.vms.iter().any(|t| t.name == base.vms[i].name))
                .collect();
            if gone.len() + target.vms.len() != base.vms.len() {
                return Err("a change adds a VM".into());
            }
            for &i in &gone {
                e.remove(&at(&[Step::Key("vms"), Step::Index(i)]))
                    .map_err(fail)?;
            }
            let kept: Vec<(usize, &peerpath_model::Vm)> = base
                .vms
                .iter()
                .enumerate()
                .filter(|(i, _)| !gone.contains(i))
                .collect();
            for ((i, b), t) in kept.into_iter().zip(&target.vms) {
                vm_devices(
                    &mut e,
                    &at(&[Step::Key("vms"), Step::Index(i)]),
                    b,
                    t,
                    &name,
                )?;
            }
            return Ok(e.finish());
        }
        for (i, (b, t)) in base.vms.iter().zip(&target.vms).enumerate() {
            vm_devices(
                &mut e,
                &at(&[Step::Key("vms"), Step::Index(i)]),
                b,
                t,
                &name,
            )?;
        }
    }
    Ok(e.finish())
}

/// One VM's edits: `map_bars`, each device's `ats`, devices removed and added. `vm` is
/// the path of the VM's entry.
fn vm_devices(
    e: &mut Editor<'_>,
    vm: &[Step<'_>],
    b: &peerpath_model::Vm,
    t: &peerpath_model::Vm,
    name: &dyn Fn(&NodeId) -> String,
) -> Result<(), String> {
    let fail = |e: peerpath_load::edit::EditError| e.to_string();
    let at = |rest: &[Step<'static>]| -> Vec<Step<'_>> {
        vm.iter().copied().chain(rest.iter().copied()).collect()
    };
    if b.name != t.name {
        return Err("a change renames a VM".into());
    }
    if b.map_bars != t.map_bars {
        if let Some(m) = t.map_bars {
            e.set(&at(&[Step::Key("map_bars")]), &m.to_string())
                .map_err(fail)?;
        }
    }
    let devices = at(&[Step::Key("devices")]);
    for (j, bd) in b.devices.iter().enumerate() {
        let mut item = devices.clone();
        item.push(Step::Index(j));
        match t.devices.iter().find(|d| d.device == bd.device) {
            None => e.remove(&item).map_err(fail)?,
            Some(td) if td.ats != bd.ats => {
                if let Some(a) = td.ats {
                    item.push(Step::Key("ats"));
                    e.set(&item, &a.to_string()).map_err(fail)?;
                }
            }
            Some(_) => {}
        }
    }
    let new: Vec<String> = t
        .devices
        .iter()
        .filter(|td| !b.devices.iter().any(|bd| bd.device == td.device))
        .map(|td| format!("{{device: {}}}", name(&td.device)))
        .collect();
    if !new.is_empty() {
        e.append(&devices, &new).map_err(fail)?;
    }
    Ok(())
}
