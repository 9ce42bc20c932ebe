//! Unit tests of `preflight`, beside it so its source stays readable.

use super::*;
use crate::text::shape::is_stack_name;

const STACK: &str = "alerts";
const EXEC: &str = "API-Gateway-Execution-Logs_a1b2c3d4e5/prod";
const ACCESS: &str = "/apigw/prod-access";

fn plan() -> Plan {
    Plan {
        stack_name: STACK.to_owned(),
        region: "us-east-1".to_owned(),
        ..Plan::default()
    }
}

fn filter(name: &str) -> SubscriptionFilter {
    SubscriptionFilter {
        name: name.to_owned(),
        destination_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
    }
}

fn group(filters: &[&str]) -> GroupFacts {
    GroupFacts {
        exists: Ok(true),
        filters: Some(Ok(filters.iter().map(|f| filter(f)).collect())),
    }
}

fn missing() -> GroupFacts {
    GroupFacts {
        exists: Ok(false),
        filters: None,
    }
}

fn denied(call: Call) -> SurveyError {
    SurveyError::Denied {
        call,
        reason: "AccessDeniedException: no".to_owned(),
    }
}

fn only(findings: &[Finding], check: CheckId) -> &Finding {
    let mut of = findings.iter().filter(|f| f.check == check);
    let f = of
        .next()
        .unwrap_or_else(|| panic!("{check:?} in {findings:#?}"));
    assert!(of.next().is_none(), "one {check:?} in {findings:#?}");
    f
}

fn slack(configs: Vec<SlackChannelConfiguration>) -> Facts {
    Facts {
        slack_channel_configurations: Some(Ok(configs)),
        ..Facts::default()
    }
}

fn config(channel: &str, topics: &[&str]) -> SlackChannelConfiguration {
    SlackChannelConfiguration {
        arn: "arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops".to_owned(),
        name: Some("ops".to_owned()),
        workspace_id: "T0123".to_owned(),
        channel_id: channel.to_owned(),
        topic_arns: topics.iter().map(|t| (*t).to_owned()).collect(),
    }
}

#[test]
fn partitions_come_from_the_region() {
    for (region, want) in [
        ("us-east-1", Partition::Aws),
        ("eu-west-1", Partition::Aws),
        ("cn-north-1", Partition::China),
        ("cn-northwest-1", Partition::China),
        ("us-gov-west-1", Partition::GovCloud),
        ("us-iso-east-1", Partition::Iso),
        ("us-isob-east-1", Partition::IsoB),
        ("eu-isoe-west-1", Partition::IsoE),
        ("us-isof-south-1", Partition::IsoF),
    ] {
        assert_eq!(Partition::of_region(region), want, "{region}");
    }
}

