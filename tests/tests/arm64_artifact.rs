//! The arm64 `bootstrap` the stack deploys (`sam build`, which runs `cargo lambda build --release
//! --arm64`), run under
//! `qemu-aarch64-static` against our own Lambda Runtime API with the environment Lambda sets for
//! `provided.al2023`, publishing through moto's SNS. The other suites run the host build; only
//! this one runs the bytes that ship: the aarch64 code paths (NEON base64, libdeflate built by
//! zig), the cross-linked glibc and the runtime loop exactly as Lambda drives it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use forwarder_tests::runtime_api::{Outcome, RuntimeApi};
use forwarder_tests::{LocalTopic, closed_port, moto_endpoint, read_sample, root, sns_envelope};
use serde_json::Value;

const QEMU: &str = "qemu-aarch64-static";
/// Debian's cross glibc (`libc6-arm64-cross`): the loader and libraries the dynamically linked
/// bootstrap asks for (`readelf -d`: libc, libm, libpthread, libdl), under the prefix qemu's `-L`
/// maps `/` to.
const SYSROOT: &str = "/usr/aarch64-linux-gnu";
const INSTALL: &str = "apt-get install qemu-user-static libc6-arm64-cross (tests/run does)";
/// ELF `e_machine` of AArch64.
const EM_AARCH64: u16 = 183;
/// Generous: every instruction is translated by qemu, and a cold start builds the SDK clients.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The bootstrap `sam build` put in the forwarder stack's deployment package (tests/run builds
/// it as infra/README.md does), checked to be an aarch64 ELF so the test cannot pass on a host
/// build.
fn arm64_bootstrap() -> PathBuf {
    let path = root().join("tests/.run/sam/main/ForwarderFunction/bootstrap");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run ./tests/run, whose sam build step makes it (cd infra && sam build)",
            path.display()
        )
    });
    assert!(
        bytes.len() > 20 && bytes.starts_with(b"\x7fELF"),
        "{} is not an ELF file",
        path.display()
    );
    assert_eq!(bytes[4], 2, "{} is not a 64-bit ELF", path.display());
    assert_eq!(bytes[5], 1, "{} is not little-endian", path.display());
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    assert_eq!(
        machine,
        EM_AARCH64,
        "{} is not an aarch64 binary (e_machine {machine})",
        path.display()
    );
    path
}

/// Fails in one line naming what to install when qemu or the aarch64 sysroot is missing.
fn check_emulator() {
    let qemu = Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        qemu.is_ok_and(|s| s.success()),
        "{QEMU} is not on PATH: {INSTALL}"
    );
    for lib in [
        "ld-linux-aarch64.so.1",
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
    ] {
        let path = Path::new(SYSROOT).join("lib").join(lib);
        assert!(path.exists(), "{} is missing: {INSTALL}", path.display());
    }
}

/// What Lambda sets for a `provided.al2023` function of the stack (128 MB, `Handler: bootstrap`),
/// plus `AWS_ENDPOINT_URL`, the one departure: AWS calls go to `endpoint`.
fn lambda_environment(api: &RuntimeApi, endpoint: &str) -> BTreeMap<&'static str, String> {
    let mut env: BTreeMap<&'static str, String> = api.environment(128).into_iter().collect();
    env.insert("AWS_ENDPOINT_URL", endpoint.to_owned());
    env
}

