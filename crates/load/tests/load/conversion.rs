//! Unknown keys, missing keys and badly typed values: located, with help, all at once.

use expect_test::expect;

use crate::{check, EP, HB};

#[test]
fn unknown_key_suggests_the_closest() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, mpsss: 256}}\n"),
        expect![[r#"
            error: t.yaml:9:42: endpoints[0].mpsss: unknown key `mpsss`
              expected: one of name, parent, bdf, id, class, mpss, mps, dma_mask_bits, bus_dma_limit, coherent, ats, trusted, multifunction, acs, driver, bars, cc, pcie, link
              help: did you mean `mpss`?"#]],
    );
}

#[test]
fn unknown_top_level_key() {
    check(
        &format!("{HB}endpionts: []\n"),
        expect![[r#"
            error: t.yaml:8:1: endpionts: unknown key `endpionts`
              expected: one of format, name, description, kernel, interconnect, memory, iommus, host_bridges, switches, endpoints, bridges, domains, exports, imports, traffic, assumed, vms, ide_streams
              help: did you mean `endpoints`?"#]],
    );
}

#[test]
fn missing_required_key_points_at_the_mapping() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp0}}\n"),
        expect![[r#"
            error: t.yaml:9:3: endpoints[0].bdf: missing required key `bdf`"#]],
    );
}