/// Each check, passing and failing: (what, plan, facts, check, status, text in the summary
/// or fix).
#[test]
fn each_check_passes_and_fails() {
    let with = |f: &dyn Fn(&mut Plan)| {
        let mut p = plan();
        f(&mut p);
        p
    };
    let groups = |entries: &[(&str, GroupFacts)]| Facts {
        log_groups: entries
            .iter()
            .map(|(n, g)| ((*n).to_owned(), g.clone()))
            .collect(),
        ..Facts::default()
    };
    let policies = |names: &[&str]| Facts {
        account_policies: Some(Ok(names
            .iter()
            .map(|n| AccountPolicy {
                name: (*n).to_owned(),
                selection_criteria: None,
            })
            .collect())),
        ..Facts::default()
    };
    let role = |arn: Option<&str>| Facts {
        cloudwatch_role: Some(Ok(arn.map(str::to_owned))),
        ..Facts::default()
    };
    let slack_plan = |region: &str, w: Option<&str>, c: Option<&str>| {
        let mut p = plan();
        p.region = region.to_owned();
        p.slack_workspace_id = w.map(str::to_owned);
        p.slack_channel_id = c.map(str::to_owned);
        p
    };
    let trails = |t: Vec<Trail>| Facts {
        trails: Some(Ok(t)),
        ..Facts::default()
    };
    let trail = |name: &str, home: &str, logging: Read<bool>, writes: Read<bool>| Trail {
        name: name.to_owned(),
        arn: format!("arn:aws:cloudtrail:{home}:123456789012:trail/{name}"),
        home_region: home.to_owned(),
        logging,
        management_writes: writes,
    };
    let access = |p: &mut Plan| p.log_groups = vec![(GroupRole::Access, ACCESS.to_owned())];
    let exec = |p: &mut Plan| p.log_groups = vec![(GroupRole::Execution, EXEC.to_owned())];
    type Case = (&'static str, Plan, Facts, CheckId, Status, &'static str);
    let cases: Vec<Case> = vec![
        (
            "aws partition with Slack ids",
            slack_plan("us-east-1", Some("T0123"), Some("C0123")),
            Facts::default(),
            CheckId::Partition,
            Status::Ok,
            "partition aws",
        ),
        (
            "China with Slack ids",
            slack_plan("cn-north-1", Some("T0123"), Some("C0123")),
            Facts::default(),
            CheckId::Partition,
            Status::Fail,
            "subscribe email",
        ),
        (
            "GovCloud with one Slack id",
            slack_plan("us-gov-west-1", None, Some("C0123")),
            Facts::default(),
            CheckId::Partition,
            Status::Fail,
            "aws-us-gov",
        ),
        (
            "GovCloud without Slack",
            slack_plan("us-gov-west-1", None, None),
            Facts::default(),
            CheckId::Partition,
            Status::Ok,
            "aws-us-gov",
        ),
        (
            "only the channel id",
            slack_plan("us-east-1", None, Some("C0123")),
            Facts::default(),
            CheckId::SlackIds,
            Status::Fail,
            "--slack-workspace-id",
        ),
        (
            "only the workspace id",
            slack_plan("us-east-1", Some("T0123"), None),
            Facts::default(),
            CheckId::SlackIds,
            Status::Fail,
            "--slack-channel-id",
        ),
        (
            "a valid stack name",
            plan(),
            Facts::default(),
            CheckId::StackName,
            Status::Ok,
            "valid",
        ),
        (
            "a stack name with an underscore",
            with(&|p| p.stack_name = "my_alerts".to_owned()),
            Facts::default(),
            CheckId::StackName,
            Status::Fail,
            "start with a letter",
        ),
        (
            "a stack name starting with a digit",
            with(&|p| p.stack_name = "1alerts".to_owned()),
            Facts::default(),
            CheckId::StackName,
            Status::Fail,
            "^[A-Za-z][A-Za-z0-9-]*$",
        ),
        (
            "a stack name of 129 characters",
            with(&|p| p.stack_name = "a".repeat(129)),
            Facts::default(),
            CheckId::StackName,
            Status::Fail,
            "129 characters",
        ),
        (
            "an execution-log group of another shape",
            with(&|p| p.log_groups = vec![(GroupRole::Execution, "/custom/exec".to_owned())]),
            Facts::default(),
            CheckId::LogGroupName,
            Status::Fail,
            "ExecutionLogDeliveryGroupName",
        ),
        (
            "a Lambda function's group as the access log",
            with(&|p| p.log_groups = vec![(GroupRole::Access, "/aws/lambda/fn".to_owned())]),
            Facts::default(),
            CheckId::LogGroupName,
            Status::Fail,
            "loop",
        ),
        (
            "API Gateway's own group as a delivery group",
            with(&|p| p.log_groups = vec![(GroupRole::ExecutionDelivery, EXEC.to_owned())]),
            Facts::default(),
            CheckId::LogGroupName,
            Status::Fail,
            "--execution-log-group",
        ),
        (
            "an existing access-log group",
            with(&access),
            groups(&[(ACCESS, group(&[]))]),
            CheckId::LogGroup,
            Status::Ok,
            "exists",
        ),
        (
            "a missing access-log group",
            with(&access),
            groups(&[(ACCESS, missing())]),
            CheckId::LogGroup,
            Status::Fail,
            "aws logs create-log-group --region us-east-1 --log-group-name /apigw/prod-access",
        ),
        (
            "a missing execution-log group",
            with(&exec),
            groups(&[(EXEC, missing())]),
            CheckId::LogGroup,
            Status::Fail,
            "aws apigateway update-stage --region us-east-1 --rest-api-id a1b2c3d4e5 --stage-name prod --patch-operations 'op=replace,path=/*/*/logging/loglevel,value=ERROR'",
        ),
        (
            "a missing delivery group",
            with(&|p| p.log_groups = vec![(GroupRole::ExecutionDelivery, "/exec/prod".to_owned())]),
            groups(&[("/exec/prod", missing())]),
            CheckId::LogGroup,
            Status::Fail,
            "put-delivery-source",
        ),
        (
            "a group that could not be listed",
            with(&access),
            groups(&[(
                ACCESS,
                GroupFacts {
                    exists: Err(denied(Call::DescribeLogGroups)),
                    filters: None,
                },
            )]),
            CheckId::LogGroup,
            Status::Warn,
            "needs logs:DescribeLogGroups",
        ),
        (
            "no filters",
            with(&access),
            groups(&[(ACCESS, group(&[]))]),
            CheckId::SubscriptionFilters,
            Status::Ok,
            "no other subscription filter; this stack's filter makes 1 of the two",
        ),
        (
            "one foreign filter",
            with(&access),
            groups(&[(ACCESS, group(&["splunk"]))]),
            CheckId::SubscriptionFilters,
            Status::Ok,
            "1 other subscription filter (splunk -> arn:aws:lambda:us-east-1:123456789012:function:splunk); this stack's filter makes 2 of the two",
        ),
        (
            "two foreign filters",
            with(&access),
            groups(&[(ACCESS, group(&["splunk", "datadog"]))]),
            CheckId::SubscriptionFilters,
            Status::Fail,
            "aws logs delete-subscription-filter --region us-east-1 --log-group-name /apigw/prod-access --filter-name datadog",
        ),
        (
            "two filters, one of them this stack's",
            with(&access),
            groups(&[(
                ACCESS,
                group(&["alerts-AccessLogSubscription-1X2Y", "splunk"]),
            )]),
            CheckId::SubscriptionFilters,
            Status::Ok,
            "1 of this stack's own",
        ),
        (
            "a filter of a stack whose name only starts like this one's",
            with(&access),
            groups(&[(
                ACCESS,
                group(&["alertsold-AccessLogSubscription-1X2Y", "splunk"]),
            )]),
            CheckId::SubscriptionFilters,
            Status::Fail,
            "2 other subscription filters",
        ),
        (
            "one foreign filter on a group given for two parameters",
            with(&|p| {
                p.log_groups = vec![
                    (GroupRole::Access, ACCESS.to_owned()),
                    (GroupRole::ExecutionDelivery, ACCESS.to_owned()),
                ]
            }),
            groups(&[(ACCESS, group(&["splunk"]))]),
            CheckId::SubscriptionFilters,
            Status::Fail,
            "this stack's 2 filters (the group is given for 2 parameters)",
        ),
        (
            "a group given for two parameters, and no other filter",
            with(&|p| {
                p.log_groups = vec![
                    (GroupRole::Access, ACCESS.to_owned()),
                    (GroupRole::ExecutionDelivery, ACCESS.to_owned()),
                ]
            }),
            groups(&[(ACCESS, group(&[]))]),
            CheckId::SubscriptionFilters,
            Status::Ok,
            "makes 2 of the two",
        ),
        (
            "filters that could not be read",
            with(&access),
            groups(&[(
                ACCESS,
                GroupFacts {
                    exists: Ok(true),
                    filters: Some(Err(denied(Call::DescribeSubscriptionFilters))),
                },
            )]),
            CheckId::SubscriptionFilters,
            Status::Warn,
            "could not read the group's subscription filters: needs logs:DescribeSubscriptionFilters",
        ),
        (
            "whole account, no policy",
            with(&|p| p.whole_account = true),
            policies(&[]),
            CheckId::AccountPolicy,
            Status::Ok,
            "none yet",
        ),
        (
            "whole account, another policy",
            with(&|p| p.whole_account = true),
            policies(&["to-splunk"]),
            CheckId::AccountPolicy,
            Status::Fail,
            "aws logs delete-account-policy --region us-east-1 --policy-type SUBSCRIPTION_FILTER_POLICY --policy-name to-splunk",
        ),
        (
            "whole account, member.yaml's own policy",
            with(&|p| p.whole_account = true),
            policies(&[&member_policy_name(STACK)]),
            CheckId::AccountPolicy,
            Status::Ok,
            "the name member.yaml gives this stack's policy",
        ),
        (
            "group mode beside a policy",
            with(&access),
            policies(&["to-splunk"]),
            CheckId::AccountPolicy,
            Status::Ok,
            "does not count against their two",
        ),
        (
            "policies that could not be read",
            with(&|p| p.whole_account = true),
            Facts {
                account_policies: Some(Err(denied(Call::DescribeAccountPolicies))),
                ..Facts::default()
            },
            CheckId::AccountPolicy,
            Status::Warn,
            "needs logs:DescribeAccountPolicies",
        ),
        (
            "a CloudWatch role",
            with(&|p| p.rest_logging = true),
            role(Some("arn:aws:iam::123456789012:role/apigw-logs")),
            CheckId::CloudwatchRole,
            Status::Ok,
            "arn:aws:iam::123456789012:role/apigw-logs",
        ),
        (
            "no CloudWatch role",
            with(&|p| p.rest_logging = true),
            role(None),
            CheckId::CloudwatchRole,
            Status::Fail,
            "aws apigateway update-account --region us-east-1 --patch-operations op=replace,path=/cloudwatchRoleArn,value=ROLE_ARN",
        ),
        (
            "no CloudWatch role, the demo's parameter",
            with(&|p| p.rest_logging = true),
            role(None),
            CheckId::CloudwatchRole,
            Status::Fail,
            "SetApiGatewayCloudWatchRole=true",
        ),
        (
            "a role that could not be read",
            with(&|p| p.rest_logging = true),
            Facts {
                cloudwatch_role: Some(Err(denied(Call::GetAccount))),
                ..Facts::default()
            },
            CheckId::CloudwatchRole,
            Status::Warn,
            "needs apigateway:GET on arn:aws:apigateway:REGION::/account",
        ),
        (
            "a free channel",
            slack_plan("us-east-1", Some("T0123"), Some("C0123")),
            slack(vec![config("C9999", &[])]),
            CheckId::ChatChannel,
            Status::Ok,
            "infra/chat/template.yaml can create one",
        ),
        (
            "a channel already configured",
            slack_plan("us-east-1", Some("T0123"), Some("C0123")),
            slack(vec![config(
                "C0123",
                &[
                    "arn:aws:sns:us-east-1:123456789012:deploys",
                    "arn:aws:sns:eu-west-1:123456789012:billing",
                ],
            )]),
            CheckId::ChatChannel,
            Status::Warn,
            "aws chatbot update-slack-channel-configuration --region us-east-2 --chat-configuration-arn arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops --slack-channel-id C0123 --sns-topic-arns arn:aws:sns:us-east-1:123456789012:deploys arn:aws:sns:eu-west-1:123456789012:billing TOPIC_ARN",
        ),
        (
            "a trail logging management events",
            with(&|p| p.api_change_checks = true),
            trails(vec![trail("org", "us-west-2", Ok(true), Ok(true))]),
            CheckId::CloudTrail,
            Status::Ok,
            "trail org (home Region us-west-2) is logging management events here",
        ),
        (
            "no trail",
            with(&|p| p.api_change_checks = true),
            trails(vec![]),
            CheckId::CloudTrail,
            Status::Warn,
            "aws cloudtrail create-trail --region us-east-1 --name api-change-checks --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --region us-east-1 --name api-change-checks",
        ),
        (
            "no trail: what still works",
            with(&|p| p.api_change_checks = true),
            trails(vec![]),
            CheckId::CloudTrail,
            Status::Warn,
            "API changes made outside CloudFormation will not be seen",
        ),
        (
            "a trail of data events only",
            with(&|p| p.api_change_checks = true),
            trails(vec![trail("s3-data", "us-east-1", Ok(true), Ok(false))]),
            CheckId::CloudTrail,
            Status::Warn,
            "(s3-data do not)",
        ),
        (
            "a stopped trail",
            with(&|p| p.api_change_checks = true),
            trails(vec![trail("main", "us-west-2", Ok(false), Ok(true))]),
            CheckId::CloudTrail,
            Status::Warn,
            "aws cloudtrail start-logging --region us-west-2 --name arn:aws:cloudtrail:us-west-2:123456789012:trail/main",
        ),
        (
            "a stopped trail whose selectors could not be read",
            with(&|p| p.api_change_checks = true),
            trails(vec![trail(
                "main",
                "us-east-1",
                Ok(false),
                Err(denied(Call::GetEventSelectors)),
            )]),
            CheckId::CloudTrail,
            Status::Warn,
            "trail main is not logging",
        ),
        (
            "a trail whose status could not be read",
            with(&|p| p.api_change_checks = true),
            trails(vec![trail(
                "org",
                "us-west-2",
                Err(denied(Call::GetTrailStatus)),
                Ok(true),
            )]),
            CheckId::CloudTrail,
            Status::Warn,
            "needs cloudtrail:GetTrailStatus",
        ),
        (
            "trails that could not be listed",
            with(&|p| p.api_change_checks = true),
            Facts {
                trails: Some(Err(denied(Call::DescribeTrails))),
                ..Facts::default()
            },
            CheckId::CloudTrail,
            Status::Warn,
            "needs cloudtrail:DescribeTrails",
        ),
        (
            "configurations that could not be read",
            slack_plan("eu-west-1", Some("T0123"), Some("C0123")),
            Facts {
                slack_channel_configurations: Some(Err(denied(
                    Call::DescribeSlackChannelConfigurations,
                ))),
                ..Facts::default()
            },
            CheckId::ChatChannel,
            Status::Warn,
            "needs chatbot:DescribeSlackChannelConfigurations",
        ),
    ];
    for (what, plan, facts, id, status, text) in cases {
        let findings = check(&plan, &facts);
        let f = only(&findings, id);
        assert_eq!(f.status, status, "{what}: {f:#?}");
        let shown = format!("{} {}", f.summary, f.fix.as_deref().unwrap_or_default());
        assert!(shown.contains(text), "{what}: {text:?} not in {f:#?}");
        assert_eq!(
            findings.iter().any(|f| f.status == Status::Fail),
            status == Status::Fail,
            "{what}"
        );
        // Commands joined by `&&` run one after the other; each is plain.
        if let Some(fix) = f.fix.as_ref().filter(|fix| fix.starts_with("aws ")) {
            assert!(
                fix.split(" && ").all(crate::text::shape::is_plain_command),
                "{what}: {fix}"
            );
        }
    }
}

