//! The forwarder stack outside SAM (infra/README.md, "Publishing"): its AWS Serverless Application
//! Repository (SAR) entry in `infra/template.yaml`, the CDK app in `infra/cdk` and the Terraform in
//! `infra/terraform`. The parameter list is read from the template each run, never copied here:
//! the examples may pass only parameters the template has, and must pass every one it requires.
//! Needs `infra/cdk/node_modules` (`npm ci`) and `.venv` (cfn-lint, hcl2): `./tests/run` installs both.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use forwarder_tests::{cfn_template, root};
use serde_json::Value;

const APPLICATION_ID: &str =
    "arn:aws:serverlessrepo:us-east-1:123456789012:applications/api-authorizer-alerts";

/// `version` (or `license`) in the `[package]` (or `[workspace.package]`) table of a manifest.
fn manifest_field(manifest: &str, table: &str, key: &str) -> String {
    let text = std::fs::read_to_string(root().join(manifest)).unwrap();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == format!("[{table}]");
            continue;
        }
        if let Some((k, v)) = line.split_once('=')
            && in_table
            && k.trim() == key
        {
            return v.trim().trim_matches('"').to_string();
        }
    }
    panic!("{manifest}: no {key} in [{table}]");
}

fn forwarder_version() -> String {
    manifest_field("forwarder/Cargo.toml", "package", "version")
}

/// The template's parameter names, and those without a `Default` (which a deployment must pass).
fn template_parameters(t: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let params = t["Parameters"]
        .as_object()
        .expect("infra/template.yaml has Parameters");
    let all = params.keys().cloned().collect();
    let required = params
        .iter()
        .filter(|(_, p)| p.get("Default").is_none())
        .map(|(name, _)| name.clone())
        .collect();
    (all, required)
}

fn assert_parameter_parity(who: &str, passed: &BTreeSet<String>, t: &Value) {
    let (all, required) = template_parameters(t);
    let unknown: Vec<_> = passed.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "{who} passes parameters infra/template.yaml does not have: {unknown:?} (it has {all:?})"
    );
    let missing: Vec<_> = required.difference(passed).collect();
    assert!(
        missing.is_empty(),
        "{who} leaves out parameters infra/template.yaml requires (no Default): {missing:?}"
    );
    // Its default is empty only for the Kinesis set-up (org/central.yaml); a stack on its own
    // watches nothing without it.
    assert!(
        passed.contains("AccessLogGroupName"),
        "{who} does not pass AccessLogGroupName"
    );
}

/// The capabilities deploying the template needs (SAR's "Acknowledging application capabilities"
/// and CloudFormation's CreateStack), from its resource types.
fn required_capabilities(t: &Value) -> BTreeSet<&'static str> {
    const IAM: &[&str] = &[
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Group",
        "AWS::IAM::InstanceProfile",
        "AWS::IAM::User",
        "AWS::IAM::AccessKey",
        "AWS::IAM::UserToGroupAddition",
    ];
    const IAM_NAMES: &[&str] = &[
        "RoleName",
        "PolicyName",
        "ManagedPolicyName",
        "GroupName",
        "InstanceProfileName",
        "UserName",
    ];
    const RESOURCE_POLICY: &[&str] = &[
        "AWS::Lambda::Permission",
        "AWS::Lambda::LayerVersionPermission",
        "AWS::Events::EventBusPolicy",
        "AWS::IAM::Policy",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
    ];
    let mut caps = BTreeSet::new();
    for r in t["Resources"].as_object().unwrap().values() {
        let kind = r["Type"].as_str().unwrap();
        let props = &r["Properties"];
        if IAM.contains(&kind) {
            let named = IAM_NAMES.iter().any(|n| props.get(*n).is_some());
            caps.insert(if named {
                "CAPABILITY_NAMED_IAM"
            } else {
                "CAPABILITY_IAM"
            });
        }
        if RESOURCE_POLICY.contains(&kind) {
            caps.insert("CAPABILITY_RESOURCE_POLICY");
        }
        if kind == "AWS::Serverless::Function" {
            // SAM makes a role when none is given, and a Lambda permission per event source.
            if props.get("Role").is_none() {
                caps.insert("CAPABILITY_IAM");
            }
            if props["Events"].as_object().is_some_and(|e| !e.is_empty()) {
                caps.insert("CAPABILITY_RESOURCE_POLICY");
            }
        }
        if kind == "AWS::Serverless::Application" || kind == "AWS::CloudFormation::Stack" {
            caps.insert("CAPABILITY_AUTO_EXPAND");
        }
    }
    caps
}

