//! Response headers the byte routes of both stores send.

/// `attachment; filename*=UTF-8''<name>` (RFC 6266, RFC 5987): every byte of the UTF-8 name
/// but an `attr-char` percent-encoded, so quotes, `;`, control characters and non-ASCII
/// letters can neither break the header nor be misread.
pub(crate) fn content_disposition(name: &str) -> String {
    let mut out = String::from("attachment; filename*=UTF-8''");
    for b in name.bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn disposition_encodes_all_but_attr_chars() {
        assert_eq!(
            content_disposition("a b\"c;é.txt"),
            "attachment; filename*=UTF-8''a%20b%22c%3B%C3%A9.txt"
        );
        assert_eq!(
            content_disposition("x%y\r\n"),
            "attachment; filename*=UTF-8''x%25y%0D%0A"
        );
    }
}
