//! `cargo xtask pciids PCI.IDS`: writes `crates/import/data/pci.ids`, the vendor and
//! device lines of a `pci.ids` file (the PCI ID Repository, <https://pci-ids.ucw.cz/>,
//! as pciutils and hwdata ship it), for the importer's name → id lookup of dumps taken
//! without `lspci -nn`.
//!
//! Kept: the file's own header comment (version, date, licence: GPL-2.0-or-later or
//! BSD-3-Clause, at the user's choice), every vendor line and every device line.
//! Dropped: subsystem lines (two tabs), the other comments, and everything from the
//! first class line (`C xx`) on (device classes, lspci names them itself). What is left
//! is about 840 KB; the importer parses it only for a dump without ids.

use std::path::Path;

/// Where the trimmed table goes, relative to the workspace root.
pub(crate) const OUT: &str = "crates/import/data/pci.ids";

/// Trims `input` (a whole `pci.ids`) as the module comment says.
pub(crate) fn trim(input: &str) -> Result<String, String> {
    let mut out = String::with_capacity(input.len() / 2);
    let mut header = true;
    let mut version = false;
    out.push_str(
        "# Trimmed by `cargo xtask pciids` (xtask/src/pciids.rs): the vendor and device lines\n\
         # of the pci.ids below, without subsystems and classes. The original header follows.\n",
    );
    for line in input.lines() {
        if header {
            if line.starts_with('#') {
                version |= line.contains("Version:");
                out.push_str(line);
                out.push('\n');
                continue;
            }
            header = false;
        }
        if line.starts_with("C ") {
            break;
        }
        if line.is_empty() || line.starts_with('#') || line.starts_with("\t\t") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !version {
        return Err("the input has no `# Version:` header line: not a pci.ids file".into());
    }
    Ok(out)
}

/// Reads `input`, writes the trimmed table to `root/OUT`.
pub(crate) fn pciids(root: &Path, input: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(input)
        .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let out = trim(&text)?;
    let dest = root.join(OUT);
    std::fs::write(&dest, out).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    eprintln!("wrote {}", dest.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::trim;

    #[test]
    fn keeps_vendors_and_devices_drops_subsystems_and_classes() {
        let input = "#\n#\tVersion: 2025.07.11\n#\n\n# Syntax:\n1022  Advanced Micro Devices, Inc. [AMD]\n\t14a4  Genoa/Bergamo Root Complex\n\t\t1022 14a4  Sub\nC 06  Bridge\n\t00  Host bridge\n";
        let t = trim(input).expect("a pci.ids");
        assert!(t.contains(
            "1022  Advanced Micro Devices, Inc. [AMD]\n\t14a4  Genoa/Bergamo Root Complex\n"
        ));
        assert!(t.contains("#\tVersion: 2025.07.11\n"));
        assert!(!t.contains("Sub"));
        assert!(!t.contains("Host bridge"));
        assert!(!t.contains("Syntax"));
    }

    #[test]
    fn refuses_a_file_without_a_version() {
        assert!(trim("1022  AMD\n").is_err());
    }
}
