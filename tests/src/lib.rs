//! Helpers shared by the integration tests: the built binary, the sample logs, and a local SNS
//! with SQS subscribers served by `moto_server` (started by `tests/run`).

pub mod emf;
pub mod fault_proxy;
pub mod filter_pattern;
pub mod http;
pub mod runtime_api;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, QueueAttributeName};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A file under `samplelogs/`.
pub fn sample(rel: &str) -> PathBuf {
    root().join("samplelogs").join(rel)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The `forwarder` binary, built once per test process (a separate package's binary is not built
/// for this crate's tests by cargo itself).
pub fn forwarder_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "forwarder", "--bin", "forwarder"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p forwarder failed");
        target_dir().join("debug").join("forwarder")
    })
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Runs the CLI as a user would, with a clean set of forwarder settings.
pub fn forwarder(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(forwarder_bin());
    cmd.args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let settings = forwarder::config::Setting::ALL.map(forwarder::config::Setting::env);
    for var in settings
        .iter()
        .chain(&["AWS_LAMBDA_RUNTIME_API", "AWS_ENDPOINT_URL"])
    {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("forwarder starts");
    let mut input = child.stdin.take().expect("piped");
    let bytes = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("forwarder runs");
    writer.join().expect("stdin writer");
    Run::from(out)
}

/// A template under the workspace as CloudFormation JSON, read with cfn-lint's own CloudFormation
/// YAML reader (short-form intrinsics such as `!Ref` come back in their long JSON form), so a test
/// sees what CloudFormation sees.
pub fn cfn_template(rel: &str) -> serde_json::Value {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./tests/run, which installs cfn-lint into .venv",
        python.display()
    );
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import decode\nt, m = decode(sys.argv[1])\nassert t is not None, m\nprint(json.dumps(t))",
        ])
        .arg(root().join(rel))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{rel}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The local AWS endpoint `tests/run` started. Tests that need it fail loudly without it.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the tests with ./tests/run, which starts moto_server",
    )
}

/// The causes `samplelogs/events/default-format.json` holds, one alert each, sorted.
pub const DEFAULT_FORMAT_CAUSES: [&str; 4] = [
    "authorizer_timeout",
    "invalid_response_format",
    "missing_invoke_permission",
    "unknown",
];

/// An empty zip archive: moto stores a function's code without running it.
pub const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// The trust policy of a Lambda function's role.
pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// SDK settings for a local endpoint with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(forwarder::sdk::https_client(forwarder::sdk::Roots::Native))
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .test_credentials()
        .load()
        .await
}

/// A topic on the local SNS with three SQS subscribers: every message, only
/// `cause=missing_invoke_permission`, and raw delivery.
pub struct LocalTopic {
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    pub all: String,
    pub permission_only: String,
    pub raw: String,
}

