//! The organisation templates: the central stream, destination and its rules, and the member
//! accounts' subscriptions.

use forwarder_tests::cfn_template;
use serde_json::{Value, json};

use super::security::sends_only_token_lines_never_lambda_logs;
use super::{assert_patterns, rules_hold};

#[test]
fn organisation_stream_reports_failed_records_and_admits_only_members() {
    let t = cfn_template("infra/org/central.yaml");
    let res = &t["Resources"];
    let mapping = &res["StreamMapping"]["Properties"];
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["Forwarder", "Outputs.DeadLetterQueueArn"]})
    );
    assert!(mapping["MaximumRetryAttempts"].as_u64().unwrap() <= 10);
    let stream = &res["LogStream"]["Properties"];
    assert_eq!(stream["StreamEncryption"]["EncryptionType"], "KMS");
    assert_eq!(
        stream["StreamModeDetails"]["StreamMode"],
        json!({"Fn::If": ["OnDemand", "ON_DEMAND", "PROVISIONED"]})
    );
    assert_eq!(
        t["Conditions"]["OnDemand"],
        json!({"Fn::Equals": [{"Ref": "StreamShardCount"}, 0]})
    );
    // A kept pointer finds its records: the stream keeps them as long as the queue keeps it.
    let replay = t["Mappings"]["Replay"].as_object().unwrap();
    let days: Vec<String> = t["Parameters"]["ReplayDays"]["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.to_string().trim_matches('"').to_owned())
        .collect();
    assert_eq!(replay.len(), days.len());
    for d in &days {
        let row = &replay[d];
        let number = |v: &Value| v.as_str().unwrap().parse::<u64>().unwrap();
        let hours = number(&row["StreamHours"]);
        let seconds = number(&row["QueueSeconds"]);
        assert_eq!(hours, d.parse::<u64>().unwrap() * 24, "{d}");
        assert_eq!(seconds, hours * 3600, "{d}");
        assert!((24..=8760).contains(&hours) && seconds <= 1_209_600, "{d}");
    }
    assert_eq!(
        stream["RetentionPeriodHours"],
        json!({"Fn::FindInMap": ["Replay", {"Ref": "ReplayDays"}, "StreamHours"]})
    );
    assert_eq!(
        res["Forwarder"]["Properties"]["Parameters"]["DeadLetterRetentionSeconds"],
        json!({"Fn::FindInMap": ["Replay", {"Ref": "ReplayDays"}, "QueueSeconds"]})
    );
    // The forwarder is not subscribed to a log group there, and does not try to read member APIs.
    let forwarder = &res["Forwarder"]["Properties"];
    assert_eq!(forwarder["Location"], "../template.yaml");
    assert_eq!(forwarder["Parameters"]["AccessLogGroupName"], "");
    assert_eq!(forwarder["Parameters"]["ExecutionLogGroupName"], "");
    assert_eq!(forwarder["Parameters"]["Diagnose"], "false");
    // The destination policy names who may subscribe: listed accounts or the organisation.
    let policy = res["Destination"]["Properties"]["DestinationPolicy"].to_string();
    assert!(policy.contains("aws:PrincipalOrgID"), "{policy}");
    assert!(policy.contains(r#"\"AWS\":[\"${Accounts}\"]"#), "{policy}");
    // CloudWatch Logs may only put records, only into this stream.
    let role = &res["LogsToStreamRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({"Service": "logs.amazonaws.com"})
    );
    let put = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(put["Action"], "kinesis:PutRecord");
    assert_eq!(put["Resource"], json!({"Fn::GetAtt": ["LogStream", "Arn"]}));
    // The forwarder may read the stream and nothing else is added to its role.
    let reads = &res["ForwarderReadsStream"]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(reads.as_array().unwrap().len(), 1);
    assert_eq!(
        reads[0]["Resource"],
        json!({"Fn::GetAtt": ["LogStream", "Arn"]})
    );
    // What a standard (polling) event source mapping calls, and nothing else: no
    // kinesis:SubscribeToShard, which only an enhanced fan-out consumer uses.
    let mut actions: Vec<&str> = reads[0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards"
        ]
    );
}

#[test]
fn member_accounts_send_one_log_group_or_the_whole_account() {
    let t = cfn_template("infra/org/member.yaml");
    let res = &t["Resources"];
    assert_eq!(res["AccessLogSubscription"]["Condition"], "OneLogGroup");
    assert_eq!(res["AccountSubscription"]["Condition"], "WholeAccount");
    // A REST stage's execution log goes to the same destination, in either mode.
    let execution = &res["ExecutionLogSubscription"];
    assert_eq!(
        execution["Properties"]["DestinationArn"],
        json!({"Ref": "DestinationArn"})
    );
    assert_eq!(
        res["AccessLogSubscription"]["Properties"]["FilterPattern"],
        json!({"Ref": "FilterPattern"})
    );
    let policy = &res["AccountSubscription"]["Properties"];
    assert_eq!(policy["PolicyType"], "SUBSCRIPTION_FILTER_POLICY");
    // CloudWatch Logs selects log groups for account policies only by exclusion.
    assert!(
        policy["SelectionCriteria"]
            .to_string()
            .contains("LogGroupName NOT IN")
    );
    sends_only_token_lines_never_lambda_logs(&t);
}

/// A destination policy built from no accounts names `""` as its principal and admits no one;
/// the central stack refuses such a deploy, and admits either way of naming the members.
#[test]
fn central_stack_refuses_to_deploy_with_no_one_admitted() {
    let t = cfn_template("infra/org/central.yaml");
    let refused = rules_hold(&t, &[]).expect_err("the defaults admit no one, yet deploy");
    assert!(
        refused.contains("SourceAccountIds") && refused.contains("OrganizationId"),
        "{refused}"
    );
    assert!(rules_hold(&t, &[("SourceAccountIds", "")]).is_err());
    for admitted in [
        vec![("SourceAccountIds", "111111111111")],
        vec![("SourceAccountIds", "111111111111,222222222222")],
        vec![("OrganizationId", "o-abc123def4")],
    ] {
        assert_eq!(rules_hold(&t, &admitted), Ok(()), "{admitted:?}");
    }
}

/// A trailing comma, a space or a mistyped id in SourceAccountIds, or accounts given beside an
/// organisation, stop the deploy before anything is created.
#[test]
fn central_refuses_account_lists_it_cannot_use() {
    let t = cfn_template("infra/org/central.yaml");
    let pattern = t["Parameters"]["SourceAccountIds"]["AllowedPattern"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(String, String, String, bool)> = [
        ("", true),
        ("111111111111", true),
        ("111111111111,022222222222", true),
        ("111111111111,", false),
        ("111111111111, 222222222222", false),
        ("11111111111", false),
        ("1111111111111", false),
        ("11111111111a", false),
        (",111111111111", false),
    ]
    .into_iter()
    .map(|(v, ok)| ("SourceAccountIds".into(), pattern.clone(), v.to_owned(), ok))
    .collect();
    assert_patterns(&cases);
    assert!(
        rules_hold(
            &t,
            &[
                ("SourceAccountIds", "111111111111"),
                ("OrganizationId", "o-abc123def4")
            ]
        )
        .unwrap_err()
        .contains("not both")
    );
    // The policy names each listed account as its own principal.
    let policy =
        t["Resources"]["Destination"]["Properties"]["DestinationPolicy"]["Fn::If"][2]["Fn::Sub"][1]
            ["Accounts"]
            .clone();
    assert_eq!(
        policy,
        json!({"Fn::Join": ["\",\"", {"Fn::Split": [",", {"Ref": "SourceAccountIds"}]}]})
    );
}

/// One account-level subscription policy per account and Region: its name comes from the stack,
/// and in the central account it can leave the forwarder's own log group out.
#[test]
fn member_account_policy_is_named_by_its_stack_and_can_leave_the_forwarder_out() {
    let t = cfn_template("infra/org/member.yaml");
    let p = &t["Resources"]["AccountSubscription"]["Properties"];
    assert_eq!(
        p["PolicyName"],
        json!({"Fn::Sub": "${AWS::StackName}-api-authorizer-errors"})
    );
    let excluded = &p["SelectionCriteria"]["Fn::Sub"][1]["Excluded"]["Fn::If"];
    assert_eq!(excluded[0], "ExcludesForwarder");
    assert!(
        excluded[1].to_string().contains("ForwarderLogGroupName"),
        "{excluded}"
    );
    let central = cfn_template("infra/org/central.yaml");
    assert_eq!(
        central["Outputs"]["ForwarderLogGroupName"]["Value"],
        json!({"Fn::GetAtt": ["Forwarder", "Outputs.LogGroupName"]})
    );
    let main = cfn_template("infra/template.yaml");
    assert_eq!(
        main["Outputs"]["LogGroupName"]["Value"],
        json!({"Ref": "ForwarderLogGroup"})
    );
}
