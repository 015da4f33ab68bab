//! What `--apply` writes: the user's own file, edited where the knobs changed
//! (`peerpath_load::edit`), so comments, blank lines, key order and style stay as
//! written. The edits are the difference between the platform the file gives and the
//! changed platform, knob by knob (the knobs of [`crate::Change`] and an export's
//! `via`, which `--via` may override); anything else differing is refused. The edited
//! text is loaded again and must give the changed platform exactly.

use peerpath_load::edit::{scalar, Editor, Step};
use peerpath_model::{ConfigAcs, Domain, Kernel, NodeId, NodeKind, Platform, Vm};

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
    let mut doc = Doc {
        e: Editor::new(source.text).map_err(|e| e.to_string())?,
        root: source.within.map(Step::Key).into_iter().collect(),
    };
    let name = |n: &NodeId| scalar(&target.node(*n).name);
    kernel_knobs(&mut doc, &base.kernel, &target.kernel, &name)?;
    if base.domains != target.domains {
        domains(&mut doc, &base.domains, &target.domains, &name)?;
    }
    for (i, (b, t)) in base.exports.iter().zip(&target.exports).enumerate() {
        if b.via != t.via {
            doc.set(
                &[Step::Key("exports"), Step::Index(i), Step::Key("via")],
                t.via.as_str(),
            )?;
        }
    }
    drivers(&mut doc, base, target)?;
    if base.vms != target.vms {
        vms(&mut doc, &base.vms, &target.vms, &name)?;
    }
    Ok(doc.e.finish())
}

/// The file being edited, and the key path the platform sits under.
struct Doc<'t> {
    e: Editor<'t>,
    root: Vec<Step<'t>>,
}

