//! Presigned URLs: sign a fuzzed (method, workspace, key, expiry, content type, size, …)
//! with a fixed secret, then mutate the URL's bytes. The URL as signed verifies to exactly
//! what was signed; any mutated URL that still verifies verifies to that same tuple (and
//! only for the method it was signed for).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use filedeck::fuzzing::{self, PresignFixture, Put};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    put: bool,
    ws: &'a str,
    key: &'a str,
    ttl: u16,
    content_type: &'a str,
    size: u64,
    upload: &'a str,
    key_id: &'a str,
    display: Option<(&'a str, &'a str)>,
    edits: Vec<Edit>,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Set(u16, u8),
    Insert(u16, u8),
    Remove(u16),
    /// Replace from here with a piece of another URL field's text.
    Splice(u16, u16, u8),
}

fn signer() -> &'static PresignFixture {
    static SIGNER: OnceLock<PresignFixture> = OnceLock::new();
    SIGNER.get_or_init(|| PresignFixture::with_secret([7; 32]).expect("a temp directory for the secret"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fuzz_target!(|input: Input<'_>| {
    let method = if input.put { "PUT" } else { "GET" };
    let put = input.put.then(|| Put {
        content_type: input.content_type.to_string(),
        size: input.size,
        upload: input.upload.to_string(),
        key_id: input.key_id.to_string(),
        display: input.display.map(|(p, n)| (p.to_string(), n.to_string())),
    });
    // Far enough ahead that a slow run cannot see it expire.
    let ttl = Duration::from_secs(3600 + u64::from(input.ttl));
    let before = now();
    let url = signer().url(method, input.ws, input.key, ttl, put.as_ref());
    let after = now();

    let signed = signer().verify(method, &url);
    let valid = fuzzing::workspace_id(input.ws) && fuzzing::file_key(input.key);
    if valid {
        let Some(signed) = &signed else {
            panic!("{url:?} does not verify");
        };
        assert_eq!(signed.workspace, input.ws);
        assert_eq!(signed.key, input.key);
        assert_eq!(signed.put, put, "{url:?}");
        let range = before + ttl.as_secs()..=after + ttl.as_secs();
        assert!(range.contains(&signed.expires), "{url:?}");
    } else {
        // The server never signs such a URL; if it did, the byte routes refuse it.
        assert!(signed.is_none(), "{url:?} verified");
        return;
    }
    let signed = signed.expect("checked above");
    let other = if input.put { "GET" } else { "PUT" };
    assert!(signer().verify(other, &url).is_none(), "{url:?} as {other}");

    let mut bytes = url.into_bytes();
    for edit in &input.edits {
        let at = |i: u16| usize::from(i) % (bytes.len() + 1);
        match *edit {
            Edit::Set(i, b) => {
                let i = at(i);
                if i < bytes.len() {
                    bytes[i] = b;
                }
            }
            Edit::Insert(i, b) => {
                let i = at(i);
                bytes.insert(i, b);
            }
            Edit::Remove(i) => {
                let i = at(i);
                if i < bytes.len() {
                    bytes.remove(i);
                }
            }
            Edit::Splice(i, j, n) => {
                let (i, j) = (at(i), at(j));
                let piece: Vec<u8> = bytes[j..]
                    .iter()
                    .take(usize::from(n % 32))
                    .copied()
                    .collect();
                bytes.splice(i..i, piece);
            }
        }
    }
    let Ok(mutated) = String::from_utf8(bytes) else {
        return;
    };
    if let Some(got) = signer().verify(method, &mutated) {
        assert_eq!(got, signed, "{mutated:?}");
    }
    assert!(
        signer().verify(other, &mutated).is_none(),
        "{mutated:?} as {other}"
    );
});
