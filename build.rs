#![allow(
    clippy::expect_used,
    reason = "a build script may stop the build with a message"
)]
//! Embeds `assets/demo/` in the binary, so `filedeck --demo` works wherever it is run, and
//! stamps the git commit the binary is built from into `--version` (FILEDECK_COMMIT),
//! "unknown" when git or the repository is absent (a crate tarball, a bare build box).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read assets/demo")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let rel = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((
                rel,
                p.canonicalize().expect("canonical").display().to_string(),
            ));
        }
    }
}

fn demo_assets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    println!("cargo:rerun-if-changed=assets/demo");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let mut code = String::from(
        "/// (workspace/key, bytes) of every demo asset.\npub const DEMO_ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        println!("cargo:rerun-if-changed={abs}");
        let _ = writeln!(code, "    ({rel:?}, include_bytes!({abs:?})),");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("demo_assets.rs");
    std::fs::write(out, code).expect("write demo_assets.rs");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn commit() {
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FILEDECK_COMMIT={commit}");
    // A worktree's HEAD and refs live outside ./.git, so ask git where they are.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(name) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(r) = git(&["rev-parse", "--git-path", &name])
    {
        println!("cargo:rerun-if-changed={r}");
    }
}

fn main() {
    demo_assets();
    commit();
    println!("cargo:rerun-if-changed=build.rs");
}
