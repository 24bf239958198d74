//! The tree's unit tests: folders from keys, aggregates, removal, hostile keys.
use super::*;

#[test]
fn huge_sizes_saturate_instead_of_overflowing() {
    let mut t = Tree::new();
    t.add(vec![
        e("big/a", 1 << 63, "2026-01-01T00:00:00Z"),
        e("big/b", 1 << 63, "2026-01-01T00:00:00Z"),
    ]);
    assert_eq!(t.folders[ROOT as usize].bytes, u64::MAX);
}

fn e(key: &str, size: u64, created: &str) -> FileEntry {
    FileEntry {
        key: key.into(),
        name: String::new(),
        path: String::new(),
        size: Some(size),
        description: None,
        content_type: Some("text/plain".into()),
        created_at: Some(created.into()),
        sha256: None,
        etag: None,
    }
    .normalise()
}

#[test]
fn builds_folders_and_aggregates() {
    let mut t = Tree::new();
    t.add(vec![
        e("raw/b.vcf", 10, "2026-01-02T00:00:00Z"),
        e("raw/a.vcf", 5, "2026-01-03T00:00:00Z"),
        e("raw/run1/x.fq", 100, "2026-01-01T00:00:00Z"),
        e("top.txt", 1, "2026-01-01T00:00:00Z"),
    ]);
    assert_eq!(t.file_count(), 4);
    let raw = t.folder_by_path("raw/").unwrap();
    let f = &t.folders[raw as usize];
    assert_eq!((f.count, f.bytes), (3, 115));
    let names: Vec<_> = f
        .files
        .iter()
        .map(|i| &*t.files[*i as usize].name)
        .collect();
    assert_eq!(names, ["a.vcf", "b.vcf"]);
    assert_eq!(t.display_key(f.newest.unwrap()), "raw/a.vcf");
    assert_eq!(
        t.folder_path(t.folder_by_path("raw/run1/").unwrap()),
        "raw/run1/"
    );
    let ids = t.files_under(t.folder_by_path("raw/run1/").unwrap());
    t.remove(&ids);
    assert!(
        t.folder_by_path("raw/run1/").is_none(),
        "emptied folder pruned"
    );
    assert_eq!(t.folders[raw as usize].count, 2);
    assert_eq!(t.file_count(), 3);
    assert_eq!(t.entry(t.folders[raw as usize].files[0]).key, "raw/a.vcf");
}

#[test]
fn a_key_ending_in_a_slash_makes_no_empty_named_row() {
    let mut t = Tree::new();
    t.add(vec![
        e("a/", 0, "2026-01-01T00:00:00Z"),
        e("a/b", 1, "2026-01-01T00:00:00Z"),
    ]);
    assert_eq!(t.file_count(), 1);
    let a = t.folder_by_path("a/").unwrap();
    assert_eq!(t.folders[a as usize].count, 1);
    assert!(
        t.folders[a as usize]
            .files
            .iter()
            .all(|&id| !t.files[id as usize].name.is_empty()),
        "no empty-named row"
    );
}

#[test]
fn a_folder_marker_keeps_its_folder_and_goes_with_it() {
    let mut t = Tree::new();
    t.add(vec![e("empty/deeper/", 0, "2026-01-01T00:00:00Z")]);
    // The folder shows, empty: no file, no row.
    assert_eq!(t.file_count(), 0);
    let empty = t
        .folder_by_path("empty/")
        .expect("a marker's folder exists");
    let deeper = t
        .folder_by_path("empty/deeper/")
        .expect("and so does its own");
    assert!(t.folders[deeper as usize].files.is_empty());
    // Deleting the folder deletes the marker, which the server holds as an object.
    let under = t.files_under(empty);
    assert_eq!(under.len(), 1);
    assert_eq!(t.entry(under[0]).key, "empty/deeper/");
    t.remove(&under);
    assert_eq!(t.folder_by_path("empty/"), None, "emptied, the folder goes");
}

#[test]
fn a_key_of_many_segments_costs_memory_in_proportion() {
    let mut t = Tree::new();
    let key = format!("{}f", "a/".repeat(70_000));
    t.add(vec![e(&key, 1, "2026-01-01T00:00:00Z")]);
    let deepest = t.files[0].folder;
    assert_eq!(
        t.folders[deepest as usize].depth,
        u16::MAX,
        "depth saturates"
    );
    assert_eq!(t.display_key(0), key);
    assert_eq!(t.folder_by_path(&t.folder_path(deepest)), Some(deepest));
}
