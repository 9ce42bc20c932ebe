//! The SAM templates keep their security properties and point at the binary we build. Templates
//! are read as CloudFormation sees them ([`cfn_template`](forwarder_tests::cfn_template)).

use std::process::Command;

use forwarder_tests::root;
use serde_json::{Value, json};

mod demo;
mod deploy_docs;
mod function;
mod grants;
mod monitoring;
mod org;
mod patterns;
mod security;

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Every IAM statement in the template: role policies, topic and queue policies.
fn statements(t: &Value) -> Vec<Value> {
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(stmts)) = map.get("Statement") {
                    for s in stmts {
                        // Conditional statements: both branches count.
                        match s.get("Fn::If") {
                            Some(Value::Array(branches)) => out.extend(
                                branches[1..]
                                    .iter()
                                    .filter(|b| b.get("Effect").is_some())
                                    .cloned(),
                            ),
                            _ => out.push(s.clone()),
                        }
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&t["Resources"], &mut out);
    out
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

const TEMPLATES: [&str; 4] = [
    "infra/template.yaml",
    "infra/demo/template.yaml",
    "infra/org/central.yaml",
    "infra/org/member.yaml",
];

/// The forwarder's templates and the chat configuration's.
const ALL_TEMPLATES: [&str; 5] = [
    "infra/template.yaml",
    "infra/demo/template.yaml",
    "infra/org/central.yaml",
    "infra/org/member.yaml",
    "infra/chat/template.yaml",
];

/// A parameter's value as CloudFormation hands it to intrinsic functions: the given value or the
/// default, as a string (a number's too), and a comma-delimited list as a list.
fn parameter(t: &Value, name: &str, given: &[(&str, &str)]) -> Value {
    if name.starts_with("AWS::") {
        let (_, v) = given
            .iter()
            .find(|(k, _)| *k == name)
            .unwrap_or_else(|| panic!("give the pseudo parameter {name}"));
        return json!(v);
    }
    let declared = &t["Parameters"][name];
    assert!(declared.is_object(), "no parameter {name}");
    let raw = match given.iter().find(|(k, _)| *k == name) {
        Some((_, v)) => v.to_string(),
        None => match &declared["Default"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("{name} has no usable default: {other}"),
        },
    };
    if declared["Type"] == "CommaDelimitedList" {
        json!(raw.split(',').map(str::trim).collect::<Vec<_>>())
    } else {
        json!(raw)
    }
}

/// Evaluates the condition and rule functions the templates use (`Ref`, `Condition`,
/// `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::EachMemberEquals`) for parameter values, so
/// a test can ask what a deploy with those values would do.
fn eval(t: &Value, v: &Value, given: &[(&str, &str)]) -> Value {
    let truth = |v: &Value| match eval(t, v, given) {
        Value::Bool(b) => b,
        other => panic!("not a condition: {other}"),
    };
    let args = |v: &Value| v.as_array().cloned().unwrap_or_default();
    match v {
        Value::Object(map) if map.len() == 1 => {
            let (f, arg) = map.iter().next().unwrap();
            match f.as_str() {
                "Ref" => parameter(t, arg.as_str().unwrap(), given),
                "Condition" => eval(t, &t["Conditions"][arg.as_str().unwrap()], given),
                "Fn::Equals" => {
                    let a = args(arg);
                    json!(eval(t, &a[0], given) == eval(t, &a[1], given))
                }
                "Fn::Not" => json!(!truth(&args(arg)[0])),
                "Fn::And" => json!(args(arg).iter().all(truth)),
                "Fn::Or" => json!(args(arg).iter().any(truth)),
                "Fn::EachMemberEquals" => {
                    let a = args(arg);
                    let want = eval(t, &a[1], given);
                    json!(args(&eval(t, &a[0], given)).iter().all(|m| *m == want))
                }
                other => panic!("{other} is not evaluated here"),
            }
        }
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

/// Whether every `Rules` assertion of a template holds for these parameter values, with the
/// failing assertion's description.
fn rules_hold(t: &Value, given: &[(&str, &str)]) -> Result<(), String> {
    let Some(rules) = t["Rules"].as_object() else {
        return Ok(());
    };
    for rule in rules.values() {
        if let Some(when) = rule.get("RuleCondition")
            && eval(t, when, given) == json!(false)
        {
            continue;
        }
        for a in rule["Assertions"].as_array().unwrap() {
            if eval(t, &a["Assert"], given) != json!(true) {
                return Err(a["AssertDescription"].as_str().unwrap_or("?").to_owned());
            }
        }
    }
    Ok(())
}

/// A value as CloudFormation resolves it for these parameter values, as far as the role's
/// policy needs: `Fn::If` takes its branch and `AWS::NoValue` drops out; other functions stay as
/// written.
fn resolve(t: &Value, v: &Value, given: &[(&str, &str)]) -> Option<Value> {
    match v {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::If") => {
            let f = map["Fn::If"].as_array().unwrap();
            let on = eval(t, &json!({"Condition": f[0]}), given) == json!(true);
            resolve(t, &f[if on { 1 } else { 2 }], given)
        }
        Value::Object(map) if map.get("Ref") == Some(&json!("AWS::NoValue")) => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(k, v)| resolve(t, v, given).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|v| resolve(t, v, given)).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Runs `script` on `.venv`'s Python with `input` as JSON on its standard input; what it printed.
/// A failed run fails the test with what it wrote to standard error.
fn python_on(script: &str, input: &Value) -> Vec<u8> {
    let out = Command::new(root().join(".venv/bin/python"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.to_string().as_bytes())?;
            child.wait_with_output()
        })
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Matches each value against its pattern as CloudFormation would (whole value).
fn assert_patterns(cases: &[(String, String, String, bool)]) {
    let out = python_on(
        "import json, re, sys\nfor name, pattern, value, ok in json.load(sys.stdin):\n    if (re.fullmatch(pattern, value) is not None) != ok:\n        print(f'{name}: {value!r} should {\"\" if ok else \"not \"}match {pattern}')",
        &json!(cases),
    );
    let wrong = String::from_utf8_lossy(&out);
    assert!(wrong.is_empty(), "{wrong}");
}
