//! Sizes such as `500M`, `10G` or `1.5T`: binary units, case-insensitive, always with a unit.

use crate::{bail_input, Result};

const UNITS: [(&str, u32); 5] = [("K", 10), ("M", 20), ("G", 30), ("T", 40), ("P", 50)];

/// Smallest quota we accept: below this Samba and the filesystems' own overhead dominate.
pub const MIN_QUOTA: u64 = 1 << 20;

/// Parse a size into bytes. Accepts `10G`, `10g`, `10GiB`, `1.5T`, `512 M`.
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text;
    let valid = "a positive number with a binary unit K, M, G, T or P (e.g. 500M, 10G, 1.5T)";
    if t.is_empty() {
        bail_input!("size is empty: expected {valid}");
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let Some(shift) = UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s) else {
        bail_input!("invalid size '{text}': expected {valid}");
    };
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || (number.contains('.') && frac_part.is_empty())
        || frac_part.len() > 6
    {
        bail_input!("invalid size '{text}': expected {valid}");
    }
    let too_large = || crate::Error::input(format!("size '{text}' is too large (maximum 8E)"));
    let int: u64 = int_part.parse().map_err(|_| too_large())?;
    let mut bytes = int
        .checked_shl(shift)
        .filter(|v| v >> shift == int)
        .ok_or_else(too_large)?;
    if !frac_part.is_empty() {
        let frac: u64 = frac_part.parse().expect("digits");
        let scale = 10u64.pow(frac_part.len() as u32);
        let frac_bytes = ((frac as u128) << shift) / scale as u128;
        bytes = bytes.checked_add(frac_bytes as u64).ok_or_else(too_large)?;
    }
    if bytes > i64::MAX as u64 {
        return Err(too_large());
    }
    if bytes == 0 {
        bail_input!("size '{text}' is zero: expected {valid}");
    }
    Ok(bytes)
}

/// Round up to whole KiB: the unit every quota backend counts in (project quotas use 1 KiB
/// blocks), so a stored limit is exactly the enforced one.
pub fn round_to_kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024).saturating_mul(1024)
}

/// Exact text form of a whole number of KiB, for the config file: `1025K`, `10G`.
pub fn format_size_exact(bytes: u64) -> String {
    for (unit, shift) in UNITS.iter().rev() {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{}K", bytes.div_ceil(1024))
}

/// Format bytes the way we parse them: the largest unit that keeps the value exact, else two
/// decimals of the largest unit that fits.
pub fn format_size(bytes: u64) -> String {
    for (unit, shift) in UNITS.iter().rev() {
        let base = 1u64 << shift;
        if bytes >= base {
            return if bytes.is_multiple_of(base) {
                format!("{}{unit}", bytes >> shift)
            } else {
                format!("{:.2}{unit}", bytes as f64 / base as f64)
            };
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_sizes() {
        for (text, bytes) in [
            ("500M", 500 << 20),
            ("10G", 10 << 30),
            ("10g", 10 << 30),
            ("10GiB", 10 << 30),
            ("10gb", 10 << 30),
            ("1.5T", 3 << 39),
            ("512 K", 512 << 10),
            ("1P", 1 << 50),
        ] {
            assert_eq!(parse_size(text).unwrap(), bytes, "{text}");
        }
    }

    #[test]
    fn bad_sizes() {
        for text in [
            "",
            "10",
            "-1G",
            "0G",
            "0.0M",
            "1.G",
            ".5G",
            "1.5.5G",
            "10X",
            "G",
            "1e3G",
            "9999999999P",
            "8192P",
            "1,5G",
            "10 G B",
            "١٠G",
            "10G\n",
            " 10G",
            "10G ",
            "1.1234567T",
            "+5G",
            "NaNG",
        ] {
            assert!(parse_size(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn exact_form_is_exact() {
        for text in ["1025K", "1.3G", "1.999G", "10G", "1.5T"] {
            let bytes = round_to_kib(parse_size(text).unwrap());
            assert_eq!(parse_size(&format_size_exact(bytes)).unwrap(), bytes, "{text}");
        }
        assert_eq!(format_size_exact(1025 << 10), "1025K");
    }

    #[test]
    fn format_round_trips() {
        for bytes in [1 << 20, 10 << 30, 3 << 39, 1536 << 20] {
            assert_eq!(parse_size(&format_size(bytes)).unwrap(), bytes);
        }
        assert_eq!(format_size(1536 << 20), "1.50G");
    }
}
