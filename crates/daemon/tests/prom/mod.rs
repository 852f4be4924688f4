//! A strict reader of the Prometheus text exposition format 0.0.4, as Prometheus' own parser
//! reads it, plus what we promise on top: every sample belongs to a family declared with
//! `# TYPE` before it, a family's samples are contiguous, no series appears twice, counters are
//! not negative.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// Series (`name{labels}` exactly as written) to value.
pub type Samples = BTreeMap<String, f64>;

pub fn parse(text: &str) -> Result<Samples, String> {
    if !text.ends_with('\n') {
        return Err("the text must end with a newline".into());
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut samples = Samples::new();
    for (i, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", i + 1);
        if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    metric_name(name).map_err(at)?;
                    if !matches!(kind, "counter" | "gauge" | "histogram" | "summary" | "untyped") {
                        return Err(at(format!("unknown type {kind:?}")));
                    }
                    if types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(at(format!("second TYPE for {name}")));
                    }
                    if finished.contains(name) || current.as_deref() == Some(name) {
                        return Err(at(format!("TYPE of {name} after its samples")));
                    }
                }
                (Some("HELP"), Some(name), help) => {
                    metric_name(name).map_err(at)?;
                    if !helps.insert(name.to_string()) {
                        return Err(at(format!("second HELP for {name}")));
                    }
                    help_text(help.unwrap_or("")).map_err(at)?;
                }
                _ => {} // a plain comment
            }
            continue;
        }
        if line.is_empty() {
            return Err(at("empty line".into()));
        }
        let (series, name, value) = sample(line).map_err(at)?;
        let family = family_of(&name, &types).ok_or_else(|| at(format!("{name} has no TYPE")))?;
        if current.as_deref() != Some(family.as_str()) {
            if finished.contains(&family) {
                return Err(at(format!("samples of {family} are not contiguous")));
            }
            if let Some(previous) = current.replace(family.clone()) {
                finished.insert(previous);
            }
        }
        if types[&family] == "counter" && (value.is_nan() || value < 0.0) {
            return Err(at(format!("counter {name} is {value}")));
        }
        if samples.insert(series.clone(), value).is_some() {
            return Err(at(format!("series {series} appears twice")));
        }
    }
    Ok(samples)
}

/// The declared family a sample name belongs to (summaries and histograms have suffixes).
fn family_of(name: &str, types: &BTreeMap<String, String>) -> Option<String> {
    if types.contains_key(name) {
        return Some(name.to_string());
    }
    for suffix in ["_sum", "_count", "_bucket"] {
        if let Some(base) = name.strip_suffix(suffix) {
            match types.get(base).map(String::as_str) {
                Some("summary") if suffix != "_bucket" => return Some(base.to_string()),
                Some("histogram") => return Some(base.to_string()),
                _ => {}
            }
        }
    }
    None
}

fn metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if ok {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

fn label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__");
    if ok {
        Ok(())
    } else {
        Err(format!("bad label name {name:?}"))
    }
}

fn help_text(help: &str) -> Result<(), String> {
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err("bad escape in HELP".into());
        }
    }
    Ok(())
}

/// (series, metric name, value) of a sample line.
fn sample(line: &str) -> Result<(String, String, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut label_names = BTreeSet::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find('=').ok_or("label without '='")?;
            let label = &rest[..eq];
            label_name(label)?;
            if !label_names.insert(label.to_string()) {
                return Err(format!("label {label} twice"));
            }
            rest = rest[eq + 1..].strip_prefix('"').ok_or("label value not quoted")?;
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (_, '\\') => match chars.next() {
                        Some((_, '\\' | '"' | 'n')) => {}
                        _ => return Err("bad escape in label value".into()),
                    },
                    (i, '"') => break i,
                    (_, '\n') => return Err("newline in label value".into()),
                    _ => {}
                }
            };
            rest = &rest[end + 1..];
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else if !rest.starts_with('}') {
                return Err("expected ',' or '}' after a label".into());
            }
        }
    }
    let series = line[..line.len() - rest.len()].to_string();
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut fields = rest.split(' ');
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().map_err(|_| format!("bad value {v:?}"))?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>().map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok((series, name.to_string(), value))
}

#[test]
fn the_parser_refuses_what_prometheus_refuses() {
    let good =
        "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v\\\"\"} 1\n# TYPE s summary\ns_sum 1.5\ns_count 2\n";
    let samples = parse(good).unwrap();
    assert_eq!(samples["a_total{l=\"v\\\"\"}"], 1.0);
    assert_eq!(samples["s_count"], 2.0);
    for bad in [
        "a 1\n",                                                    // no TYPE
        "# TYPE a gauge\na 1",                                      // no final newline
        "# TYPE a gauge\na{l=\"x} 1\n",                             // unterminated
        "# TYPE a gauge\na{l=\"x\\q\"} 1\n",                        // bad escape
        "# TYPE a gauge\na one\n",                                  // bad value
        "# TYPE a gauge\na 1\na 2\n",                               // duplicate series
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 1\n", // not contiguous
        "# TYPE a counter\na -1\n",                                 // negative counter
        "# TYPE a gauge\n# TYPE a gauge\na 1\n",                    // two TYPEs
        "# TYPE 1a gauge\n1a 1\n",                                  // bad name
        "# TYPE a gauge\na{__x=\"1\"} 1\n",                         // reserved label
        "# TYPE a gauge\n\na 1\n",                                  // empty line
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
