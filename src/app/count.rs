//! Counts written for people ("1,234,567"), in `update`'s messages and on screen alike.

/// 1234567 → "1,234,567".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(1234567), "1,234,567");
        assert_eq!(super::group(100), "100");
    }
}
