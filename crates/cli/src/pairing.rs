//! One way to name a pairing (issue 19): every command that takes one (`explain`,
//! `kernels`, `fix`, `draw`, `dot`) reads `IMPORTER EXPORT [PLATFORM]`, the platform
//! last as for every other command. `IMPORTER:EXPORT` is read as the two names too
//! (it was `draw --pair`'s form). An argument that looks like a platform file in a
//! name's place is not opened as a file or looked up as a name: the error says which
//! argument was taken as what, and the command line that was probably meant.

use std::path::{Path, PathBuf};

use crate::args::PlatformArgs;
use crate::exit::Exit;

/// `IMPORTER EXPORT [PLATFORM]` and where else the platform may come from, flattened
/// into each command that takes a pairing.
#[derive(clap::Args, Debug)]
pub(crate) struct PairingArgs {
    /// The importing endpoint, the export, then the platform file (default: the
    /// embedded platform). `IMPORTER:EXPORT` is read as the first two.
    #[arg(value_names = ["IMPORTER", "EXPORT", "PLATFORM"], num_args = 0..=3)]
    words: Vec<String>,
    /// Instead of a platform file, import the running machine (or the /sys tree under
    /// ROOT) in memory, as `peerpath import --sysfs` would; nothing is written.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "/")]
    sysfs: Option<PathBuf>,
    /// Behave as this kernel release (`6.8`, `4.18.0-553.el8_10.x86_64`, `newest`),
    /// whatever `kernel.release` says (docs/kernels.md).
    #[arg(long, value_name = "RELEASE", value_parser = crate::args::parse_release)]
    kernel: Option<peerpath_model::Release>,
}

/// A pairing by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    /// The importing endpoint's name.
    pub importer: String,
    /// The export's name.
    pub export: String,
}

impl PairingArgs {
    /// The pairing (required) and the platform, or the error printed.
    pub(crate) fn required(&self, command: &str) -> Result<(Pair, PlatformArgs), Exit> {
        let (pair, source) = self.resolve(command, None, true)?;
        match pair {
            Some(pair) => Ok((pair, source)),
            None => Err(usage(
                command,
                true,
                "a pairing is needed: IMPORTER EXPORT [PLATFORM]",
            )),
        }
    }

    /// The pairing if one is named (`legacy`: the form an option of the command used to
    /// take, still read), and the platform, or the error printed.
    pub(crate) fn optional(
        &self,
        command: &str,
        legacy: Option<Pair>,
    ) -> Result<(Option<Pair>, PlatformArgs), Exit> {
        self.resolve(command, legacy, false)
    }

    fn resolve(
        &self,
        command: &str,
        legacy: Option<Pair>,
        required: bool,
    ) -> Result<(Option<Pair>, PlatformArgs), Exit> {
        let words = split_colon(&self.words);
        let (pair, platform) = read_words(command, &words, legacy, required)
            .map_err(|msg| usage(command, required, &msg))?;
        if let (Some(p), Some(_)) = (&platform, &self.sysfs) {
            return Err(usage(
                command,
                required,
                &format!(
                    "`{}` was taken as the platform file, and --sysfs gives the platform too; \
                     give one of them",
                    p.display()
                ),
            ));
        }
        if let Some(p) = &platform {
            if !p.exists() {
                return Err(usage(
                    command,
                    required,
                    &format!(
                        "`{}` was taken as the platform file ({}), and there is no such file",
                        p.display(),
                        if required || pair.is_some() {
                            "the argument after IMPORTER EXPORT"
                        } else {
                            "the only argument"
                        }
                    ),
                ));
            }
        }
        Ok((
            pair,
            PlatformArgs {
                platform,
                sysfs: self.sysfs.clone(),
                kernel: self.kernel,
            },
        ))
    }
}

/// Prints a usage error (exit 2, as clap's own).
fn usage(command: &str, required: bool, msg: &str) -> Exit {
    let pairing = if required {
        "IMPORTER EXPORT"
    } else {
        "[IMPORTER EXPORT]"
    };
    eprintln!("error: {msg}");
    eprintln!(
        "usage: peerpath {command} {pairing} [PLATFORM] \
         (e.g. peerpath {command} nic0 gpu1-vram topologies/dgx-like.yaml)"
    );
    Exit::InvalidInput
}

/// Whether an argument looks like a platform file rather than a device or export
/// name: it names an existing file, ends in `.yaml`/`.yml`, or holds a `/`.
pub(crate) fn looks_like_file(word: &str) -> bool {
    word.ends_with(".yaml")
        || word.ends_with(".yml")
        || word.contains('/')
        || Path::new(word).is_file()
}

/// `IMPORTER:EXPORT` as two words (not a file that exists, not a path).
fn split_colon(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        match w.split_once(':') {
            Some((a, b)) if !a.is_empty() && !b.is_empty() && !looks_like_file(w) => {
                out.push(a.to_owned());
                out.push(b.to_owned());
            }
            _ => out.push(w.clone()),
        }
    }
    out
}