#[test]
fn a_string_where_a_mapping_is_expected() {
    check(
        &format!("{HB}kernel: linux\n"),
        expect![[r#"
            error: t.yaml:8:9: kernel: found `linux`
              expected: a mapping"#]],
    );
}

#[test]
fn a_scalar_where_a_list_is_expected() {
    check(
        &format!("{HB}kernel: {{disable_acs_redir: rp0}}\n"),
        expect![[r#"
            error: t.yaml:8:29: kernel.disable_acs_redir: found `rp0`
              expected: a sequence
              help: write a list: `[rp0]`"#]],
    );
}

#[test]
fn unknown_enum_value_suggests_the_closest() {
    check(
        &format!("{HB}kernel: {{arch: arm46}}\n"),
        expect![[r#"
            error: t.yaml:8:16: kernel.arch: unknown value `arm46`
              expected: one of arm64, x86_64, ppc64
              help: did you mean `arm64`?"#]],
    );
}

#[test]
fn booleans_are_true_or_false_only() {
    check(
        &format!("{HB}kernel: {{noats: yes}}\n"),
        expect![[r#"
            error: t.yaml:8:17: kernel.noats: found `yes`
              expected: true or false"#]],
    );
}

#[test]
fn numbers_overflowing_64_bits() {
    check(
        &format!(
            "{HB}memory:\n- {{name: d0, base: 18446744073709551616, size: 1GiB}}\n- {{name: d1, base: 0x1_0000_0000_0000_0000, size: 1GiB}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:20: memory[0].base: `18446744073709551616` does not fit in 64 bits
              expected: an address below 2^64: an integer, decimal or 0x hex, `_` allowed

            error: t.yaml:10:20: memory[1].base: `0x1_0000_0000_0000_0000` does not fit in 64 bits
              expected: an address below 2^64: an integer, decimal or 0x hex, `_` allowed"#]],
    );
}

#[test]
fn size_with_a_decimal_unit_suggests_the_binary_one() {
    check(
        &format!("{HB}memory:\n- {{name: d0, base: 0, size: 4KB}}\n"),
        expect![[r#"
            error: t.yaml:9:29: memory[0].size: `4KB` is not a size
              expected: bytes as an integer, or an integer with a binary unit: KiB, MiB, GiB, TiB, PiB, EiB
              help: did you mean `4KiB`? (sizes use binary units)"#]],
    );
}

#[test]
fn size_overflowing_64_bits_with_a_unit() {
    check(
        &format!("{HB}memory:\n- {{name: d0, base: 0, size: 16EiB}}\n"),
        expect![[r#"
            error: t.yaml:9:29: memory[0].size: `16EiB` does not fit in 64 bits
              expected: bytes as an integer, or an integer with a binary unit: KiB, MiB, GiB, TiB, PiB, EiB"#]],
    );
}

#[test]
fn negative_and_out_of_range_integers() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:00.0, mpss: -256, dma_mask_bits: 300}}\n"),
        expect![[r#"
            error: t.yaml:9:48: endpoints[0].mpss: `-256` is negative
              expected: an integer, decimal or 0x hex

            error: t.yaml:9:69: endpoints[0].dma_mask_bits: `300` is out of range
              expected: an integer from 0 to 255"#]],
    );
}

#[test]
fn bad_bdf() {
    check(
        &format!("{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: 01:20.0}}\n"),
        expect!["error: t.yaml:9:33: endpoints[0].bdf: `01:20.0` is not a BDF (device 0x20 is above 0x1f); expected `ssss:bb:dd.f` or `bb:dd.f` in hex"],
    );
}

#[test]
fn duplicate_keys_are_all_reported() {
    check(
        "format: 1\nname: a\nname: b\nformat: 1\n",
        expect![[r#"
            error: t.yaml:3:1: name: duplicate key `name`
              help: `name` is first given at 2:1

            error: t.yaml:4:1: format: duplicate key `format`
              help: `format` is first given at 1:1"#]],
    );
}

#[test]
fn every_error_of_the_file_in_one_run_in_file_order() {
    check(
        &format!(
            "{EP}kernel: {{arch: arm46, noats: 1}}\nswitches:\n- {{name: sw0, parent: rp0, upstream: {{bdf: 02:00.0, mpss: 256, acs: {{cap: [sv, xx]}}}}}}\n"
        ),
        expect![[r#"
            error: t.yaml:10:16: kernel.arch: unknown value `arm46`
              expected: one of arm64, x86_64, ppc64
              help: did you mean `arm64`?

            error: t.yaml:10:30: kernel.noats: found `1`
              expected: true or false

            error: t.yaml:12:80: switches[0].upstream.acs.cap[1]: unknown value `xx`
              expected: one of sv, tb, rr, cr, uf, ec, dt"#]],
    );
}

#[test]
fn a_broken_element_does_not_cascade_into_dangling_references() {
    // ep0's bdf is bad, so ep0 is dropped; the export naming ep0 must not also be
    // reported as dangling, and the second endpoint is still validated.
    check(
        &format!(
            "{HB}endpoints:\n- {{name: ep0, parent: rp0, bdf: zz}}\n- {{name: ep1, parent: rp9, bdf: 02:00.0}}\nexports:\n- {{name: x0, device: ep0, bar: 0}}\n"
        ),
        expect![[r#"
            error: t.yaml:9:33: endpoints[0].bdf: `zz` is not a BDF (no `.function`); expected `ssss:bb:dd.f` or `bb:dd.f` in hex

            error: t.yaml:10:23: endpoints[1].parent: `rp9` is not defined
              expected: the name of a root port, switch downstream port, bridge or host bridge (RCiEP)
              help: did you mean `rp0`?"#]],
    );
}

#[test]
fn format_other_than_1() {
    check(
        "format: 2\nname: t\n",
        expect![[r#"
            error: t.yaml:1:9: format: format 2 is not supported
              expected: 1"#]],
    );
}

#[test]
fn missing_format_and_name() {
    check(
        "description: nothing\n",
        expect![[r#"
            error: t.yaml:1:1: format: missing required key `format`

            error: t.yaml:1:1: name: missing required key `name`"#]],
    );
}

#[test]
fn a_top_level_sequence() {
    check(
        "- format: 1\n",
        expect![[r#"
            error: t.yaml:1:1: found a sequence
              expected: a platform: a mapping with `format: 1`, `name:` and the hardware"#]],
    );
}

#[test]
fn invalid_yaml_syntax_is_located() {
    check(
        "format: 1\nname: [t\nhost_bridges: []\n",
        expect![[r#"
            error: t.yaml:3:13: invalid YAML: illegal placement of ':' indicator"#]],
    );
}

#[test]
fn miette_renders_each_diagnostic_with_its_snippet() {
    let err = peerpath_load::load_str(
        "t.yaml",
        "format: 1\nname: t\nhost_bridges:\n- {name: hb0, root_ports: [{name: rp0, bdf: 00:01.0, mpss: 384}]}\nkernel: {arch: arm46}\n",
    )
    .expect_err("two errors");
    // The plain Diagnostics is a miette::Diagnostic too, relating every item.
    let related = miette::Diagnostic::related(&err).map_or(0, Iterator::count);
    assert_eq!(related, 2);
    let mut out = String::new();
    let fancy = err.fancy();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, &fancy)
        .expect("renders");
    expect![[r#"
          × could not load t.yaml: 2 errors

        Error: 
          × host_bridges[0].root_ports[0].mpss: 384 is not a valid MPSS
           ╭─[t.yaml:4:60]
         3 │ host_bridges:
         4 │ - {name: hb0, root_ports: [{name: rp0, bdf: 00:01.0, mpss: 384}]}
           ·                                                            ─┬─
           ·                                                             ╰── here
         5 │ kernel: {arch: arm46}
           ╰────
          help: expected: one of 128, 256, 512, 1024, 2048, 4096

        Error: 
          × kernel.arch: unknown value `arm46`
           ╭─[t.yaml:5:16]
         4 │ - {name: hb0, root_ports: [{name: rp0, bdf: 00:01.0, mpss: 384}]}
         5 │ kernel: {arch: arm46}
           ·                ──┬──
           ·                  ╰── here
           ╰────
          help: expected: one of arm64, x86_64, ppc64
                did you mean `arm64`?
    "#]]
    .assert_eq(&out);
    // Owned, so it fits miette::Report.
    let report = miette::Report::new(fancy);
    assert_eq!(report.to_string(), "could not load t.yaml: 2 errors");
}

#[test]
fn an_empty_list_value_is_an_empty_list() {
    // `bridges:` with nothing after it is null in YAML; lists treat it as absent.
    check(
        &format!("{EP}bridges:\nswitches:\nexports:\n"),
        expect!["ok"],
    );
}