#[test]
fn hostile_names_never_reach_a_command_line() {
    for bad in crate::text::shape::HOSTILE {
        let mut p = plan();
        p.log_groups = vec![(GroupRole::Access, ACCESS.to_owned())];
        p.whole_account = true;
        let facts = Facts {
            log_groups: [(ACCESS.to_owned(), group(&[bad, "also;bad"]))].into(),
            account_policies: Some(Ok(vec![AccountPolicy {
                name: bad.to_owned(),
                selection_criteria: None,
            }])),
            ..Facts::default()
        };
        let mut findings = check(&p, &facts);
        p.slack_workspace_id = Some("T0123".to_owned());
        p.slack_channel_id = Some("C0123".to_owned());
        let mut c = config("C0123", &[bad]);
        c.arn = bad.to_owned();
        findings.extend(check(&p, &slack(vec![c])));
        p.api_change_checks = true;
        let stopped = Trail {
            name: bad.to_owned(),
            arn: bad.to_owned(),
            home_region: bad.to_owned(),
            logging: Ok(false),
            management_writes: Ok(true),
        };
        findings.extend(check(
            &p,
            &Facts {
                trails: Some(Ok(vec![stopped])),
                ..Facts::default()
            },
        ));
        let fixes: Vec<&String> = findings.iter().filter_map(|f| f.fix.as_ref()).collect();
        assert!(fixes.len() >= 3, "{bad:?}: {fixes:?}");
        for fix in fixes.into_iter().filter(|f| f.starts_with("aws ")) {
            assert!(crate::text::shape::is_plain_command(fix), "{bad:?}: {fix}");
        }
    }
}

