//! Numbers as the console shows them when the whole does not fit: abbreviated with their unit,
//! never cut (`11908` → `11.9k`, `2511.4`/min → `2.5k`).

/// `n` with a unit suffix: `812`, `1.2k`, `11.9k`, `119k`, `1.2M`, `3.4G`. Exact below 1,000.
pub fn count(n: i64) -> String {
    let neg = if n < 0 { "-" } else { "" };
    let a = n.unsigned_abs() as f64;
    let (v, unit) = if a >= 1e9 {
        (a / 1e9, "G")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        return n.to_string();
    };
    // One decimal below 100 of the unit; the rounding may reach the next unit (999.96k).
    let s = if v < 99.95 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    if s == "1000" {
        let next = match unit {
            "k" => "M",
            "M" => "G",
            _ => "T",
        };
        return format!("{neg}1.0{next}");
    }
    format!("{neg}{}{unit}", s.trim_end_matches(".0"))
}

/// A rate: whole above 10 (`2511`), one decimal below (`4.2`).
pub fn rate(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A rate's short form: [`count`] of its whole value above 1,000, else the rate itself.
pub fn rate_short(x: f64) -> String {
    if x >= 1000.0 {
        count(x.round() as i64)
    } else {
        rate(x)
    }
}

/// An amount in currency units from exact cents, grouped: `522,498.41`.
pub fn money(cents: i64) -> String {
    let neg = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let units = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{neg}{grouped}.{:02}", c % 100)
}

/// An amount's short form: `542k`, `1.2M`, `812` (whole units).
pub fn money_short(cents: i64) -> String {
    count((cents as f64 / 100.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_abbreviate_with_their_unit() {
        assert_eq!(count(812), "812");
        assert_eq!(count(1_000), "1k");
        assert_eq!(count(11_908), "11.9k");
        assert_eq!(count(119_080), "119k");
        assert_eq!(count(999_960), "1.0M");
        assert_eq!(count(1_234_567), "1.2M");
        assert_eq!(count(-2_500), "-2.5k");
        assert_eq!(rate_short(2511.4), "2.5k");
        assert_eq!(rate(3.25), "3.2");
        assert_eq!(money(52_249_841), "522,498.41");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(money_short(52_249_841), "522k");
    }
}
