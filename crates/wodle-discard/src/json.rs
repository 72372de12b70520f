//! Walks a dotted field path through a JSON message while it is parsed, without
//! building a tree: values off the path are skipped, and the values at its end
//! are matched as they come.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Whether `message` is JSON whose value at `path` matches: `Ok(true)` when
/// one of the values the path reaches satisfies `matches`, `Ok(false)` when
/// none does, and `Err` when `message` is not one whole JSON value.
pub(crate) fn field_matches(
    message: &str,
    path: &[String],
    matches: &dyn Fn(&str) -> bool,
) -> Result<bool, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(message);
    let hit = PathSeed { path, matches }.deserialize(&mut deserializer)?;
    // Trailing text after the value makes the message plain text, as for
    // Python's json.loads.
    deserializer.end()?;
    Ok(hit)
}

/// The value at the rest of the path, from here.
struct PathSeed<'p> {
    path: &'p [String],
    matches: &'p dyn Fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        match self.path.split_first() {
            Some((key, rest)) => deserializer.deserialize_any(PathVisitor {
                key,
                rest,
                path: self.path,
                matches: self.matches,
            }),
            None => {
                // At the end of the path the exact text is needed (numbers are
                // matched as written), so the value is taken raw.
                let raw: &'de RawValue = serde::Deserialize::deserialize(deserializer)?;
                Ok(value_matches(raw.get(), self.matches))
            }
        }
    }
}

/// Steps into an object by the first segment of the path (`key`); looks
/// through arrays, element by element, with the whole path.
struct PathVisitor<'p> {
    key: &'p str,
    rest: &'p [String],
    path: &'p [String],
    matches: &'p dyn Fn(&str) -> bool,
}

impl<'de> Visitor<'de> for PathVisitor<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut hit = false;
        while let Some(is_key) = map.next_key_seed(KeyIs(self.key))? {
            if is_key {
                // Assigned, not or-ed: with a repeated key the last one counts,
                // as in the dict Python's json.loads builds.
                hit = map.next_value_seed(PathSeed {
                    path: self.rest,
                    matches: self.matches,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(hit)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut hit = false;
        loop {
            let element = if hit {
                // The rest must still be read through for the JSON to be
                // checked whole, but it need not be matched.
                seq.next_element::<IgnoredAny>()?.map(|_| true)
            } else {
                seq.next_element_seed(PathSeed {
                    path: self.path,
                    matches: self.matches,
                })?
            };
            match element {
                Some(found) => hit |= found,
                None => return Ok(hit),
            }
        }
    }

    // A scalar where the path wants to go deeper has no such field.
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// Compares an object key with one path segment without copying the key.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// A value at the end of the path: a string is matched as its text, an array
/// element by element (nested arrays too), an object never, and any other
/// scalar as its JSON text (`42`, `1.5e3`, `true`, `null`).
fn value_matches(raw: &str, matches: &dyn Fn(&str) -> bool) -> bool {
    match raw.as_bytes().first() {
        Some(b'"') => match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => matches(plain),
            _ => serde_json::from_str::<String>(raw).is_ok_and(|text| matches(&text)),
        },
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(raw)
            .is_ok_and(|elements| elements.iter().any(|e| value_matches(e.get(), matches))),
        Some(b'{') | None => false,
        Some(_) => matches(raw),
    }
}