/// The pairing and the platform from the positional words; the error message says
/// which argument was taken as what.
fn read_words(
    command: &str,
    words: &[String],
    legacy: Option<Pair>,
    required: bool,
) -> Result<(Option<Pair>, Option<PathBuf>), String> {
    let roles = ["the importer", "the export", "the platform"];
    // Where a file stands in a name's place, say so and give the order meant.
    let names_end = match (words.len(), &legacy) {
        (1, None) if !required => 0,
        (_, Some(_)) => 0,
        (n, None) => n.min(2),
    };
    if let Some(i) = (0..names_end).find(|&i| looks_like_file(&words[i])) {
        let mut meant: Vec<&str> = words
            .iter()
            .filter(|w| !looks_like_file(w))
            .map(String::as_str)
            .collect();
        if meant.is_empty() {
            meant = vec!["IMPORTER", "EXPORT"];
        }
        if meant.len() == 1 {
            meant.push("EXPORT");
        }
        meant.push(&words[i]);
        return Err(format!(
            "`{}` was taken as {}; the platform goes last: peerpath {command} {}",
            words[i],
            roles[i],
            meant.join(" ")
        ));
    }
    match (words, legacy) {
        ([], legacy) => Ok((legacy, None)),
        ([platform], Some(legacy)) => Ok((Some(legacy), Some(PathBuf::from(platform)))),
        ([platform], None) if !required => Ok((None, Some(PathBuf::from(platform)))),
        ([one], None) => Err(format!(
            "`{one}` was taken as the importer, and no export follows; \
             a pairing is IMPORTER EXPORT (or IMPORTER:EXPORT)"
        )),
        ([importer, export], None) => Ok((
            Some(Pair {
                importer: importer.clone(),
                export: export.clone(),
            }),
            None,
        )),
        ([importer, export, platform], None) => Ok((
            Some(Pair {
                importer: importer.clone(),
                export: export.clone(),
            }),
            Some(PathBuf::from(platform)),
        )),
        (_, Some(_)) => Err(
            "the pairing is given twice, as IMPORTER EXPORT and by an option; give it once"
                .to_owned(),
        ),
        (more, None) => Err(format!(
            "{} arguments; a pairing and its platform are IMPORTER EXPORT [PLATFORM]",
            more.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check(words: &[&str], required: bool, expect: Expect) {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        let got = read_words("explain", &split_colon(&words), None, required);
        expect.assert_eq(&format!("{got:?}"));
    }

    #[test]
    fn names_then_platform() {
        check(
            &["nic0", "gpu0-vram"],
            true,
            expect![[r#"Ok((Some(Pair { importer: "nic0", export: "gpu0-vram" }), None))"#]],
        );
        check(
            &["nic0", "gpu0-vram", "topologies/dgx-like.yaml"],
            true,
            expect![[
                r#"Ok((Some(Pair { importer: "nic0", export: "gpu0-vram" }), Some("topologies/dgx-like.yaml")))"#
            ]],
        );
        check(
            &["nic0:gpu0-vram", "box.yaml"],
            true,
            expect![[
                r#"Ok((Some(Pair { importer: "nic0", export: "gpu0-vram" }), Some("box.yaml")))"#
            ]],
        );
    }

    #[test]
    fn issue_19_a_platform_in_a_names_place_is_named() {
        check(
            &["topologies/dgx-like.yaml", "gpu0", "gpu1-vram"],
            true,
            expect![[
                r#"Err("`topologies/dgx-like.yaml` was taken as the importer; the platform goes last: peerpath explain gpu0 gpu1-vram topologies/dgx-like.yaml")"#
            ]],
        );
        check(
            &["gpu0", "box.yaml"],
            true,
            expect![[
                r#"Err("`box.yaml` was taken as the export; the platform goes last: peerpath explain gpu0 EXPORT box.yaml")"#
            ]],
        );
        check(
            &["nic0"],
            true,
            expect![[
                r#"Err("`nic0` was taken as the importer, and no export follows; a pairing is IMPORTER EXPORT (or IMPORTER:EXPORT)")"#
            ]],
        );
        check(
            &["a", "b", "c", "d"],
            true,
            expect![[
                r#"Err("4 arguments; a pairing and its platform are IMPORTER EXPORT [PLATFORM]")"#
            ]],
        );
    }

    #[test]
    fn without_a_pairing_one_word_is_the_platform() {
        check(
            &["box.yaml"],
            false,
            expect![[r#"Ok((None, Some("box.yaml")))"#]],
        );
        check(&[], false, expect![[r#"Ok((None, None))"#]]);
    }

    #[test]
    fn the_old_option_still_names_the_pairing() {
        let legacy = Pair {
            importer: "nic0".into(),
            export: "gpu0-vram".into(),
        };
        let got = read_words(
            "draw",
            &["box.yaml".to_owned()],
            Some(legacy.clone()),
            false,
        );
        assert_eq!(
            got,
            Ok((Some(legacy.clone()), Some(PathBuf::from("box.yaml"))))
        );
        let twice = read_words(
            "draw",
            &["a".to_owned(), "b".to_owned()],
            Some(legacy),
            false,
        );
        assert!(twice.is_err(), "{twice:?}");
    }
}