/// A fresh directory under the ignored `tests/.run/` for one test's output.
fn scratch(name: &str) -> PathBuf {
    let dir = root().join("tests/.run").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cdk_ready() -> PathBuf {
    let cdk = root().join("infra/cdk");
    assert!(
        cdk.join("node_modules/aws-cdk-lib/package.json").exists(),
        "{} is missing: run ./tests/run, which runs npm ci --prefix infra/cdk",
        cdk.join("node_modules/aws-cdk-lib").display()
    );
    cdk
}

/// `node infra/cdk/app.js` with this context, writing into `out`.
fn synth(out: &Path, context: &Value) -> std::process::Output {
    let cdk = cdk_ready();
    let mut cmd = Command::new("node");
    cmd.arg("app.js")
        .current_dir(&cdk)
        .env("CDK_OUTDIR", out)
        .env("CDK_CONTEXT_JSON", context.to_string());
    for var in [
        "SAR_APPLICATION_ID",
        "SAR_SEMANTIC_VERSION",
        "ACCESS_LOG_GROUP_NAME",
        "ALERT_EMAIL",
        "ALERT_LABEL",
        "FORWARDER_PARAMETERS",
        "PACKAGED_TEMPLATE",
        "STACK_NAME",
    ] {
        cmd.env_remove(var);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("node runs (Node.js 18 or later on PATH): {e}"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn cdk_app_deploys_the_sar_application_with_the_templates_parameters() {
    let t = cfn_template("infra/template.yaml");
    let version = forwarder_version();
    let out = scratch("cdk.out");
    let context = serde_json::json!({
        "applicationId": APPLICATION_ID,
        "semanticVersion": version,
        "accessLogGroupName": "/aws/vendedlogs/apigateway/orders-access",
        "alertEmail": "oncall@example.com",
        "alertLabel": "prod",
        "parameters": { "ApiId": "a1b2c3d4e5", "AlertWindowSeconds": 600 },
        // The second option, CfnInclude of a packaged template: the source template stands in
        // for `sam package`'s output, which differs only in CodeUri and the metadata files.
        "packagedTemplate": root().join("infra/template.yaml"),
    });
    let run = synth(&out, &context);
    assert!(
        run.status.success(),
        "node infra/cdk/app.js failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let stack = read_json(&out.join("AuthorizerAlerts.template.json"));
    let transform = stack["Transform"].to_string();
    assert!(
        transform.contains("AWS::Serverless-2016-10-31"),
        "the stack needs the SAM transform for AWS::Serverless::Application: {transform}"
    );
    let apps: Vec<&Value> = stack["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Application")
        .collect();
    assert_eq!(apps.len(), 1, "{stack:#}");
    let props = &apps[0]["Properties"];
    assert_eq!(props["Location"]["ApplicationId"], APPLICATION_ID);
    assert_eq!(props["Location"]["SemanticVersion"], version.as_str());
    let params = props["Parameters"].as_object().expect("Parameters passed");
    assert_eq!(
        params["AccessLogGroupName"],
        "/aws/vendedlogs/apigateway/orders-access"
    );
    assert_eq!(params["AlertEmail"], "oncall@example.com");
    assert_eq!(params["AlertLabel"], "prod");
    assert_eq!(params["ApiId"], "a1b2c3d4e5");
    assert_eq!(params["AlertWindowSeconds"], "600");
    assert!(
        params.values().all(Value::is_string),
        "CloudFormation parameters are strings: {params:?}"
    );
    let passed: BTreeSet<String> = params.keys().cloned().collect();
    assert_parameter_parity("infra/cdk/app.js", &passed, &t);
    // Its outputs read the nested stack's, which must exist.
    for (name, out) in stack["Outputs"].as_object().unwrap() {
        let att = out["Value"]["Fn::GetAtt"][1].as_str().unwrap();
        let nested = att.strip_prefix("Outputs.").unwrap();
        assert!(
            t["Outputs"].get(nested).is_some(),
            "output {name} reads {att}, which infra/template.yaml does not have"
        );
    }

    // CfnInclude kept every resource under its logical id, and took the values passed in place of
    // those parameters.
    let included = read_json(&out.join("AuthorizerAlertsPackaged.template.json"));
    for id in t["Resources"].as_object().unwrap().keys() {
        assert!(
            included["Resources"].get(id).is_some(),
            "the included template lost {id}"
        );
    }
    for name in &passed {
        assert!(
            included["Parameters"].get(name).is_none(),
            "{name} was passed, so the included template should not ask for it"
        );
    }
}

#[test]
fn cdk_app_names_a_missing_setting_and_refuses_an_unknown_parameter() {
    let out = scratch("cdk.out-missing");
    let run = synth(
        &out,
        &serde_json::json!({ "accessLogGroupName": "/aws/vendedlogs/apigateway/orders-access" }),
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "synthesized without an application id"
    );
    assert!(
        stderr.contains("applicationId") && stderr.contains("SAR_APPLICATION_ID"),
        "{stderr}"
    );
    assert!(!out.join("AuthorizerAlerts.template.json").exists());

    // CfnInclude checks the names passed against the template it includes.
    let run = synth(
        &out,
        &serde_json::json!({
            "applicationId": APPLICATION_ID,
            "semanticVersion": forwarder_version(),
            "accessLogGroupName": "/aws/vendedlogs/apigateway/orders-access",
            "parameters": { "NoSuchParameter": "x" },
            "packagedTemplate": root().join("infra/template.yaml"),
        }),
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "included a template with an unknown parameter"
    );
    assert!(stderr.contains("NoSuchParameter"), "{stderr}");
}

/// `infra/terraform/*.tf` as JSON, file name to content, parsed by `hcl2` in `.venv`.
fn terraform() -> Value {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./tests/run, which installs hcl2 into .venv (tests/requirements.txt)",
        python.display()
    );
    let script = "import glob, json, os, sys\nimport hcl2\nout = {}\n\
        for p in sorted(glob.glob(os.path.join(sys.argv[1], '*.tf'))):\n    \
        with open(p) as f:\n        out[os.path.basename(p)] = hcl2.load(f)\n\
        print(json.dumps(out))";
    let run = Command::new(python)
        .args(["-c", script])
        .arg(root().join("infra/terraform"))
        .output()
        .expect("python runs");
    assert!(
        run.status.success(),
        "reading infra/terraform with hcl2 failed (./tests/run installs it):\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

/// Every block of this kind (`resource`, `locals`, `variable`, ...) across the files.
fn blocks<'a>(tf: &'a Value, kind: &str) -> Vec<&'a Value> {
    tf.as_object()
        .unwrap()
        .values()
        .filter_map(|file| file.get(kind))
        .flat_map(|list| list.as_array().unwrap())
        .collect()
}

fn resource<'a>(tf: &'a Value, kind: &str, name: &str) -> &'a Value {
    blocks(tf, "resource")
        .into_iter()
        .find_map(|r| r.get(kind).and_then(|r| r.get(name)))
        .unwrap_or_else(|| panic!("infra/terraform has no resource {kind}.{name}"))
}

/// hcl2 wraps each attribute's value in a one-element list.
fn attr<'a>(block: &'a Value, key: &str) -> &'a Value {
    &block[key][0]
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn terraform_passes_the_templates_parameters_and_capabilities() {
    let t = cfn_template("infra/template.yaml");
    let tf = terraform();

    // The provider is pinned.
    let aws = blocks(&tf, "terraform")
        .into_iter()
        .filter_map(|b| b.get("required_providers"))
        .flat_map(|p| p.as_array().unwrap())
        .find_map(|p| p.get("aws"))
        .map(|aws| &aws[0])
        .expect("a required_providers block with aws");
    assert_eq!(aws["source"], "hashicorp/aws");
    let pin = aws["version"].as_str().expect("a version constraint");
    assert!(
        pin.trim_start_matches(['=', '~', '>', ' '])
            .starts_with('6'),
        "hashicorp/aws pinned to 6.x: {pin}"
    );

    // The parameters: one map both options pass.
    let locals = blocks(&tf, "locals");
    let named = locals
        .iter()
        .find_map(|l| l.get("named_parameters"))
        .map(|n| &n[0])
        .and_then(Value::as_object)
        .expect("locals.named_parameters, a map");
    let merged = locals
        .iter()
        .find_map(|l| l.get("forwarder_parameters"))
        .map(|n| n[0].as_str().unwrap())
        .expect("locals.forwarder_parameters");
    assert!(
        merged.contains("local.named_parameters"),
        "forwarder_parameters is built from named_parameters: {merged}"
    );
    let passed: BTreeSet<String> = named.keys().cloned().collect();
    for want in ["AccessLogGroupName", "AlertEmail", "AlertLabel"] {
        assert!(passed.contains(want), "named_parameters lacks {want}");
    }
    assert_parameter_parity("infra/terraform", &passed, &t);

    let needed = required_capabilities(&t);
    assert!(
        needed.contains("CAPABILITY_IAM") && needed.contains("CAPABILITY_RESOURCE_POLICY"),
        "the template creates roles and resource policies: {needed:?}"
    );

    let sar = resource(
        &tf,
        "aws_serverlessapplicationrepository_cloudformation_stack",
        "forwarder",
    );
    assert_eq!(attr(sar, "parameters"), "${local.forwarder_parameters}");
    assert_eq!(attr(sar, "application_id"), "${var.application_id}");
    assert_eq!(attr(sar, "semantic_version"), "${var.semantic_version}");
    let caps = strings(attr(sar, "capabilities"));
    let missing: Vec<_> = needed.iter().filter(|c| !caps.contains(**c)).collect();
    assert!(
        missing.is_empty(),
        "the SAR stack must acknowledge {missing:?} (it has {caps:?})"
    );

    // The packaged template through CloudFormation itself: the SAM transform needs AUTO_EXPAND,
    // and CreateStack has no resource-policy capability.
    let cfn = resource(&tf, "aws_cloudformation_stack", "forwarder");
    assert_eq!(attr(cfn, "parameters"), "${local.forwarder_parameters}");
    let caps = strings(attr(cfn, "capabilities"));
    let mut needed_cfn: BTreeSet<&str> = needed.clone();
    needed_cfn.remove("CAPABILITY_RESOURCE_POLICY");
    if t.get("Transform").is_some() {
        needed_cfn.insert("CAPABILITY_AUTO_EXPAND");
    }
    for c in &needed_cfn {
        assert!(caps.contains(*c), "aws_cloudformation_stack lacks {c}");
    }
    assert!(!caps.contains("CAPABILITY_RESOURCE_POLICY"));

    // The version deployed by default is the one the template publishes.
    let default_version = blocks(&tf, "variable")
        .into_iter()
        .find_map(|v| v.get("semantic_version"))
        .map(|v| attr(v, "default").clone())
        .expect("variable semantic_version");
    assert_eq!(default_version, forwarder_version().as_str());
}

/// The resource types the AWS Serverless Application Repository publishes, for the services the
/// forwarder stack uses (an excerpt of
/// https://docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html). A
/// type not listed here: look it up on that page and add it if it is there.
const SAR_SUPPORTED: &[&str] = &[
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::DynamoDB::Table",
    "AWS::Events::Rule",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Key",
    "AWS::Kinesis::Stream",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
    "AWS::Logs::SubscriptionFilter",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::Serverless::Function",
];

#[test]
fn sar_metadata_is_complete_and_matches_the_crate() {
    let t = cfn_template("infra/template.yaml");
    let app = t["Metadata"]
        .get("AWS::ServerlessRepo::Application")
        .expect("infra/template.yaml Metadata has AWS::ServerlessRepo::Application");
    let field = |key: &str| -> &str {
        app[key]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| panic!("AWS::ServerlessRepo::Application lacks {key}"))
    };

    // The limits SAR's CreateApplication enforces (AWS SAM template Metadata section properties).
    let name = field("Name");
    assert!(
        name.len() <= 140 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "Name: {name}"
    );
    assert!(field("Description").len() <= 256);
    let author = field("Author");
    assert!(
        author.len() <= 127
            && author
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !author.starts_with('-')
            && !author.ends_with('-')
            && !author.contains("--"),
        "Author must match ^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$: {author}"
    );
    let labels = strings(&app["Labels"]);
    assert!(!labels.is_empty() && labels.len() <= 10, "{labels:?}");
    for l in &labels {
        assert!(
            l.len() <= 127
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-_:/@".contains(c)),
            "label {l}"
        );
    }
    // Optional; when given they must be real addresses, never a placeholder.
    for key in ["HomePageUrl", "SourceCodeUrl"] {
        if let Some(url) = app.get(key).and_then(|v| v.as_str()) {
            assert!(
                url.starts_with("https://") && !url.contains("your-org"),
                "{key}: {url}"
            );
        }
    }

    assert_eq!(
        field("SemanticVersion"),
        forwarder_version(),
        "SemanticVersion must be the forwarder crate's version (forwarder/Cargo.toml)"
    );
    assert_eq!(
        field("SpdxLicenseId"),
        manifest_field("Cargo.toml", "workspace.package", "license"),
        "SpdxLicenseId must be the workspace's license"
    );

    // sam package uploads these, relative to the template.
    let infra = root().join("infra");
    let license = std::fs::read_to_string(infra.join(field("LicenseUrl")))
        .unwrap_or_else(|e| panic!("LicenseUrl {}: {e}", field("LicenseUrl")));
    assert!(
        license.contains("Apache License") && license.contains("Version 2.0, January 2004"),
        "LicenseUrl is not the Apache-2.0 text"
    );
    let readme = std::fs::read_to_string(infra.join(field("ReadmeUrl")))
        .unwrap_or_else(|e| panic!("ReadmeUrl {}: {e}", field("ReadmeUrl")));
    assert!(
        readme.len() < 5 * 1024 * 1024 && readme.contains("AccessLogGroupName"),
        "ReadmeUrl should say how to configure the stack"
    );

    // SAR publishes only the resource types on its list.
    let unsupported: BTreeSet<&str> = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .filter(|k| !SAR_SUPPORTED.contains(k))
        .collect();
    assert!(
        unsupported.is_empty(),
        "resource types not in the SAR list this test knows: {unsupported:?}"
    );
}
