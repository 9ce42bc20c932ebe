//! CloudWatch embedded metric format, read as CloudWatch Logs reads it: every rule of the
//! specification
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>)
//! checked on a log line, and the metrics it would extract. Written from the specification, apart
//! from the forwarder's own code, so a test of one checks the other.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Units a `MetricDefinition` may name (the specification's schema).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric value CloudWatch would store: its namespace, name, dimensions and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Datum {
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
    pub value: f64,
    pub unit: Option<String>,
    pub timestamp_ms: u64,
}

/// Whether a log line is meant as an EMF document: it names `_aws`. Whether it is a valid one is
/// [`extract`]'s question; a line cut short must fail there, not pass as a log line.
pub fn is_emf(line: &str) -> bool {
    line.contains("\"_aws\"")
}

fn only(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{what} has a member the specification does not define: {k}"
        )),
        None => Ok(()),
    }
}

fn len_within(s: &str, min: usize, max: usize, what: &str) -> Result<(), String> {
    let n = s.chars().count();
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "{what} {s:?} has {n} characters, not {min} to {max}"
        ))
    }
}

/// Checks one log line against the specification and returns the metrics it holds.
pub fn extract(line: &str) -> Result<Vec<Datum>, String> {
    if line.trim() != line || line.contains('\n') {
        return Err("an EMF document is one line with nothing around the JSON object".into());
    }
    let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = root.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    only(aws, &["Timestamp", "CloudWatchMetrics"], "_aws")?;
    let timestamp_ms = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a whole number of milliseconds")?;
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    let mut data = Vec::new();
    for d in directives {
        let d = d.as_object().ok_or("a MetricDirective is not an object")?;
        only(
            d,
            &["Namespace", "Dimensions", "Metrics"],
            "a MetricDirective",
        )?;
        let namespace = d
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("Namespace is not a string")?;
        len_within(namespace, 1, 1024, "Namespace")?;
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions is not an array")?;
        if sets.is_empty() {
            return Err("Dimensions holds no DimensionSet".into());
        }
        let mut dimension_sets = Vec::new();
        for set in sets {
            let set = set.as_array().ok_or("a DimensionSet is not an array")?;
            if set.len() > 30 {
                return Err(format!("a DimensionSet has {} keys, over 30", set.len()));
            }
            let mut dims = BTreeMap::new();
            for key in set {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                len_within(key, 1, 250, "a dimension key")?;
                let value = root.get(key).and_then(Value::as_str).ok_or(format!(
                    "dimension {key} is not a string member of the root"
                ))?;
                len_within(value, 1, 1024, "a dimension value")?;
                if value.trim().is_empty() {
                    return Err(format!("dimension {key} is blank"));
                }
                dims.insert(key.to_owned(), value.to_owned());
            }
            dimension_sets.push(dims);
        }
        let metrics = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err(format!("{} MetricDefinitions, over 100", metrics.len()));
        }
        let mut names = std::collections::BTreeSet::new();
        for m in metrics {
            let m = m.as_object().ok_or("a MetricDefinition is not an object")?;
            only(
                m,
                &["Name", "Unit", "StorageResolution"],
                "a MetricDefinition",
            )?;
            let name = m
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a MetricDefinition has no Name")?;
            len_within(name, 1, 1024, "a metric name")?;
            // One root member cannot be a metric twice, nor a metric and a dimension.
            if !names.insert(name) || dimension_sets.iter().any(|dims| dims.contains_key(name)) {
                return Err(format!("{name} is defined twice"));
            }
            let unit = match m.get("Unit") {
                None => None,
                Some(u) => {
                    let u = u.as_str().ok_or("Unit is not a string")?;
                    if !UNITS.contains(&u) {
                        return Err(format!("Unit {u:?} is not a CloudWatch unit"));
                    }
                    Some(u.to_owned())
                }
            };
            if let Some(r) = m.get("StorageResolution")
                && !matches!(r.as_u64(), Some(1 | 60))
            {
                return Err(format!("StorageResolution {r} is not 1 or 60"));
            }
            let values: Vec<f64> = match root.get(name) {
                Some(Value::Number(n)) => vec![n.as_f64().ok_or("not a number")?],
                Some(Value::Array(a)) if a.len() <= 100 => a
                    .iter()
                    .map(|v| v.as_f64().ok_or(format!("{name} holds a non-number")))
                    .collect::<Result<_, _>>()?,
                Some(Value::Array(a)) => {
                    return Err(format!("{name} holds {} values, over 100", a.len()));
                }
                _ => return Err(format!("metric {name} is not a number member of the root")),
            };
            for dims in &dimension_sets {
                for value in &values {
                    data.push(Datum {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        dimensions: dims.clone(),
                        value: *value,
                        unit: unit.clone(),
                        timestamp_ms,
                    });
                }
            }
        }
    }
    Ok(data)
}

/// Every EMF document of some output, checked, as the metrics they hold. Lines that are not meant
/// as EMF (log lines) are passed over; a line meant as EMF that breaks a rule fails.
pub fn extract_all(output: &str) -> Result<Vec<Datum>, String> {
    let mut data = Vec::new();
    for line in output.lines().filter(|l| is_emf(l)) {
        data.extend(extract(line).map_err(|e| format!("{e}: {line}"))?);
    }
    Ok(data)
}

/// The sum of the values of one metric with exactly these dimensions.
pub fn sum(data: &[Datum], name: &str, dimensions: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = dimensions
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    data.iter()
        .filter(|d| d.name == name && d.dimensions == want)
        .map(|d| d.value)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_example_is_read() {
        let line = r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds","StorageResolution":60}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}"#;
        let data = extract(line).unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].value, 100.0);
        assert_eq!(data[0].dimensions["functionVersion"], "$LATEST");
    }

    #[test]
    fn each_broken_rule_is_refused() {
        let ok = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"M":1}"#;
        assert!(extract(ok).is_ok());
        let broken = [
            ok.replace("\"Timestamp\":1,", ""),
            ok.replace("\"Timestamp\":1", "\"Timestamp\":\"1\""),
            ok.replace("[[]]", "[]"),
            ok.replace("[[]]", "[[\"D\"]]"),
            ok.replace("\"Count\"", "\"Nanoseconds\""),
            ok.replace("\"M\":1}", "\"M\":\"1\"}"),
            ok.replace("\"Namespace\":\"N\"", "\"Namespace\":\"\""),
            ok.replace("\"Unit\":\"Count\"", "\"Unit\":\"Count\",\"Extra\":1"),
            format!(" {ok}"),
            ok[..ok.len() - 3].to_owned(),
            ok.replace("[[]]", "[[\"D\"]]")
                .replace("\"M\":1}", "\"M\":1,\"D\":\" \"}"),
            ok.replace(
                "[{\"Name\":\"M\",\"Unit\":\"Count\"}]",
                "[{\"Name\":\"M\"},{\"Name\":\"M\"}]",
            ),
        ];
        for line in broken {
            assert!(is_emf(&line), "{line}");
            assert!(extract(&line).is_err(), "{line}");
            assert!(
                extract_all(&format!("log line\n{line}\n")).is_err(),
                "{line}"
            );
        }
    }
}