/// The forwarder settings `infra/template.yaml` gives the function, with a label to find in the
/// subjects; diagnosis and flood control off, as they would need API Gateway and DynamoDB.
fn stack_settings(topic: &str) -> BTreeMap<&'static str, String> {
    [
        ("ALERT_TOPIC_ARN", topic),
        ("ALERT_LABEL", "staging"),
        ("ALERT_LANGUAGE", "en"),
        ("MAX_SAMPLES", "5"),
        ("ACCESS_LOG_FORMAT", ""),
        ("DIAGNOSE", "false"),
        ("API_ID", ""),
        ("ALERT_WINDOW_SECONDS", "0"),
        ("ALERT_STATE_TABLE", ""),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// The bootstrap under qemu with only `env` (nothing of the test's environment), its output in
/// files under `tests/.run/`; killed on drop.
struct Function {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Function {
    fn start(name: &str, env: &BTreeMap<&'static str, String>) -> Self {
        check_emulator();
        let bootstrap = arm64_bootstrap();
        let dir = root().join("tests/.run");
        std::fs::create_dir_all(&dir).unwrap();
        let stdout = dir.join(format!("arm64-{name}.stdout"));
        let stderr = dir.join(format!("arm64-{name}.stderr"));
        let child = Command::new(QEMU)
            .arg("-L")
            .arg(SYSROOT)
            .arg(&bootstrap)
            .env_clear()
            .envs(env)
            .current_dir(bootstrap.parent().unwrap())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{QEMU} does not start: {e}: {INSTALL}"));
        Function {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Everything the function printed, for failure messages.
    fn output(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr())
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Sends an event and returns the function's answer; fails with its output if none came.
    fn invoke(&self, api: &RuntimeApi, event: &[u8]) -> Outcome {
        tokio::task::block_in_place(|| api.invoke(event, INVOKE_TIMEOUT))
            .unwrap_or_else(|| panic!("no answer within {INVOKE_TIMEOUT:?}\n{}", self.output()))
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn response(outcome: Outcome, what: &str) -> Value {
    match outcome {
        Outcome::Response(body) => {
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
        }
        other => panic!("{what}: expected a /response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn arm64_bootstrap_under_qemu_alerts_acknowledges_and_rejects_by_layer() {
    let local = LocalTopic::create("arm64").await;
    let api = RuntimeApi::start();
    let mut env = lambda_environment(&api, &moto_endpoint());
    env.extend(stack_settings(&local.topic_arn));
    let started = Instant::now();
    let mut function = Function::start("ok", &env);

    // A subscription batch: four alerts (five findings) reach the SQS subscriber.
    let event = read_sample("events/default-format.json");
    let answer = response(function.invoke(&api, &event), "default-format.json");
    let cold = started.elapsed();
    assert_eq!(answer["findings"], 5, "{answer}");
    assert_eq!(answer["control_message"], false, "{answer}");
    let ids = answer["message_ids"].as_array().expect("message_ids");
    assert_eq!(ids.len(), 4, "{answer}");
    let got = local.receive(&local.all, 4, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 4, "alerts at the subscriber");
    let mut causes = Vec::new();
    for m in &got {
        let envelope = sns_envelope(m);
        assert!(
            ids.contains(&envelope["MessageId"]),
            "{envelope} not among {ids:?}"
        );
        let subject = envelope["Subject"].as_str().expect("subject");
        assert!(
            subject.starts_with("[staging] API authorizer misconfigured: "),
            "{subject}"
        );
        let machine: Value =
            serde_json::from_str(envelope["Message"].as_str().expect("message")).unwrap();
        assert!(machine["text"].as_str().unwrap().contains("How to fix:"));
        causes.push(machine["cause"].as_str().unwrap().to_owned());
    }
    causes.sort();
    assert_eq!(causes, forwarder_tests::DEFAULT_FORMAT_CAUSES);

    // The subscription's health check: acknowledged, nobody alerted.
    let event = read_sample("events/control-message.json");
    let answer = response(function.invoke(&api, &event), "control-message.json");
    assert_eq!(answer["control_message"], true, "{answer}");
    assert_eq!(answer["message_ids"], serde_json::json!([]), "{answer}");
    assert_eq!(
        local.count_after(&local.all, Duration::from_secs(3)).await,
        0,
        "a control message alerts no one"
    );

    // Each malformed event fails its invocation as EventRejected, with the layer that refused it
    // named as the command line names it (samplelogs/expected.json).
    let expected: Value = serde_json::from_slice(&read_sample("expected.json")).unwrap();
    let malformed: Vec<(&String, &str)> = expected
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with("malformed/"))
        .map(|(name, v)| (name, v["error"].as_str().unwrap()))
        .collect();
    assert!(malformed.len() >= 6, "{malformed:?}");
    for (name, layer) in malformed {
        let Outcome::Error { error_type, body } = function.invoke(&api, &read_sample(name)) else {
            panic!(
                "{name}: expected an invocation error\n{}",
                function.output()
            );
        };
        assert!(
            error_type.is_some_and(|t| t.eq_ignore_ascii_case("unhandled")),
            "{name}: Lambda-Runtime-Function-Error-Type"
        );
        let diagnostic: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(diagnostic["errorType"], "EventRejected", "{name}: {body}");
        assert!(
            diagnostic["errorMessage"].as_str().unwrap().contains(layer),
            "{name}: {body} does not name {layer:?}"
        );
    }
    // A hand-written payload that is no event at all is refused the same way.
    let Outcome::Error { body, .. } = function.invoke(&api, br#"{"hello":"world"}"#) else {
        panic!("a foreign event was accepted\n{}", function.output());
    };
    let diagnostic: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(diagnostic["errorType"], "EventRejected", "{body}");

    // Still warm after the errors: the same instance alerts again.
    let event = read_sample("events/default-format.json");
    let answer = response(function.invoke(&api, &event), "default-format.json again");
    assert_eq!(answer["message_ids"].as_array().unwrap().len(), 4);
    assert_eq!(
        local
            .receive(&local.all, 4, Duration::from_secs(15))
            .await
            .len(),
        4
    );
    assert!(function.running(), "{}", function.output());
    assert!(api.init_error().is_none());

    // The inflate cap followed AWS_LAMBDA_FUNCTION_MEMORY_SIZE (16 MiB at 128 MB), so the
    // environment reached the binary; and nothing, qemu included, wrote to stderr.
    let log = function.stdout();
    assert!(
        log.lines().any(
            |l| l.contains(r#""memory_size":"128""#) && l.contains(r#""inflate_cap":16777216"#)
        ),
        "{log}"
    );
    assert_eq!(function.stderr(), "", "{}", function.output());
    eprintln!(
        "arm64 bootstrap under qemu: first answer {cold:?} after start, all {:?}",
        started.elapsed()
    );
}

#[test]
fn arm64_bootstrap_under_qemu_fails_a_bad_cold_start_with_one_line() {
    for (change, expected) in [
        (("ALERT_TOPIC_ARN", None), "ALERT_TOPIC_ARN is not set"),
        (("MAX_SAMPLES", Some("ten")), "MAX_SAMPLES \"ten\""),
    ] {
        let api = RuntimeApi::start();
        let mut env = lambda_environment(&api, &format!("http://127.0.0.1:{}", closed_port()));
        env.extend(stack_settings("arn:aws:sns:us-east-1:123456789012:alerts"));
        match change {
            (name, Some(value)) => env.insert(name, value.to_owned()),
            (name, None) => env.remove(name),
        };
        let mut function = Function::start(&format!("bad-{}", change.0), &env);
        let status = function
            .wait_exit(INVOKE_TIMEOUT)
            .unwrap_or_else(|| panic!("{change:?}: still running\n{}", function.output()));
        assert!(!status.success(), "{change:?}: {status}");
        assert_eq!(status.code(), Some(1), "{change:?}: {status}");
        let stderr = function.stderr();
        assert_eq!(stderr.lines().count(), 1, "{change:?}: {stderr:?}");
        assert!(
            stderr.starts_with("forwarder: ") && stderr.contains(expected),
            "{change:?}: {stderr:?}"
        );
        // Configuration is read before the runtime loop starts: the function never polls, and
        // tells Lambda why on /runtime/init/error, so the error Lambda reports (and an
        // asynchronous invocation's on-failure record) names the setting.
        assert_eq!(api.polls(), 0, "{change:?}");
        let reported = api
            .init_error()
            .unwrap_or_else(|| panic!("{change:?}: no /runtime/init/error\n{}", function.output()));
        assert_eq!(
            reported.error_type.as_deref(),
            Some("ConfigInvalid"),
            "{change:?}"
        );
        let body: Value = serde_json::from_str(&reported.body).unwrap();
        assert_eq!(body["errorType"], "ConfigInvalid", "{change:?}");
        assert!(
            body["errorMessage"].as_str().unwrap().contains(expected),
            "{change:?}: {body}"
        );
    }
}