#[test]
fn stack_names() {
    for (name, ok) in [
        ("a", true),
        ("api-authorizer-alerts", true),
        ("A1-b2", true),
        ("", false),
        ("-alerts", false),
        ("alerts_1", false),
        ("alerts.prod", false),
        ("alérts", false),
    ] {
        assert_eq!(is_stack_name(name), ok, "{name:?}");
    }
    assert!(is_stack_name(&"a".repeat(128)));
    assert!(!is_stack_name(&"a".repeat(129)));
}

/// The policy name treated as member.yaml's own is the one the template gives.
#[test]
fn member_policy_name_follows_the_template() {
    let member = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/org/member.yaml"
    ));
    assert!(
        member.contains(&format!(
            "PolicyName: !Sub ${{AWS::StackName}}{MEMBER_POLICY_SUFFIX}\n"
        )),
        "infra/org/member.yaml names its account policy otherwise"
    );
}

#[tokio::test]
async fn gather_asks_only_what_the_plan_needs() {
    let mut survey = MemorySurvey::default();
    survey
        .log_groups
        .insert(ACCESS.to_owned(), vec![filter("splunk")]);
    let mut p = plan();
    let facts = gather(&survey, &p).await.unwrap();
    assert_eq!(facts, Facts::default());

    p.log_groups = vec![
        (GroupRole::Access, ACCESS.to_owned()),
        (GroupRole::Execution, EXEC.to_owned()),
    ];
    let facts = gather(&survey, &p).await.unwrap();
    assert_eq!(facts.log_groups[ACCESS], group(&["splunk"]));
    assert_eq!(facts.log_groups[EXEC], missing());
    assert_eq!(facts.account_policies, Some(Ok(vec![])));
    assert_eq!(facts.cloudwatch_role, Some(Ok(None)));
    assert_eq!(facts.slack_channel_configurations, None);
    assert_eq!(facts.trails, None, "trails only for --api-change-checks");
    p.api_change_checks = true;
    assert_eq!(gather(&survey, &p).await.unwrap().trails, Some(Ok(vec![])));
    p.api_change_checks = false;

    // Chat applications are asked about only in the aws partition, with both ids.
    p.slack_workspace_id = Some("T0123".to_owned());
    p.slack_channel_id = Some("C0123".to_owned());
    assert!(
        gather(&survey, &p)
            .await
            .unwrap()
            .slack_channel_configurations
            .is_some()
    );
    p.region = "cn-north-1".to_owned();
    assert!(
        gather(&survey, &p)
            .await
            .unwrap()
            .slack_channel_configurations
            .is_none()
    );
}

