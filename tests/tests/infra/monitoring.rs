//! What the stack shows an operator: the alarms and their OK note, the dashboard, the outputs,
//! and the recovery schedule that starts off.

use forwarder_tests::cfn_template;
use serde_json::{Value, json};

use super::resources_of_type;

#[test]
fn alarms_watch_errors_throttles_and_the_queue() {
    let t = cfn_template("infra/template.yaml");
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    let topic =
        json!([{"Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingTopicArn"}]}]);
    let mut metrics: Vec<String> = alarms
        .iter()
        .filter(|(_, a)| a.get("Condition").is_none())
        .map(|(_, a)| {
            let p = &a["Properties"];
            assert_eq!(p["AlarmActions"], topic);
            assert_eq!(p["Threshold"], 1);
            format!(
                "{}/{}",
                p["Namespace"].as_str().unwrap(),
                p["MetricName"].as_str().unwrap()
            )
        })
        .collect();
    metrics.sort();
    assert_eq!(
        metrics,
        [
            "AWS/Lambda/Errors",
            "AWS/Lambda/Throttles",
            "AWS/SQS/ApproximateNumberOfMessagesVisible"
        ]
    );
    // The optional alarm on the forwarder's own metric: the total over every cause and API (the
    // summary document's empty dimension set), with state changes both ways to the topic.
    let (_, failures) = alarms
        .iter()
        .find(|(_, a)| a.get("Condition").is_some())
        .expect("the authorizer failures alarm");
    assert_eq!(failures["Condition"], "FailureAlarmOn");
    let p = &failures["Properties"];
    // A request seen in both of a REST stage's logs is in each metric once: the larger of the
    // two counts it once, and either log alone still trips the alarm.
    let metrics = p["Metrics"].as_array().expect("metric math");
    assert_eq!(
        metrics[0]["Expression"],
        "MAX([FILL(access, 0), FILL(execution, 0)])"
    );
    assert_eq!(metrics[0]["ReturnData"], true);
    let stats: Vec<(&str, &Value)> = metrics[1..]
        .iter()
        .map(|m| (m["Id"].as_str().unwrap(), &m["MetricStat"]))
        .collect();
    use forwarder::metrics::{AUTHORIZER_FAILURES, EXECUTION_LOG_FAILURES, FUNCTION_NAME};
    for ((id, stat), (want_id, name)) in stats.iter().zip([
        ("access", AUTHORIZER_FAILURES),
        ("execution", EXECUTION_LOG_FAILURES),
    ]) {
        assert_eq!(*id, want_id);
        let m = &stat["Metric"];
        assert_eq!(m["Namespace"], json!({"Ref": "MetricsNamespace"}));
        assert_eq!(m["MetricName"], name);
        // This stack's forwarder's total, never another stack's in the same namespace.
        assert_eq!(
            m["Dimensions"],
            json!([{"Name": FUNCTION_NAME, "Value": {"Ref": "ForwarderFunction"}}])
        );
        assert_eq!(
            (stat["Period"].as_u64(), stat["Stat"].as_str()),
            (Some(60), Some("Sum"))
        );
    }
    assert_eq!(stats.len(), 2);
    assert_eq!(p["Threshold"], json!({"Ref": "FailureAlarmThreshold"}));
    assert_eq!(p["AlarmActions"], topic);
    // A new alarm's first INSUFFICIENT_DATA -> OK would run OKActions on every deploy: the OK
    // notification comes from a rule on ALARM -> OK alone.
    assert!(p.get("OKActions").is_none(), "{p}");
    let cleared = &t["Resources"]["AuthorizerFailuresCleared"];
    assert_eq!(cleared["Type"], "AWS::Events::Rule");
    assert_eq!(cleared["Condition"], "FailureAlarmOn");
    let pattern = &cleared["Properties"]["EventPattern"];
    assert_eq!(pattern["source"], json!(["aws.cloudwatch"]));
    assert_eq!(
        pattern["detail-type"],
        json!(["CloudWatch Alarm State Change"])
    );
    assert_eq!(
        pattern["resources"],
        json!([{"Fn::GetAtt": ["AuthorizerFailuresAlarm", "Arn"]}])
    );
    assert_eq!(
        pattern["detail"]["previousState"]["value"],
        json!(["ALARM"])
    );
    assert_eq!(pattern["detail"]["state"]["value"], json!(["OK"]));
    let target = &cleared["Properties"]["Targets"][0];
    assert_eq!(json!([target["Arn"]]), topic);
    // What it sends reads as a chat custom notification once EventBridge fills it in.
    let filled = target["InputTransformer"]["InputTemplate"]
        .as_str()
        .unwrap()
        .replace("<alarm>", "stack-authorizer-failures")
        .replace("<time>", "2026-12-07T10:00:00Z")
        .replace("<reason>", "Threshold Crossed");
    let note: Value = serde_json::from_str(&filled).expect("the OK note is JSON");
    assert_eq!(
        (note["version"].as_str(), note["source"].as_str()),
        (Some("1.0"), Some("custom"))
    );
    assert!(
        note["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with("OK: ")
    );
    assert_eq!(p["TreatMissingData"], "notBreaching");
    // The topic policy admits alarms by this stack's name prefix.
    assert!(
        p["AlarmName"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .starts_with("${AWS::StackName}-")
    );
    let conditions = &t["Conditions"];
    assert_eq!(
        conditions["FailureAlarmOn"],
        json!({"Fn::And": [{"Condition": "MetricsOn"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "FailureAlarmThreshold"}, "0"]}]}]})
    );
    // A string compared as written: the pattern admits one way to write each number, so "0.0"
    // cannot make an alarm with threshold 0 that every invocation's zero would trip.
    assert_eq!(
        t["Parameters"]["FailureAlarmThreshold"]["Default"], "0",
        "opt-in"
    );
}