impl LocalTopic {
    /// Creates the topic and queues under names unique to `test` and this process, so reruns
    /// against a long-lived moto_server never meet an earlier run's subscribers.
    pub async fn create(test: &str) -> Self {
        let test = &format!("{test}-{}", std::process::id());
        let config = sdk_config(&moto_endpoint()).await;
        let sns = aws_sdk_sns::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let topic_arn = sns
            .create_topic()
            .name(format!("alerts-{test}"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("topic arn");
        let mut urls = Vec::new();
        for (suffix, filter, raw) in [
            ("all", None, false),
            (
                "perm",
                Some(r#"{"cause":["missing_invoke_permission"]}"#),
                false,
            ),
            ("raw", None, true),
        ] {
            let name = format!("{test}-{suffix}");
            let (url, arn) = create_queue(&sqs, &name).await;
            let mut sub = sns
                .subscribe()
                .topic_arn(&topic_arn)
                .protocol("sqs")
                .endpoint(arn);
            if let Some(policy) = filter {
                sub = sub.attributes("FilterPolicy", policy);
            }
            if raw {
                sub = sub.attributes("RawMessageDelivery", "true");
            }
            sub.send().await.expect("subscribe");
            urls.push(url);
        }
        let [all, permission_only, raw] = <[String; 3]>::try_from(urls).expect("three queues");
        LocalTopic {
            sns,
            sqs,
            topic_arn,
            all,
            permission_only,
            raw,
        }
    }

    /// Subscribes an HTTPS-protocol endpoint, the way AWS Chatbot subscribes to a topic.
    pub async fn subscribe_https(&self, url: &str) {
        self.sns
            .subscribe()
            .topic_arn(&self.topic_arn)
            .protocol("https")
            .endpoint(url)
            .send()
            .await
            .expect("subscribe https");
    }

    /// Receives messages until `want` arrived or `wait` passed; returns what arrived.
    pub async fn receive(&self, queue: &str, want: usize, wait: Duration) -> Vec<Message> {
        let deadline = Instant::now() + wait;
        let mut got = Vec::new();
        while got.len() < want && Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            for m in out.messages.unwrap_or_default() {
                if let Some(handle) = &m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(queue)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
                got.push(m);
            }
        }
        got
    }

    /// Waits briefly and returns how many messages a queue holds; for asserting that none arrived.
    pub async fn count_after(&self, queue: &str, wait: Duration) -> usize {
        self.receive(queue, usize::MAX, wait).await.len()
    }
}

/// Creates an SQS queue; its URL and ARN.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    (url, arn)
}

/// Creates a flood-control table as the stack does: string partition key `pk`, on demand.
pub async fn create_windows_table(dynamo: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    dynamo
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create table");
}

/// The SNS envelope a non-raw SQS subscriber receives, parsed.
pub fn sns_envelope(m: &Message) -> serde_json::Value {
    serde_json::from_str(m.body().expect("body")).expect("SNS envelope is JSON")
}

/// Reads a sample file.
pub fn read_sample(rel: &str) -> Vec<u8> {
    std::fs::read(sample(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Checks a body against the AWS Chatbot custom-notification shape
/// (<https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>); returns it parsed.
pub fn assert_chatbot_notification(body: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(body).expect("chat body is JSON");
    assert_eq!(v["version"], "1.0", "{v}");
    assert_eq!(v["source"], "custom", "{v}");
    let content = &v["content"];
    assert_eq!(content["textType"], "client-markdown", "{v}");
    let title = content["title"].as_str().expect("title is a string");
    assert!(!title.is_empty() && title.len() <= 250, "{title}");
    assert!(
        content["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{v}"
    );
    let steps = content["nextSteps"]
        .as_array()
        .expect("nextSteps is an array");
    assert!(
        !steps.is_empty() && steps.iter().all(serde_json::Value::is_string),
        "{v}"
    );
    if let Some(meta) = v.get("metadata") {
        assert!(meta.is_object(), "{v}");
    }
    v
}

/// A loopback port nothing listens on: for a server to start on, or a client to fail against.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A moto server of one test's own that serves one request at a time. The shared `moto_server` is
/// threaded and checks a DynamoDB condition and writes the item without a lock, so two racing
/// conditional writes can both pass there. DynamoDB applies each conditional write atomically
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>);
/// a server that handles requests one by one gives the same guarantee, while the invocations still
/// race on the client side.
pub struct SerialMoto {
    child: std::process::Child,
    pub endpoint: String,
}

impl SerialMoto {
    const SERVER: &str = "import sys\n\
        from werkzeug.serving import run_simple\n\
        from moto.server import DomainDispatcherApplication, create_backend_app\n\
        run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)\n";

    pub fn start() -> Self {
        let port = closed_port();
        let python = root().join(".venv/bin/python");
        let child = std::process::Command::new(&python)
            .args(["-c", Self::SERVER, &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} (installed by tests/run): {e}", python.display()));
        let server = SerialMoto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "single-request moto did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for SerialMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the CLI with none of the machine's AWS settings: no environment variable but `env`, and
/// AWS config and credentials files that are empty (unless `env` names others) with instance
/// metadata off, so no credentials, profile or Region comes from anywhere else.
pub fn forwarder_isolated(args: &[&str], env: &[(&str, &str)]) -> Run {
    static EMPTY: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let (config, credentials) = EMPTY.get_or_init(|| {
        // The same two empty files for every test process.
        let dir = root().join("tests/.run/aws-empty");
        std::fs::create_dir_all(&dir).expect("tests/.run/aws-empty");
        let files = (dir.join("config"), dir.join("credentials"));
        std::fs::write(&files.0, "").expect("empty config file");
        std::fs::write(&files.1, "").expect("empty credentials file");
        files
    });
    let out = Command::new(forwarder_bin())
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("forwarder runs");
    Run::from(out)
}

/// An endpoint that accepts connections, reads what it is sent and never answers, as an AWS
/// endpoint does that is reachable but stuck.
pub fn black_hole() -> String {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    format!("http://{address}")
}