#[tokio::test]
async fn a_refusal_is_a_warning_and_no_answer_stops_the_run() {
    let mut p = plan();
    p.log_groups = vec![(GroupRole::Access, ACCESS.to_owned())];
    p.slack_workspace_id = Some("T0123".to_owned());
    p.slack_channel_id = Some("C0123".to_owned());
    let mut survey = MemorySurvey::default();
    survey.log_groups.insert(ACCESS.to_owned(), vec![]);
    p.api_change_checks = true;
    survey.denied = vec![
        Call::DescribeSubscriptionFilters,
        Call::DescribeSlackChannelConfigurations,
        Call::DescribeTrails,
    ];
    let findings = check(&p, &gather(&survey, &p).await.unwrap());
    let warned: Vec<CheckId> = findings
        .iter()
        .filter(|f| f.status == Status::Warn)
        .map(|f| f.check)
        .collect();
    assert_eq!(
        warned,
        [
            CheckId::SubscriptionFilters,
            CheckId::ChatChannel,
            CheckId::CloudTrail
        ],
        "{findings:#?}"
    );
    assert!(findings.iter().all(|f| f.status != Status::Fail));

    survey.unreachable = true;
    let e = gather(&survey, &p).await.unwrap_err();
    assert_eq!(e.call(), Call::DescribeLogGroups);
    assert!(e.to_string().contains("could not reach AWS"), "{e}");
}
