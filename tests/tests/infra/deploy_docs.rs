//! What the READMEs and docs/ tell a user to run: deploy commands with their stack names and
//! capabilities, and the Rust version.

use forwarder_tests::{cfn_template, root};

use super::ALL_TEMPLATES;

/// The capabilities CloudFormation asks of a deploy of this template: IAM for roles and policies
/// (SAM functions without a `Role` make one), NAMED_IAM for named ones, AUTO_EXPAND for nested
/// applications (their stacks run the SAM transform), and whatever the nested templates ask.
fn required_capabilities(path: &std::path::Path) -> std::collections::BTreeSet<&'static str> {
    let rel = path.strip_prefix(root()).unwrap().to_str().unwrap();
    let t = cfn_template(rel);
    let mut needs = std::collections::BTreeSet::new();
    for (_, r) in t["Resources"].as_object().unwrap() {
        let kind = r["Type"].as_str().unwrap();
        let props = &r["Properties"];
        if kind.starts_with("AWS::IAM::")
            || (kind == "AWS::Serverless::Function" && props.get("Role").is_none())
        {
            needs.insert("CAPABILITY_IAM");
        }
        let named = [
            ("AWS::IAM::Role", "RoleName"),
            ("AWS::IAM::User", "UserName"),
            ("AWS::IAM::Group", "GroupName"),
            ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
            ("AWS::IAM::InstanceProfile", "InstanceProfileName"),
        ];
        if named
            .iter()
            .any(|(k, name)| *k == kind && props.get(*name).is_some())
        {
            needs.insert("CAPABILITY_NAMED_IAM");
        }
        if kind == "AWS::Serverless::Application" {
            needs.insert("CAPABILITY_AUTO_EXPAND");
            let nested = path
                .parent()
                .unwrap()
                .join(props["Location"].as_str().unwrap());
            needs.extend(required_capabilities(&nested.canonicalize().unwrap()));
        }
    }
    needs
}

/// A setting from a `samconfig.toml` next to the template, which `sam deploy` reads.
fn samconfig(dir: &std::path::Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("samconfig.toml")).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Every deploy command the READMEs and docs/ show, run as written from the repository root, names
/// a stack and passes the capabilities its template needs: `sam deploy --guided` offers only
/// CAPABILITY_IAM, so a nested application without CAPABILITY_AUTO_EXPAND fails to deploy.
#[test]
fn documented_deploy_commands_carry_their_capabilities_and_stack_names() {
    let mut deployed = std::collections::BTreeSet::new();
    let mut docs = vec!["README.md".to_owned(), "infra/README.md".to_owned()];
    let mut more: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".md"))
        .collect();
    more.sort();
    docs.extend(more);
    for doc in &docs {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let mut blocks = Vec::new();
        let mut block: Option<Vec<String>> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start().starts_with("```")) {
                (None, true) => block = Some(Vec::new()),
                (Some(_), true) => blocks.push(block.take().unwrap()),
                (Some(b), false) => match b.last_mut() {
                    Some(last) if last.ends_with('\\') => {
                        last.pop();
                        last.push_str(line);
                    }
                    _ => b.push(line.to_owned()),
                },
                (None, false) => {}
            }
        }
        for block in blocks {
            let mut dir = root();
            let mut built: Option<std::path::PathBuf> = None;
            for command in &block {
                let words: Vec<&str> = command.split_whitespace().collect();
                let arg = |flag: &str| {
                    words
                        .iter()
                        .position(|w| *w == flag)
                        .map(|i| words[i + 1].to_owned())
                };
                match words.as_slice() {
                    ["cd", to, ..] => dir = dir.join(to),
                    ["sam", "build", ..] => {
                        built = Some(dir.join(arg("--template").unwrap_or("template.yaml".into())))
                    }
                    ["sam", "deploy", ..] | ["aws", "cloudformation", "deploy", ..] => {
                        let source = match arg("--template-file") {
                            Some(f) if !f.contains(".aws-sam") => dir.join(f),
                            _ => built.clone().unwrap_or_else(|| dir.join("template.yaml")),
                        };
                        let source = source.canonicalize().unwrap_or_else(|e| {
                            panic!("{doc}: `{command}` deploys {}: {e}", source.display())
                        });
                        let sam = words[0] == "sam";
                        let from_config = |key| sam.then(|| samconfig(&dir, key)).flatten();
                        let mut given: Vec<String> = words
                            .iter()
                            .skip_while(|w| **w != "--capabilities")
                            .skip(1)
                            .take_while(|w| w.starts_with("CAPABILITY_"))
                            .map(|w| w.to_string())
                            .collect();
                        if given.is_empty() {
                            given = from_config("capabilities")
                                .map(|c| c.split_whitespace().map(str::to_owned).collect())
                                .unwrap_or_default();
                        }
                        for needed in required_capabilities(&source) {
                            assert!(
                                given.iter().any(|g| g == needed),
                                "{doc}: `{command}` lacks {needed} (has {given:?})"
                            );
                        }
                        assert!(
                            arg("--stack-name").is_some() || from_config("stack_name").is_some(),
                            "{doc}: `{command}` names no stack"
                        );
                        // A new account has no API Gateway CloudWatch role, and the demo's REST
                        // stage fails without one: its command always says whether to set it.
                        if source.ends_with("demo/template.yaml") {
                            assert!(
                                command.contains("SetApiGatewayCloudWatchRole="),
                                "{doc}: `{command}` leaves the CloudWatch role to the default"
                            );
                        }
                        deployed.insert(source);
                    }
                    _ => {}
                }
            }
        }
    }
    let every: std::collections::BTreeSet<_> = ALL_TEMPLATES
        .iter()
        .map(|t| root().join(t).canonicalize().unwrap())
        .collect();
    assert_eq!(
        deployed, every,
        "a template without a documented deploy command"
    );
}

/// The READMEs state the Rust version the workspace declares.
#[test]
fn docs_state_the_rust_version_the_workspace_needs() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version in the workspace")
        .trim_matches('"');
    for doc in ["README.md", "infra/README.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        assert!(
            text.contains(&format!("Rust {version} or later")),
            "{doc} does not say Rust {version} or later"
        );
    }
}
