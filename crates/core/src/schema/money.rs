//! Money: an amount's one canonical form (its shortest decimal text), cents for the state's
//! revenue figures, and the JSON forms of both. Never a double on the way (issue: exact money).

pub use rust_decimal::Decimal;

use super::Val;

impl<'de> serde::Deserialize<'de> for Val {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Val;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("null, an integer, a number or a string")
            }
            fn visit_unit<E>(self) -> Result<Val, E> {
                Ok(Val::Null)
            }
            fn visit_none<E>(self) -> Result<Val, E> {
                Ok(Val::Null)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Val, E> {
                Ok(Val::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Val, E> {
                i64::try_from(v)
                    .map(Val::Int)
                    .map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Val, E> {
                parse_decimal(&v.to_string())
                    .map(money_val)
                    .ok_or_else(|| E::custom(format!("{v} is not an amount")))
            }
            fn visit_str<E>(self, v: &str) -> Result<Val, E> {
                Ok(Val::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Val, E> {
                Ok(Val::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A decimal in plain (`-12.50`) or scientific (`1.25e3`) notation.
pub fn parse_decimal(t: &str) -> Option<Decimal> {
    use std::str::FromStr;
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
}

/// `d` as money's canonical value: its shortest decimal text (see [`ColType::Money`]).
pub fn money_val(d: Decimal) -> Val {
    Val::Text(d.normalize().to_string())
}

/// `d` in whole cents, rounded half away from zero (how a bill rounds). `None` beyond ±9.2e16.
pub fn to_cents(d: Decimal) -> Option<i64> {
    use rust_decimal::RoundingStrategy::MidpointAwayFromZero;
    i64::try_from(d.round_dp_with_strategy(2, MidpointAwayFromZero) * Decimal::ONE_HUNDRED).ok()
}

/// `cents` as an amount with two decimals (`-12.50`), exact: no float on the way.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Serialises whole cents as a JSON number of currency units (`52249841` → `522498.41`): the
/// nearest double to a two-decimal amount prints as exactly that amount.
///
/// Errors: never (the serializer's own).
pub fn serialize_cents<S: serde::Serializer>(cents: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*cents as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn money_has_one_canonical_form_whatever_the_type() {
        let want = Ok(Val::Text("2328.6".into()));
        let dec = Decimal::new(232860, 2);
        assert_eq!(normalize(&Raw::Dec(dec), ColType::Money), want);
        assert_eq!(normalize(&Raw::Real(2328.6), ColType::Money), want);
        assert_eq!(
            normalize(&Raw::Text(" 2328.60 ".into()), ColType::Money),
            want
        );
        assert_eq!(
            normalize(&Raw::Text("2.3286e3".into()), ColType::Money),
            want
        );
        assert_eq!(
            normalize(&Raw::Int(12), ColType::Money),
            Ok(Val::Text("12".into()))
        );
        assert_eq!(
            normalize(&Raw::Text("-0.00".into()), ColType::Money),
            Ok(Val::Text("0".into()))
        );
        assert!(normalize(&Raw::Text("12,50".into()), ColType::Money).is_err());
        // 0.1 + 0.2 in doubles is 0.30000000000000004; in the canonical form it is what it says.
        assert_eq!(
            normalize(&Raw::Real(0.1), ColType::Money),
            Ok(Val::Text("0.1".into()))
        );
    }

    #[test]
    fn backups_round_trip_and_an_older_float_reads_as_money() {
        let vals = vec![Val::Null, Val::Int(-3), Val::Text("2328.6".into())];
        let json = serde_json::to_string(&vals).unwrap();
        assert_eq!(json, r#"[null,-3,"2328.6"]"#);
        assert_eq!(serde_json::from_str::<Vec<Val>>(&json).unwrap(), vals);
        assert_eq!(
            serde_json::from_str::<Val>("0.1").unwrap(),
            Val::Text("0.1".into())
        );
    }

    #[test]
    fn cents_round_like_a_bill_and_print_exactly() {
        assert_eq!(to_cents(Decimal::new(2328605, 3)), Some(232861));
        assert_eq!(to_cents(Decimal::new(-5, 3)), Some(-1));
        assert_eq!(cents_text(52249841), "522498.41");
        assert_eq!(cents_text(-5), "-0.05");
        assert_eq!(cents_text(0), "0.00");
    }
}
