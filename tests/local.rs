//! Walking a local folder for an upload: what is sent, what is reported and skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::path::Path;

use filedeck::local::collect_uploads;

fn names(root: &Path) -> (Vec<String>, Vec<String>) {
    let (jobs, problems) = collect_uploads(&[root.to_path_buf()], "");
    let mut keys: Vec<String> = jobs
        .iter()
        .map(|j| format!("{}{}", j.folder, j.name))
        .collect();
    keys.sort();
    (keys, problems.iter().map(ToString::to_string).collect())
}

#[cfg(unix)]
#[test]
fn links_to_files_are_followed_links_to_folders_are_not() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("run");
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("sub/deeper/r1.fq"), b"reads").unwrap();
    let elsewhere = dir.path().join("raw.fq");
    std::fs::write(&elsewhere, b"raw reads").unwrap();
    symlink(&elsewhere, root.join("linked.fq")).unwrap();
    // A loop back up the tree, and a link to somewhere else entirely.
    symlink("..", root.join("sub/deeper/up")).unwrap();
    symlink("/", root.join("everything")).unwrap();
    symlink(dir.path().join("gone"), root.join("dangling")).unwrap();
    let (keys, problems) = names(&root);
    assert_eq!(keys, ["run/linked.fq", "run/sub/deeper/r1.fq"]);
    let joined = problems.join("\n");
    assert_eq!(problems.len(), 3, "{joined}");
    assert!(
        joined.contains("up: skipped, a link to a folder is not followed"),
        "{joined}"
    );
    assert!(
        joined.contains("everything: skipped, a link to a folder"),
        "{joined}"
    );
    assert!(joined.contains("dangling: No such file"), "{joined}");
}

#[cfg(unix)]
#[test]
fn names_no_key_can_hold_are_reported_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("run");
    std::fs::create_dir_all(&root).unwrap();
    for name in [
        "ok.vcf",
        "new\nline.txt",
        "esc\u{1b}[31mred.txt",
        "back\\slash.txt",
    ] {
        std::fs::write(root.join(name), b"x").unwrap();
    }
    let (keys, problems) = names(&root);
    assert_eq!(keys, ["run/ok.vcf"]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.contains("control character"))
            .count(),
        2
    );
    assert!(problems.iter().any(|p| p.contains("backslash")));
}

#[cfg(unix)]
#[test]
fn a_socket_is_skipped_with_the_reason_and_its_siblings_go() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("run");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("r1.fq"), b"reads").unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(root.join("agent.sock")).unwrap();
    let (keys, problems) = names(&root);
    assert_eq!(keys, ["run/r1.fq"]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].ends_with("agent.sock: skipped, not a regular file"),
        "{problems:?}"
    );
}

#[test]
fn partial_downloads_are_not_uploaded() {
    // An interrupted `get` leaves its partial beside the target; uploading that folder must
    // not send it, or a later download of the folder would land a file on another's partial.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("big.bin"), b"bytes").unwrap();
    let (part, meta) = filedeck::api::partial_paths(&root.join("other.bin"));
    std::fs::write(&part, b"half").unwrap();
    std::fs::write(&meta, b"{}").unwrap();
    let (keys, problems) = names(&root);
    assert_eq!(keys, ["data/big.bin"]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().all(|p| p.contains("partial download")),
        "{problems:?}"
    );
}
