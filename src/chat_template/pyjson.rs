//! Python's `json.dumps` and `str()` over template values. Hugging Face's `tojson` is
//! `json.dumps(x, ensure_ascii=False, indent=…, separators=…, sort_keys=…)` and `{{ x }}` prints
//! `str(x)`; tool schemas and tool-call arguments reach the model through them, so the bytes
//! (", " and ": " separators, `1.0`, `1e-07`, `True`, `None`, key order) must be Python's.

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};
use std::fmt::Write;

/// `json.dumps` options; `Default` is `tojson`'s (ensure_ascii false, no indent).
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    pub ensure_ascii: bool,
    pub indent: Option<usize>,
    /// (item separator, key separator); `None` means Python's default for `indent`.
    pub separators: Option<(String, String)>,
    pub sort_keys: bool,
}

pub fn dumps(value: &Value, opts: &DumpOptions) -> Result<String, Error> {
    let (item, key) = match &opts.separators {
        Some((i, k)) => (i.clone(), k.clone()),
        None if opts.indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let mut d = Dumper {
        opts,
        item,
        key,
        out: String::new(),
    };
    d.value(value, 0)?;
    Ok(d.out)
}

struct Dumper<'a> {
    opts: &'a DumpOptions,
    item: String,
    key: String,
    out: String,
}

impl Dumper<'_> {
    fn value(&mut self, v: &Value, level: usize) -> Result<(), Error> {
        match v.kind() {
            ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self
                .out
                .push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => self.out.push_str(&number(v, true)),
            ValueKind::String => json_string(
                v.as_str().unwrap_or(""),
                self.opts.ensure_ascii,
                &mut self.out,
            ),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter()?.collect();
                self.container('[', ']', level, &items, |d, item, level| {
                    d.value(item, level)
                })?;
            }
            ValueKind::Map => {
                let mut keys: Vec<(String, Value)> = v
                    .try_iter()?
                    .map(|k| Ok((key_string(&k)?, k)))
                    .collect::<Result<_, Error>>()?;
                if self.opts.sort_keys {
                    keys.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.container('{', '}', level, &keys, |d, (name, k), level| {
                    json_string(name, d.opts.ensure_ascii, &mut d.out);
                    d.out.push_str(&d.key.clone());
                    d.value(&v.get_item(k)?, level)
                })?;
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("Object of type {} is not JSON serializable", v.kind()),
                ))
            }
        }
        Ok(())
    }

    fn container<T>(
        &mut self,
        open: char,
        close: char,
        level: usize,
        items: &[T],
        mut each: impl FnMut(&mut Self, &T, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.out.push(open);
        if items.is_empty() {
            self.out.push(close);
            return Ok(());
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(&self.item.clone());
            }
            self.newline(level + 1);
            each(self, item, level + 1)?;
        }
        self.newline(level);
        self.out.push(close);
        Ok(())
    }

    fn newline(&mut self, level: usize) {
        if let Some(n) = self.opts.indent {
            self.out.push('\n');
            self.out.extend(std::iter::repeat_n(' ', n * level));
        }
    }
}

/// A dict key as json.dumps converts it: strings as is, numbers, booleans and None by value.
fn key_string(k: &Value) -> Result<String, Error> {
    Ok(match k.kind() {
        ValueKind::String => k.as_str().unwrap_or("").to_owned(),
        ValueKind::Number => number(k, true),
        ValueKind::Bool => (if k.is_true() { "true" } else { "false" }).to_owned(),
        ValueKind::None => "null".to_owned(),
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("keys must be str, int, float, bool or None, not {other}"),
            ))
        }
    })
}

fn json_string(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A number as Python prints it: integers in full, floats as `repr(float)` (shortest
/// round-trip digits, fixed notation for exponents -4..16, else `1e-07` / `1.5e+16`).
/// `json` spells the non-finite ones `NaN` / `Infinity`, `str()` `nan` / `inf`.
pub fn number(v: &Value, json: bool) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    let Ok(f) = f64::try_from(v.clone()) else {
        return v.to_string();
    };
    float_repr(f, json)
}

fn float_repr(f: f64, json: bool) -> String {
    if f.is_nan() {
        return (if json { "NaN" } else { "nan" }).into();
    }
    if f.is_infinite() {
        let s = if json { "Infinity" } else { "inf" };
        return if f < 0.0 { format!("-{s}") } else { s.into() };
    }
    // `{:e}` gives the shortest round-trip digits: "-2.15e1", "1e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if (point as usize) >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// `str(value)` as Python prints it in `{{ … }}`: `None`, `True`, containers as their repr.
pub fn python_str(v: &Value, out: &mut String) {
    match v.kind() {
        ValueKind::Undefined => {}
        ValueKind::String => out.push_str(v.as_str().unwrap_or("")),
        _ => python_repr(v, out),
    }
}

fn python_repr(v: &Value, out: &mut String) {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number(v, false)),
        ValueKind::String => string_repr(v.as_str().unwrap_or(""), out),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_repr(&item, out);
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            for (i, k) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_repr(&k, out);
                out.push_str(": ");
                python_repr(&v.get_item(&k).unwrap_or_default(), out);
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

fn string_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::float_repr;

    #[test]
    fn floats_print_as_python_repr() {
        // Expected values are CPython 3.11's repr().
        for (f, s) in [
            (21.5, "21.5"),
            (3.0, "3.0"),
            (0.1, "0.1"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (-1.5e-5, "-1.5e-05"),
            (123456789.125, "123456789.125"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(float_repr(f, true), s, "{f:e}");
        }
        assert_eq!(float_repr(f64::NAN, true), "NaN");
        assert_eq!(float_repr(f64::NEG_INFINITY, false), "-inf");
    }
}
