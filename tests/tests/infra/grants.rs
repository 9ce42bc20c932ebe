//! The forwarder role's grants for each combination of the parameters that turn checks on.

use forwarder_tests::cfn_template;
use serde_json::Value;

use super::{as_list, resolve};

/// The forwarder role's statements a deploy with these parameter values creates, by Sid: the
/// actions and resources, each a plain string (a `Fn::Sub` as written, `Ref:X`, `X.Arn`).
pub(crate) fn role_grants(
    t: &Value,
    given: &[(&str, &str)],
) -> std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        // The text, also of the `[text, variables]` form.
        Value::Object(o) if o.contains_key("Fn::Sub") => {
            let sub = &o["Fn::Sub"];
            sub.as_str().or_else(|| sub[0].as_str()).unwrap().to_owned()
        }
        Value::Object(o) if o.contains_key("Ref") => format!("Ref:{}", o["Ref"].as_str().unwrap()),
        Value::Object(o) if o.contains_key("Fn::GetAtt") => {
            format!("{}.Arn", o["Fn::GetAtt"][0].as_str().unwrap())
        }
        other => panic!("{other}"),
    };
    let doc = &t["Resources"]["ForwarderRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    resolve(t, &doc["Statement"], given)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{s}");
            let sid = s["Sid"].as_str().unwrap_or_else(|| panic!("no Sid: {s}"));
            let actions = as_list(&s["Action"]).iter().map(text).collect();
            let resources = as_list(&s["Resource"]).iter().map(text).collect();
            (sid.to_owned(), (actions, resources))
        })
        .collect()
}