/// The dashboard's graphs read the metrics the forwarder writes: every metric name and
/// dimension a graph names is one `forwarder::metrics` emits, and the body is JSON once
/// CloudFormation has substituted it.
#[test]
fn dashboard_graphs_what_the_forwarder_writes() {
    let t = cfn_template("infra/template.yaml");
    let dashboards = resources_of_type(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let (_, d) = &dashboards[0];
    assert_eq!(d["Condition"], "DashboardOn");
    assert_eq!(t["Parameters"]["CreateDashboard"]["Default"], "true");
    let sub = d["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_array()
        .unwrap();
    let body = sub[0]
        .as_str()
        .unwrap()
        .replace("${MetricsNamespace}", "AuthorizerAlerts")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${ForwarderFunction}", "stack-forwarder")
        .replace("${DeadLetterQueue.QueueName}", "stack-dlq")
        .replace("${ApiFilter}", "ApiId=\\\"a1b2c3d4e5\\\"")
        .replace("${ServerErrorsTitle}", "Server errors");
    assert!(!body.contains("${"), "every variable is known: {body}");
    let body: Value = serde_json::from_str(&body).expect("the body is JSON");
    let text = body.to_string();
    use forwarder::metrics as m;
    for name in [
        m::AUTHORIZER_FAILURES,
        m::EXECUTION_LOG_FAILURES,
        m::ALERTS_PUBLISHED,
        m::ALERTS_SUPPRESSED,
        m::FORGED_TOKENS_IGNORED,
        m::UNMATCHED_LINES,
        m::DIAGNOSIS_UNAVAILABLE,
    ] {
        assert!(text.contains(&format!("\"{name}\"")), "{name} is graphed");
    }
    // The namespace is quoted in each search, as a namespace with a space or `#` must be.
    // Each search names the dimension set the forwarder writes, FunctionName among them, and
    // this stack's function: never another stack's failures in the same namespace.
    for schema in [
        format!(
            "{{\\\"AuthorizerAlerts\\\",{},{}}}",
            m::CAUSE,
            m::FUNCTION_NAME
        ),
        format!(
            "{{\\\"AuthorizerAlerts\\\",{},{},{}}}",
            m::API_ID,
            m::CAUSE,
            m::FUNCTION_NAME
        ),
        format!(
            "{{\\\"AuthorizerAlerts\\\",{},{},{}}}",
            m::CAUSE,
            m::FUNCTION_NAME,
            m::LOG_GROUP
        ),
    ] {
        assert!(text.contains(&schema), "{schema} is searched");
    }
    // Each search's first argument, up to the statistic that follows it.
    let searches: Vec<&str> = text
        .split("SEARCH(")
        .skip(1)
        .map(|s| s.split("', ").next().unwrap())
        .filter(|s| s.contains("AuthorizerAlerts"))
        .collect();
    assert_eq!(searches.len(), 4);
    for s in searches {
        assert!(
            s.contains("FunctionName=\\\"stack-forwarder\\\""),
            "narrowed to this stack: {s}"
        );
    }
    for api_metric in ["MetricName=\\\"5xx\\\"", "MetricName=\\\"5XXError\\\""] {
        assert!(text.contains(api_metric), "{api_metric}: {text}");
    }
    for health in ["Errors", "Throttles", "ApproximateNumberOfMessagesVisible"] {
        assert!(text.contains(&format!("\"{health}\"")), "{health}");
    }
    let widgets = body["widgets"].as_array().unwrap();
    assert!(widgets.iter().all(|w| {
        let (x, width) = (w["x"].as_u64().unwrap(), w["width"].as_u64().unwrap());
        x + width <= 24
    }));
    assert_eq!(
        sub[1]["ApiFilter"],
        json!({"Fn::If": ["HasApiId", {"Fn::Sub": "ApiId=\\\"${ApiId}\\\""}, ""]})
    );
}

#[test]
fn outputs_tell_how_to_operate_the_stack() {
    let t = cfn_template("infra/template.yaml");
    let outputs = t["Outputs"].as_object().unwrap();
    for name in [
        "TopicArn",
        "FunctionName",
        "DeadLetterQueueUrl",
        "ReplayCommand",
    ] {
        assert!(outputs.contains_key(name), "{name}");
    }
    let replay = outputs["ReplayCommand"]["Value"]["Fn::Sub"]
        .as_str()
        .unwrap();
    for part in [
        "aws sqs receive-message",
        ".requestPayload",
        "aws lambda invoke",
        "--invocation-type Event",
        "aws sqs delete-message",
        "${DeadLetterQueue}",
        "${ForwarderFunction}",
    ] {
        assert!(replay.contains(part), "{part} missing from {replay}");
    }
}

/// An idle stack is never invoked: the recovery schedule starts off and the function switches it.
#[test]
fn recovery_schedule_starts_off() {
    let t = cfn_template("infra/template.yaml");
    let rule = &t["Resources"]["RecoveryCheck"]["Properties"];
    assert_eq!(rule["State"], "DISABLED");
    assert_eq!(rule["ScheduleExpression"], "rate(5 minutes)");
    // The failure alarm's OK note may be published by its rule, and by nothing else new.
    let statements =
        t["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone();
    let events = statements
        .iter()
        .find_map(|s| s.get("Fn::If"))
        .expect("a conditional statement");
    assert_eq!(events[0], "FailureAlarmOn");
    assert_eq!(
        events[1]["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(
        events[1]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!({"Fn::GetAtt": ["AuthorizerFailuresCleared", "Arn"]})
    );
}
