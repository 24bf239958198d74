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

/// A rate, a share or a time as a whole number, rounded down; negative and NaN give 0,
/// and anything past `u64::MAX` gives `u64::MAX`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "float-to-int `as` saturates and maps NaN to 0, which is the floor wanted here"
)]
pub fn whole(x: f64) -> u64 {
    x as u64
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
