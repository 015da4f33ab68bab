//! `peerpath schema` (issue 9): prints the JSON Schema that `docs/peerpath.schema.json`
//! holds (the scenario one with `--scenario`), writes it with `-o`, and never over an
//! existing file without `--force`.

use crate::common;

use common::{peerpath, repo, stderr, stdout};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("peerpath-schema-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn schema_prints_the_checked_in_schemas() {
    for (args, file) in [
        (&["schema"][..], "docs/peerpath.schema.json"),
        (
            &["schema", "--scenario"][..],
            "docs/peerpath-scenario.schema.json",
        ),
    ] {
        let o = peerpath(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        let have = std::fs::read_to_string(repo().join(file)).expect("checked-in schema");
        assert!(text == have, "{args:?} differs from {file}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(v["type"], "object");
    }
    let platform: serde_json::Value =
        serde_json::from_str(&stdout(&peerpath(&["schema"]))).expect("JSON");
    assert!(platform["properties"]["endpoints"].is_object());
    let scenario: serde_json::Value =
        serde_json::from_str(&stdout(&peerpath(&["schema", "--scenario"]))).expect("JSON");
    assert!(scenario["properties"]["expect"].is_object());
}

#[test]
fn an_existing_output_needs_force() {
    let dir = tmp("force");
    let out = dir.join("peerpath.schema.json");
    let f = out.to_str().expect("utf-8 path");
    let o = peerpath(&["schema", "-o", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "the file, not stdout");
    let written = std::fs::read_to_string(&out).expect("written");
    assert_eq!(written, stdout(&peerpath(&["schema"])));

    std::fs::write(&out, "mine\n").expect("write");
    let o = peerpath(&["schema", "-o", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("exists; not overwritten (use --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "mine\n");

    let o = peerpath(&["schema", "--scenario", "-o", f, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let replaced = std::fs::read_to_string(&out).expect("read");
    assert_eq!(replaced, stdout(&peerpath(&["schema", "--scenario"])));
}