/// For each combination of the diagnosis and the checks before traffic, the role holds exactly
/// the grants the features that are on need, and none of a feature that is off: defaults,
/// everything off, each check alone, ApiId with and without a check before traffic, a switch
/// that asks for more with no check on.
#[test]
fn role_grants_follow_the_checks() {
    let t = cfn_template("infra/template.yaml");
    let api = "arn:${AWS::Partition}:apigateway:${AWS::Region}::";
    let reads = |id: &str| -> Vec<String> {
        [
            "/apis/{id}",
            "/apis/{id}/routes",
            "/apis/{id}/authorizers/*",
            "/restapis/{id}",
            "/restapis/{id}/authorizers",
            "/restapis/{id}/resources",
        ]
        .iter()
        .map(|p| format!("{api}{}", p.replace("{id}", id)))
        .collect()
    };
    let functions = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*";
    let grant = |actions: &[&str], resources: Vec<String>| {
        (
            actions.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
            resources,
        )
    };
    let expected = |sids: &[&str], one_api: bool| {
        let mut m = std::collections::BTreeMap::new();
        // What every forwarder does, flood control on (the default).
        m.insert(
            "PublishAlerts".to_owned(),
            grant(&["sns:Publish"], vec!["Ref:AlertTopic".to_owned()]),
        );
        m.insert(
            "KeepFailedEvents".to_owned(),
            grant(&["sqs:SendMessage"], vec!["DeadLetterQueue.Arn".to_owned()]),
        );
        m.insert(
            "WriteOwnLog".to_owned(),
            grant(
                &["logs:CreateLogStream", "logs:PutLogEvents"],
                vec!["ForwarderLogGroup.Arn".to_owned()],
            ),
        );
        m.insert(
            "CountAlertWindows".to_owned(),
            grant(
                &["dynamodb:UpdateItem", "dynamodb:Scan", "dynamodb:GetItem"],
                vec!["AlertWindowsTable.Arn".to_owned()],
            ),
        );
        m.insert(
            "SwitchRecoverySchedule".to_owned(),
            grant(
                &["events:EnableRule", "events:DisableRule"],
                vec![
                    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/forwarder-recovery-${StackUuid}"
                        .to_owned(),
                ],
            ),
        );
        for sid in sids {
            let g = match *sid {
                "ReadApiAuthorizers" => grant(
                    &["apigateway:GET"],
                    reads(if one_api { "${ApiId}" } else { "??????????" }),
                ),
                "ReadAuthorizerFunctionPolicies" => {
                    grant(&["lambda:GetPolicy"], vec![functions.to_owned()])
                }
                "ReadCompletedStacks" => grant(
                    &[
                        "cloudformation:ListStackResources",
                        "cloudformation:DescribeStacks",
                    ],
                    vec![
                        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*"
                            .to_owned(),
                    ],
                ),
                // TestInvokeAuthorizer: POST on a REST API's authorizer, nothing else.
                "TestInvokeRestAuthorizers" => grant(
                    &["apigateway:POST"],
                    vec![format!("{api}/restapis/??????????/authorizers/*")],
                ),
                "InvokeAuthorizerFunctions" => {
                    grant(&["lambda:InvokeFunction"], vec![functions.to_owned()])
                }
                "ListApis" => grant(
                    &["apigateway:GET"],
                    vec![format!("{api}/apis"), format!("{api}/restapis")],
                ),
                "ReadApiChanges" => grant(
                    &[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    ],
                    vec!["ApiChangeQueue.Arn".to_owned()],
                ),
                other => panic!("{other}"),
            };
            m.insert((*sid).to_owned(), g);
        }
        m
    };
    let read = ["ReadApiAuthorizers", "ReadAuthorizerFunctionPolicies"];
    let deploy = [
        "ReadApiAuthorizers",
        "ReadAuthorizerFunctionPolicies",
        "ReadCompletedStacks",
    ];
    let off = [
        ("Diagnose", "false"),
        ("DeployChecks", "false"),
        ("ApiChangeChecks", "false"),
        ("SweepApiIds", ""),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut g: Vec<(&str, &str)> = off.to_vec();
        g.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        g.extend_from_slice(extra);
        g
    };
    let test_invoke = [deploy.as_slice(), &["TestInvokeRestAuthorizers"]].concat();
    // What a case is: its name, the parameters given, the statements expected, reads of one API.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>, bool);
    let cases: Vec<Case> = vec![
        (
            "defaults: diagnosis, deploy checks, TestInvokeAuthorizer",
            vec![],
            test_invoke.clone(),
            false,
        ),
        ("everything off", with(&[]), vec![], false),
        (
            "everything off, invoking asked for: no check, no grant",
            with(&[
                ("TestInvokeRestAuthorizers", "true"),
                ("InvokeAuthorizerFunctions", "true"),
            ]),
            vec![],
            false,
        ),
        (
            "diagnosis of one API, TestInvokeAuthorizer asked for but no check before traffic",
            with(&[
                ("Diagnose", "true"),
                ("ApiId", "a1b2c3d4e5"),
                ("TestInvokeRestAuthorizers", "true"),
            ]),
            read.to_vec(),
            true,
        ),
        (
            "diagnosis of any API",
            with(&[("Diagnose", "true")]),
            read.to_vec(),
            false,
        ),
        (
            "ApiId with deploy checks: a deploy may create any API",
            vec![("ApiId", "a1b2c3d4e5")],
            test_invoke.clone(),
            false,
        ),
        (
            "deploy checks without diagnosis or TestInvokeAuthorizer",
            with(&[
                ("DeployChecks", "true"),
                ("TestInvokeRestAuthorizers", "false"),
            ]),
            deploy.to_vec(),
            false,
        ),
        (
            "invoking the authorizer functions",
            vec![("InvokeAuthorizerFunctions", "true")],
            [test_invoke.as_slice(), &["InvokeAuthorizerFunctions"]].concat(),
            false,
        ),
        (
            "API changes alone",
            with(&[
                ("ApiChangeChecks", "true"),
                ("TestInvokeRestAuthorizers", "false"),
                ("ApiId", "a1b2c3d4e5"),
            ]),
            [read.as_slice(), &["ReadApiChanges"]].concat(),
            false,
        ),
        (
            "a sweep of every API, testing REST authorizers",
            with(&[("SweepApiIds", "*")]),
            [read.as_slice(), &["TestInvokeRestAuthorizers", "ListApis"]].concat(),
            false,
        ),
        (
            "a sweep of named APIs lists none",
            with(&[
                ("SweepApiIds", "a1b2c3d4e5,f6g7h8i9j0"),
                ("TestInvokeRestAuthorizers", "false"),
                ("ApiId", "a1b2c3d4e5"),
            ]),
            read.to_vec(),
            false,
        ),
        (
            "everything on",
            vec![
                ("ApiChangeChecks", "true"),
                ("SweepApiIds", "*"),
                ("InvokeAuthorizerFunctions", "true"),
                ("ApiId", "a1b2c3d4e5"),
            ],
            [
                test_invoke.as_slice(),
                &["InvokeAuthorizerFunctions", "ListApis", "ReadApiChanges"],
            ]
            .concat(),
            false,
        ),
    ];
    for (what, given, sids, one_api) in cases {
        assert_eq!(
            role_grants(&t, &given),
            expected(&sids, one_api),
            "{what}: {given:?}"
        );
    }
}
