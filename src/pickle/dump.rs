//! Python-like rendering of a decoded plain value (`inspect --dump`), cut at a length.

use std::fmt::Write as _;

use serde_pickle::{HashableValue, Value};

/// Python-like rendering of a decoded value, cut at `max_chars`.
pub(super) fn render(v: &Value, max_chars: usize) -> String {
    let mut out = String::new();
    render_value(v, &mut out, max_chars);
    if out.len() > max_chars {
        let mut cut = max_chars;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn render_seq<'v, T: 'v>(
    items: impl IntoIterator<Item = &'v T>,
    open: &str,
    close: &str,
    out: &mut String,
    max: usize,
    mut f: impl FnMut(&'v T, &mut String),
) {
    out.push_str(open);
    for (i, item) in items.into_iter().enumerate() {
        if out.len() > max {
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        f(item, out);
    }
    out.push_str(close);
}

fn render_bytes(b: &[u8], out: &mut String) {
    let _ = write!(out, "b'{}'", b.escape_ascii());
}

fn render_str(s: &str, out: &mut String) {
    let _ = write!(out, "'{}'", s.escape_debug());
}

fn render_float(f: f64, out: &mut String) {
    let _ = write!(out, "{f:?}");
}

// Depth is bounded by Limits::max_decode_depth before any value gets here.
fn render_value(v: &Value, out: &mut String, max: usize) {
    if out.len() > max {
        return;
    }
    match v {
        Value::None => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::F64(f) => render_float(*f, out),
        Value::Bytes(b) => render_bytes(b, out),
        Value::String(s) => render_str(s, out),
        Value::List(l) => render_seq(l, "[", "]", out, max, |x, o| render_value(x, o, max)),
        Value::Tuple(t) => {
            let close = if t.len() == 1 { ",)" } else { ")" };
            render_seq(t, "(", close, out, max, |x, o| render_value(x, o, max))
        }
        Value::Set(s) if s.is_empty() => out.push_str("set()"),
        Value::Set(s) => render_seq(s, "{", "}", out, max, |x, o| render_hashable(x, o, max)),
        Value::FrozenSet(s) => render_seq(s, "frozenset({", "})", out, max, |x, o| {
            render_hashable(x, o, max)
        }),
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.iter().enumerate() {
                if out.len() > max {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                render_hashable(k, out, max);
                out.push_str(": ");
                render_value(v, out, max);
            }
            out.push('}');
        }
    }
}

fn render_hashable(v: &HashableValue, out: &mut String, max: usize) {
    if out.len() > max {
        return;
    }
    match v {
        HashableValue::None => out.push_str("None"),
        HashableValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        HashableValue::I64(i) => {
            let _ = write!(out, "{i}");
        }
        HashableValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        HashableValue::F64(f) => render_float(*f, out),
        HashableValue::Bytes(b) => render_bytes(b, out),
        HashableValue::String(s) => render_str(s, out),
        HashableValue::Tuple(t) => {
            let close = if t.len() == 1 { ",)" } else { ")" };
            render_seq(t, "(", close, out, max, |x, o| render_hashable(x, o, max))
        }
        HashableValue::FrozenSet(s) => render_seq(s, "frozenset({", "})", out, max, |x, o| {
            render_hashable(x, o, max)
        }),
    }
}
