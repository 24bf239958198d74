//! The download target: for any key, listed name and relative path, a path the client
//! accepts (`local_name` then `safe_join`, as the engine and `filedeck get` do) lies inside
//! the destination, and its last component is the listed name. Checked lexically: nothing
//! here touches the disk.
#![no_main]

use std::path::{Component, Path};

use filedeck::api::{FileEntry, local_name, safe_join};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &str)| {
    let (key, name, rel) = input;
    let dest = Path::new("/home/u/dl");
    // safe_join alone is a guard too (folders are made with it).
    if let Ok(p) = safe_join(dest, rel) {
        inside(dest, &p, rel);
    }
    let entry = FileEntry {
        key: key.into(),
        name: name.into(),
        path: String::new(),
        size: None,
        description: None,
        content_type: None,
        created_at: None,
        sha256: None,
        etag: None,
    };
    if local_name(&entry, rel).is_ok()
        && let Ok(p) = safe_join(dest, rel)
    {
        inside(dest, &p, rel);
        assert_eq!(
            p.file_name().and_then(|n| n.to_str()),
            Some(name),
            "{rel:?} for name {name:?} became {p:?}"
        );
    }
});

fn inside(dest: &Path, p: &Path, rel: &str) {
    let Ok(tail) = p.strip_prefix(dest) else {
        panic!("{rel:?} became {p:?}, outside {dest:?}");
    };
    assert!(tail.components().count() > 0, "{rel:?} is the destination");
    for c in tail.components() {
        match c {
            Component::Normal(n) => {
                let n = n.to_string_lossy();
                assert!(n != "." && n != "..", "{rel:?} became {p:?}");
            }
            other => panic!("{rel:?} became {p:?}: component {other:?}"),
        }
    }
    assert_eq!(
        p.components().count(),
        dest.components().count() + tail.components().count()
    );
}