impl<'t> Doc<'t> {
    /// The path `rest` below the platform's root.
    fn at(&self, rest: &[Step<'static>]) -> Vec<Step<'t>> {
        self.root
            .iter()
            .copied()
            .chain(rest.iter().copied())
            .collect()
    }

    /// Sets the scalar at `rest` (below the platform's root) to `value`.
    fn set(&mut self, rest: &[Step<'static>], value: &str) -> Result<(), String> {
        let path = self.at(rest);
        self.e.set(&path, value).map_err(fail)
    }
}

fn fail(e: peerpath_load::edit::EditError) -> String {
    e.to_string()
}

/// A flow sequence of `v`'s items.
fn list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

/// The kernel's knobs: its release and command-line parameters, `disable_acs_redir`
/// appended to where the target only adds ports, `config_acs` entry by entry.
fn kernel_knobs(
    doc: &mut Doc<'_>,
    bk: &Kernel,
    tk: &Kernel,
    name: &dyn Fn(&NodeId) -> String,
) -> Result<(), String> {
    let key = |k: &'static str| [Step::Key("kernel"), Step::Key(k)];
    if bk.release != tk.release {
        let r = tk.release.as_deref().unwrap_or("newest");
        doc.set(&key("release"), &format!("\"{r}\""))?;
    }
    if bk.default_domain != tk.default_domain {
        doc.set(&key("default_domain"), tk.default_domain.as_str())?;
    }
    if bk.pcie_bus_config != tk.pcie_bus_config {
        doc.set(&key("pcie_bus_config"), tk.pcie_bus_config.as_str())?;
    }
    if bk.swiotlb_force != tk.swiotlb_force {
        doc.set(&key("swiotlb_force"), &tk.swiotlb_force.to_string())?;
    }
    if bk.noats != tk.noats {
        doc.set(&key("noats"), &tk.noats.to_string())?;
    }
    let redir = doc.at(&key("disable_acs_redir"));
    if bk.disable_acs_redir != tk.disable_acs_redir {
        if tk.disable_acs_redir.starts_with(&bk.disable_acs_redir) {
            let new: Vec<String> = tk.disable_acs_redir[bk.disable_acs_redir.len()..]
                .iter()
                .map(name)
                .collect();
            doc.e.append(&redir, &new).map_err(fail)?;
        } else {
            let all: Vec<String> = tk.disable_acs_redir.iter().map(name).collect();
            doc.e.set(&redir, &list(&all)).map_err(fail)?;
        }
    }
    if bk.config_acs != tk.config_acs {
        config_acs(doc, &bk.config_acs, &tk.config_acs, name)?;
    }
    Ok(())
}

/// `kernel.config_acs`: changed entries replaced and new ones appended, or the whole
/// list set where the target has fewer.
fn config_acs(
    doc: &mut Doc<'_>,
    b: &[ConfigAcs],
    t: &[ConfigAcs],
    name: &dyn Fn(&NodeId) -> String,
) -> Result<(), String> {
    let config = doc.at(&[Step::Key("kernel"), Step::Key("config_acs")]);
    let flow = |c: &ConfigAcs| {
        format!(
            "{{port: {}, set: [{}], clear: [{}]}}",
            name(&c.port),
            c.set.names().join(", "),
            c.clear.names().join(", ")
        )
    };
    if t.len() < b.len() {
        let all: Vec<String> = t.iter().map(flow).collect();
        return doc.e.set(&config, &list(&all)).map_err(fail);
    }
    for (i, (b, t)) in b.iter().zip(t).enumerate() {
        if b != t {
            let mut path = config.clone();
            path.push(Step::Index(i));
            doc.e.replace(&path, &flow(t)).map_err(fail)?;
        }
    }
    let new: Vec<String> = t[b.len()..].iter().map(flow).collect();
    if !new.is_empty() {
        doc.e.append(&config, &new).map_err(fail)?;
    }
    Ok(())
}

/// `domains`, by name: gone ones removed, changed ones replaced, new ones appended.
fn domains(
    doc: &mut Doc<'_>,
    base: &[Domain],
    target: &[Domain],
    name: &dyn Fn(&NodeId) -> String,
) -> Result<(), String> {
    let flow = |d: &Domain| {
        let devices: Vec<String> = d.devices.iter().map(name).collect();
        format!(
            "{{name: {}, type: {}, devices: {}}}",
            scalar(&d.name),
            d.ty.as_str(),
            list(&devices)
        )
    };
    let domains = doc.at(&[Step::Key("domains")]);
    for (i, b) in base.iter().enumerate() {
        let mut path = domains.clone();
        path.push(Step::Index(i));
        match target.iter().find(|t| t.name == b.name) {
            None => doc.e.remove(&path).map_err(fail)?,
            Some(t) if t != b => doc.e.replace(&path, &flow(t)).map_err(fail)?,
            Some(_) => {}
        }
    }
    let new: Vec<String> = target
        .iter()
        .filter(|t| !base.iter().any(|b| b.name == t.name))
        .map(flow)
        .collect();
    if !new.is_empty() {
        doc.e.append(&domains, &new).map_err(fail)?;
    }
    Ok(())
}

/// Issue 18: an endpoint's `driver` where a change assigns it to a VM (an assigned
/// device is bound to vfio-pci, so a stated `driver` follows).
fn drivers(doc: &mut Doc<'_>, base: &Platform, target: &Platform) -> Result<(), String> {
    for (bn, tn) in base.nodes.iter().zip(&target.nodes) {
        if let (NodeKind::Endpoint(b), NodeKind::Endpoint(t)) = (&bn.kind, &tn.kind) {
            if b.driver != t.driver {
                let i = doc
                    .e
                    .index_where(&doc.at(&[Step::Key("endpoints")]), "name", &tn.name)
                    .ok_or_else(|| format!("endpoint {} not found in the file", tn.name))?;
                doc.set(
                    &[Step::Key("endpoints"), Step::Index(i), Step::Key("driver")],
                    t.driver.as_str(),
                )?;
            }
        }
    }
    Ok(())
}

/// Issue 18: the VM knobs — a device's `ats`, `map_bars`, which devices a VM has.
/// Only a VM left without devices goes: its entry is removed whole; no change adds one.
fn vms(
    doc: &mut Doc<'_>,
    base: &[Vm],
    target: &[Vm],
    name: &dyn Fn(&NodeId) -> String,
) -> Result<(), String> {
    let gone: Vec<usize> = (0..base.len())
        .filter(|&i| !target.iter().any(|t| t.name == base[i].name))
        .collect();
    if base.len() != target.len() {
        if gone.len() + target.len() != base.len() {
            return Err("a change adds a VM".into());
        }
        for &i in &gone {
            let path = doc.at(&[Step::Key("vms"), Step::Index(i)]);
            doc.e.remove(&path).map_err(fail)?;
        }
    }
    let kept = base
        .iter()
        .enumerate()
        .filter(|(i, _)| base.len() == target.len() || !gone.contains(i));
    for ((i, b), t) in kept.zip(target) {
        let path = doc.at(&[Step::Key("vms"), Step::Index(i)]);
        vm_devices(&mut doc.e, &path, b, t, name)?;
    }
    Ok(())
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
