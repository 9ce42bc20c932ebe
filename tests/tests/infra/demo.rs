//! The demo stack's HTTP and REST APIs with their broken authorizers, and the chat configuration
//! the demo shares, which lives in infra/chat alone.

use forwarder_tests::cfn_template;
use serde_json::{Value, json};

use super::{TEMPLATES, eval, resources_of_type, rules_hold};

#[test]
fn demo_reproduces_both_failures_next_to_a_healthy_route() {
    let t = cfn_template("infra/demo/template.yaml");
    let res = &t["Resources"];
    let route_authorizer = |key: &str| {
        let (_, route) = resources_of_type(&t, "AWS::ApiGatewayV2::Route")
            .into_iter()
            .find(|(_, r)| r["Properties"]["RouteKey"] == key)
            .unwrap_or_else(|| panic!("route {key}"));
        route["Properties"]["AuthorizerId"]["Ref"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let permitted: Vec<String> = resources_of_type(&t, "AWS::Lambda::Permission")
        .iter()
        .filter_map(|(_, p)| {
            p["Properties"]["FunctionName"]["Ref"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let function_of = |authorizer: &str| {
        let uri = res[authorizer]["Properties"]["AuthorizerUri"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let start = uri.find("functions/${").unwrap() + "functions/${".len();
        uri[start..].split('.').next().unwrap().to_owned()
    };
    for (route, has_permission) in [
        ("GET /health", true),
        ("GET /orders", false),
        ("GET /profile", true),
    ] {
        let authorizer = route_authorizer(route);
        let function = function_of(&authorizer);
        assert_eq!(
            permitted.contains(&function),
            has_permission,
            "{route}: {function}"
        );
        let a = &res[authorizer.as_str()]["Properties"];
        assert_eq!(
            (
                a["EnableSimpleResponses"].clone(),
                a["AuthorizerPayloadFormatVersion"].clone()
            ),
            (json!(true), json!("2.0"))
        );
        let code = res[function.as_str()]["Properties"]["InlineCode"]
            .as_str()
            .unwrap();
        assert_eq!(
            code.contains("isAuthorized"),
            route != "GET /profile",
            "{route}: {code}"
        );
    }
    // The stage logs in the recommended format, which its forwarder is given, to the group it
    // watches.
    let stage = &res["Stage"]["Properties"]["AccessLogSettings"];
    assert_eq!(
        stage["Format"],
        forwarder::detect::access_log::RECOMMENDED_FORMAT
    );
    assert_eq!(
        res["Forwarder"]["Properties"]["Parameters"]["AccessLogFormat"],
        forwarder::detect::access_log::RECOMMENDED_FORMAT
    );
    assert_eq!(
        stage["DestinationArn"],
        json!({"Fn::GetAtt": ["AccessLogGroup", "Arn"]})
    );
    let nested = &res["Forwarder"]["Properties"];
    assert_eq!(nested["Location"], "../template.yaml");
    assert_eq!(
        nested["Parameters"]["AccessLogGroupName"],
        json!({"Ref": "AccessLogGroup"})
    );
}

/// The REST API of the demo: the same three routes with REST's failures. GET /orders has a TOKEN
/// authorizer whose function API Gateway may not invoke ("Invalid permissions on Lambda
/// function"), GET /profile a REQUEST authorizer that returns a policy document that is not one
/// ("Could not parse policy"), GET /health a working one; access and execution logs both watched.
#[test]
fn demo_rest_api_reproduces_both_rest_failures_next_to_a_healthy_route() {
    let t = cfn_template("infra/demo/template.yaml");
    let res = &t["Resources"];
    let permitted: Vec<String> = resources_of_type(&t, "AWS::Lambda::Permission")
        .iter()
        .filter(|(_, p)| p["Properties"]["Principal"] == "apigateway.amazonaws.com")
        .filter_map(|(_, p)| {
            p["Properties"]["FunctionName"]["Ref"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let methods = resources_of_type(&t, "AWS::ApiGateway::Method");
    assert_eq!(methods.len(), 3);
    let mut method_names = Vec::new();
    for (path, kind, has_permission) in [
        ("health", "REQUEST", true),
        ("orders", "TOKEN", false),
        ("profile", "REQUEST", true),
    ] {
        let (name, method) = methods
            .iter()
            .find(|(_, m)| {
                let resource = m["Properties"]["ResourceId"]["Ref"].as_str().unwrap();
                res[resource]["Properties"]["PathPart"] == path
            })
            .unwrap_or_else(|| panic!("GET /{path}"));
        method_names.push(json!(name));
        let m = &method["Properties"];
        let resource = &res[m["ResourceId"]["Ref"].as_str().unwrap()]["Properties"];
        assert_eq!(
            resource["ParentId"],
            json!({"Fn::GetAtt": ["RestApi", "RootResourceId"]})
        );
        assert_eq!(m["HttpMethod"], "GET");
        assert_eq!(m["RestApiId"], json!({"Ref": "RestApi"}));
        assert_eq!(m["AuthorizationType"], "CUSTOM");
        assert_eq!(m["Integration"]["Type"], "AWS_PROXY");
        let authorizer = m["AuthorizerId"]["Ref"].as_str().unwrap();
        let a = &res[authorizer];
        assert_eq!(a["Type"], "AWS::ApiGateway::Authorizer", "/{path}");
        let a = &a["Properties"];
        assert_eq!(a["Type"], kind, "/{path}");
        assert_eq!(a["RestApiId"], json!({"Ref": "RestApi"}));
        // No cached policy hides a failure between two requests.
        assert_eq!(a["AuthorizerResultTtlInSeconds"], 0, "/{path}");
        let uri = a["AuthorizerUri"]["Fn::Sub"].as_str().unwrap();
        let start = uri.find("functions/${").unwrap() + "functions/${".len();
        let function = uri[start..].split('.').next().unwrap();
        assert_eq!(
            permitted.iter().any(|f| f == function),
            has_permission,
            "/{path}: {function}"
        );
        // The permission names this authorizer, as API Gateway's console would add it.
        if has_permission {
            let (_, p) = resources_of_type(&t, "AWS::Lambda::Permission")
                .into_iter()
                .find(|(_, p)| p["Properties"]["FunctionName"]["Ref"] == function)
                .unwrap();
            assert_eq!(
                p["Properties"]["SourceArn"],
                json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{RestApi}}/authorizers/${{{authorizer}}}")})
            );
        }
        let code = res[function]["Properties"]["InlineCode"].as_str().unwrap();
        assert!(code.contains("\"principalId\""), "/{path}: {code}");
        assert_eq!(
            code.contains("\"policyDocument\": \"not a policy\""),
            path == "profile",
            "/{path}: {code}"
        );
        assert_eq!(
            code.contains("\"Effect\": \"Allow\""),
            path != "profile",
            "/{path}: {code}"
        );
    }
    // One deployment of all three methods, one stage that logs both ways.
    assert_eq!(res["RestDeployment"]["DependsOn"], json!(method_names));
    let stage = &res["RestStage"]["Properties"];
    assert_eq!(stage["DeploymentId"], json!({"Ref": "RestDeployment"}));
    let settings = &stage["MethodSettings"][0];
    assert_eq!(
        (&settings["ResourcePath"], &settings["HttpMethod"]),
        (&json!("/*"), &json!("*"))
    );
    assert_eq!(settings["LoggingLevel"], "ERROR");
    let access = &stage["AccessLogSetting"];
    assert_eq!(
        access["DestinationArn"],
        json!({"Fn::GetAtt": ["RestAccessLogGroup", "Arn"]})
    );
    let format = access["Format"].as_str().unwrap();
    let fields: Value = serde_json::from_str(format).expect("a JSON format");
    for (key, variable) in [
        ("requestId", "$context.requestId"),
        ("apiId", "$context.apiId"),
        ("stage", "$context.stage"),
        ("status", "$context.status"),
        ("httpMethod", "$context.httpMethod"),
        ("resourcePath", "$context.resourcePath"),
        ("responseType", "$context.error.responseType"),
        ("authorizerError", "$context.authorizer.error"),
        ("authorizeError", "$context.authorize.error"),
        ("errorMessage", "$context.error.message"),
    ] {
        assert_eq!(fields[key], variable, "{key} in {format}");
    }
    // API Gateway writes the execution log to API-Gateway-Execution-Logs_{restApiId}/{stage}; the
    // stack makes that group (with retention) before the stage.
    assert_eq!(
        res["RestExecutionLogGroup"]["Properties"]["LogGroupName"],
        json!({"Fn::Sub": format!("API-Gateway-Execution-Logs_${{RestApi}}/{}", stage["StageName"].as_str().unwrap())})
    );
    assert_eq!(res["RestStage"]["DependsOn"], "RestExecutionLogGroup");
    for group in ["RestAccessLogGroup", "RestExecutionLogGroup"] {
        assert_eq!(res[group]["Properties"]["RetentionInDays"], 7, "{group}");
    }
    // Its own forwarder reads that format, watches both groups and diagnoses that API.
    let nested = &res["RestForwarder"]["Properties"];
    assert_eq!(nested["Location"], "../template.yaml");
    let p = &nested["Parameters"];
    assert_eq!(
        p["AccessLogGroupName"],
        json!({"Ref": "RestAccessLogGroup"})
    );
    assert_eq!(
        p["ExecutionLogGroupName"],
        json!({"Ref": "RestExecutionLogGroup"})
    );
    assert_eq!(p["AccessLogFormat"], format);
    assert_eq!(p["ApiId"], json!({"Ref": "RestApi"}));
    assert_eq!(p["Diagnose"], "true");
    // The account's API Gateway CloudWatch role is one setting per account and region: the demo
    // sets it only when asked, and keeps the role when it goes.
    for name in ["ApiGatewayAccount", "ApiGatewayCloudWatchRole"] {
        assert_eq!(res[name]["Condition"], "SetCloudWatchRole", "{name}");
    }
    assert_eq!(
        res["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"],
        json!({"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]})
    );
    assert_eq!(res["ApiGatewayCloudWatchRole"]["DeletionPolicy"], "Retain");
    let set = json!({"Condition": "SetCloudWatchRole"});
    assert_eq!(eval(&t, &set, &[]), json!(false), "off by default");
    assert_eq!(
        eval(&t, &set, &[("SetApiGatewayCloudWatchRole", "true")]),
        json!(true)
    );
    // When the stack sets the role, the stage (whose logging needs it) waits for it.
    assert_eq!(
        stage["Description"]["Fn::If"][0], "SetCloudWatchRole",
        "{}",
        stage["Description"]
    );
    assert!(
        stage["Description"]["Fn::If"][1]["Fn::Sub"]
            .as_str()
            .unwrap()
            .contains("${ApiGatewayAccount}")
    );
}

/// AWS allows one Slack channel configuration per channel per account, and the type exists only
/// in the commercial partition, where CloudFormation rejects it even under a false condition. So
/// it lives in infra/chat alone, one configuration for any number of topics.
#[test]
fn one_chat_configuration_carries_every_topic_and_no_forwarder_template_has_one() {
    for rel in TEMPLATES {
        let t = cfn_template(rel);
        let chat: Vec<&String> = t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"].as_str().unwrap().starts_with("AWS::Chatbot::"))
            .map(|(k, _)| k)
            .collect();
        assert!(
            chat.is_empty(),
            "{rel} deploys only where Chatbot exists: {chat:?}"
        );
        for p in ["SlackWorkspaceId", "SlackChannelId"] {
            if rel != "infra/demo/template.yaml" {
                assert!(t["Parameters"].get(p).is_none(), "{rel} {p}");
            }
        }
    }
    let t = cfn_template("infra/chat/template.yaml");
    let configs = resources_of_type(&t, "AWS::Chatbot::SlackChannelConfiguration");
    assert_eq!(configs.len(), 1);
    let p = &configs[0].1["Properties"];
    assert_eq!(p["SnsTopicArns"], json!({"Ref": "TopicArns"}));
    assert_eq!(t["Parameters"]["TopicArns"]["Type"], "CommaDelimitedList");
    assert_eq!(
        p["GuardrailPolicies"],
        json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSDenyAll"}])
    );
    // The channel's role grants nothing: no policies, no managed policies.
    let role = &t["Resources"]["ChatbotRole"]["Properties"];
    assert!(role.get("Policies").is_none() && role.get("ManagedPolicyArns").is_none());
    // Both ids are required, and the partition is checked before anything is created.
    for id in ["SlackWorkspaceId", "SlackChannelId"] {
        assert!(t["Parameters"][id].get("Default").is_none(), "{id}");
    }
    let base = [
        ("AWS::Partition", "aws"),
        ("SlackWorkspaceId", "T0123ABCD"),
        ("SlackChannelId", "C0123ABCDEF"),
        (
            "TopicArns",
            "arn:aws:sns:eu-west-1:111122223333:a,arn:aws:sns:eu-west-1:111122223333:b",
        ),
    ];
    assert_eq!(rules_hold(&t, &base), Ok(()));
    let mut gov = base;
    gov[0] = ("AWS::Partition", "aws-us-gov");
    assert!(rules_hold(&t, &gov).unwrap_err().contains("not available"));
    let mut none = base;
    none[3] = ("TopicArns", "");
    assert!(rules_hold(&t, &none).unwrap_err().contains("TopicArns"));

    // The demo's two forwarders share one configuration, and one id alone is refused.
    let demo = cfn_template("infra/demo/template.yaml");
    let chat = &demo["Resources"]["Chat"];
    assert_eq!(chat["Condition"], "HasSlack");
    assert_eq!(chat["Properties"]["Location"], "../chat/template.yaml");
    assert_eq!(
        chat["Properties"]["Parameters"]["TopicArns"],
        json!({"Fn::Join": [",", [
            {"Fn::GetAtt": ["Forwarder", "Outputs.TopicArn"]},
            {"Fn::GetAtt": ["RestForwarder", "Outputs.TopicArn"]}
        ]]})
    );
    for (given, ok) in [
        (vec![], true),
        (
            vec![
                ("SlackWorkspaceId", "T0123ABCD"),
                ("SlackChannelId", "C0123ABCDEF"),
            ],
            true,
        ),
        (vec![("SlackWorkspaceId", "T0123ABCD")], false),
        (vec![("SlackChannelId", "C0123ABCDEF")], false),
    ] {
        assert_eq!(rules_hold(&demo, &given).is_ok(), ok, "{given:?}");
    }
}
