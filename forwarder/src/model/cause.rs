//! What an `AUTHORIZER_CONFIGURATION_ERROR` means and how to fix it.
//!
//! The texts API Gateway writes are documented in
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html>;
//! matching is on meaning (a few key words) rather than one exact sentence, because the wording
//! differs between API types and has changed over time.

use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::language::Language;
use crate::text::shape;

/// Stable cause codes; subscribers filter on them, so they never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    MissingInvokePermission,
    InvalidResponseFormat,
    AuthorizerTimeout,
    /// The authorizer ran and failed: it raised an error, crashed or timed out instead of
    /// answering (a REST or WebSocket API's `AUTHORIZER_FAILURE`, or Lambda's error object where a
    /// response should be).
    AuthorizerFailure,
    Unknown,
    /// Not an authorizer failure: most lines API Gateway wrote with an authorizer error lack the
    /// configured access-log format's layout, so the forwarder cannot read them. Said, so that a
    /// changed format never means silence.
    FormatMismatch,
}

/// How urgent an alert is, lowest first. Subscribers filter on the code (the `severity` message
/// attribute) and chat mentions start at one (`ALERT_MENTION_SEVERITY`), so the codes never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A problem is over.
    Info,
    Warning,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::High,
        Severity::Critical,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The severity named by [`Severity::code`], in any case and with spaces around.
    pub fn from_code(code: &str) -> Option<Severity> {
        let code = code.trim();
        Severity::ALL
            .into_iter()
            .find(|s| s.code().eq_ignore_ascii_case(code))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Cause {
    pub const ALL: [Cause; 6] = [
        Cause::MissingInvokePermission,
        Cause::InvalidResponseFormat,
        Cause::AuthorizerTimeout,
        Cause::AuthorizerFailure,
        Cause::Unknown,
        Cause::FormatMismatch,
    ];

    /// The cause named by [`Cause::code`].
    pub fn from_code(code: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Cause::MissingInvokePermission => "missing_invoke_permission",
            Cause::InvalidResponseFormat => "invalid_response_format",
            Cause::AuthorizerTimeout => "authorizer_timeout",
            Cause::AuthorizerFailure => "authorizer_failure",
            Cause::Unknown => "unknown",
            Cause::FormatMismatch => "format_mismatch",
        }
    }

    /// Words for the subject line, which SNS requires to be ASCII.
    pub fn subject_words(self) -> &'static str {
        match self {
            Cause::MissingInvokePermission => "missing invoke permission",
            Cause::InvalidResponseFormat => "invalid response format",
            Cause::AuthorizerTimeout => "authorizer timeout",
            Cause::AuthorizerFailure => "authorizer failure",
            Cause::Unknown => "unrecognised error",
            Cause::FormatMismatch => "access-log format mismatch",
        }
    }

    /// What the subject says before the cause's words.
    pub fn subject_lead(self) -> &'static str {
        match self {
            Cause::FormatMismatch => "API authorizer alerts blind: ",
            _ => "API authorizer misconfigured: ",
        }
    }

    /// The severity unless `CAUSE_SEVERITY` says otherwise: every cause stops all requests on the
    /// affected routes; a timeout may be intermittent.
    pub fn severity(self) -> Severity {
        match self {
            // Either may come and go with load or input.
            Cause::AuthorizerTimeout | Cause::AuthorizerFailure => Severity::High,
            // Nothing is known to be broken, but nothing would be seen if it were.
            Cause::FormatMismatch => Severity::Warning,
            _ => Severity::Critical,
        }
    }

    pub fn title(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Cause::MissingInvokePermission, Language::En) => {
                "API Gateway is not allowed to invoke the authorizer function"
            }
            (Cause::MissingInvokePermission, Language::Ja) => {
                "API Gateway にオーソライザー関数を呼び出す権限がありません"
            }
            (Cause::InvalidResponseFormat, Language::En) => {
                "The authorizer function returned a response API Gateway cannot read"
            }
            (Cause::InvalidResponseFormat, Language::Ja) => {
                "オーソライザー関数の応答が API Gateway の期待する形式ではありません"
            }
            (Cause::AuthorizerTimeout, Language::En) => "The authorizer function timed out",
            (Cause::AuthorizerTimeout, Language::Ja) => "オーソライザー関数がタイムアウトしました",
            (Cause::AuthorizerFailure, Language::En) => {
                "The authorizer function failed instead of answering"
            }
            (Cause::AuthorizerFailure, Language::Ja) => {
                "オーソライザー関数が応答を返さずに失敗しました"
            }
            (Cause::Unknown, Language::En) => "The authorizer failed with an unrecognised error",
            (Cause::Unknown, Language::Ja) => "オーソライザーが未知のエラーで失敗しました",
            (Cause::FormatMismatch, Language::En) => {
                "Access-log lines do not follow the configured format: authorizer errors cannot be detected"
            }
            (Cause::FormatMismatch, Language::Ja) => {
                "アクセスログの行が設定された形式に従っていないため、オーソライザーのエラーを検出できません"
            }
        }
    }

    pub fn explanation(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Cause::MissingInvokePermission, Language::En) => {
                "The authorizer function's resource-based policy has no statement that lets apigateway.amazonaws.com invoke it for this API's authorizer ARN, or the authorizer's invoke role lacks lambda:InvokeFunction. Every request on the protected routes fails, with the status of the gateway response (500 unless the API changed it)."
            }
            (Cause::MissingInvokePermission, Language::Ja) => {
                "オーソライザー関数のリソースベースポリシーに、この API のオーソライザー ARN から apigateway.amazonaws.com が呼び出すことを許可するステートメントがないか、オーソライザーの呼び出しロールに lambda:InvokeFunction がありません。保護されたルートへのすべてのリクエストが、ゲートウェイレスポンスのステータス (API が変更していなければ 500) で失敗します。"
            }
            (Cause::InvalidResponseFormat, Language::En) => {
                "API Gateway invoked the authorizer, but its response does not have the shape the authorizer's configuration requires. Every request on the protected routes fails, with the status of the gateway response (500 unless the API changed it)."
            }
            (Cause::InvalidResponseFormat, Language::Ja) => {
                "API Gateway はオーソライザーを呼び出しましたが、応答がオーソライザーの設定で必要な形式になっていません。保護されたルートへのすべてのリクエストが、ゲートウェイレスポンスのステータス (API が変更していなければ 500) で失敗します。"
            }
            (Cause::AuthorizerTimeout, Language::En) => {
                "The authorizer did not answer within API Gateway's limit, so the request failed (500 unless the API changed its gateway response)."
            }
            (Cause::AuthorizerTimeout, Language::Ja) => {
                "オーソライザーが API Gateway の制限時間内に応答しなかったため、リクエストは失敗しました (API がゲートウェイレスポンスを変更していなければ 500)。"
            }
            (Cause::AuthorizerFailure, Language::En) => {
                "API Gateway invoked the authorizer function, but it raised an error, crashed or ran out of time instead of returning a policy, so the request failed (500 unless the API changed its gateway response; a REST or WebSocket API calls this AUTHORIZER_FAILURE; a REST API's Amazon Cognito user pool authorizer reports it too, with no function involved). A function that means to refuse a caller must return a Deny policy, or raise exactly \"Unauthorized\" for a 401."
            }
            (Cause::AuthorizerFailure, Language::Ja) => {
                "API Gateway はオーソライザー関数を呼び出しましたが、関数がポリシーを返さずにエラーを発生させたか、クラッシュしたか、時間切れになったため、リクエストは失敗しました (API がゲートウェイレスポンスを変更していなければ 500。REST API と WebSocket API では AUTHORIZER_FAILURE。REST API の Amazon Cognito ユーザープールオーソライザーも関数なしで同じ応答を返します)。呼び出し元を拒否するには Deny ポリシーを返すか、401 にするには \"Unauthorized\" という例外だけを発生させます。"
            }
            (Cause::Unknown, Language::En) => {
                "API Gateway reported an authorizer configuration error this tool does not recognise; the error text below is what API Gateway wrote."
            }
            (Cause::Unknown, Language::Ja) => {
                "このツールが認識できないオーソライザー設定エラーを API Gateway が報告しました。以下のエラーテキストは API Gateway が記録したものです。"
            }
            (Cause::FormatMismatch, Language::En) => {
                "Most lines in this batch where API Gateway wrote an authorizer error (AUTHORIZER_CONFIGURATION_ERROR, or API Gateway's authorizer message) are not in the access-log format the forwarder was given (ACCESS_LOG_FORMAT): text the format fixes is missing, or a value only API Gateway writes has another shape, which no client value can bring about. The forwarder cannot tell whether API Gateway or a client wrote the token in them, so it alerts on none of them: until the formats agree, a broken authorizer on this stage goes unreported. The usual reason is a stage whose access-log format was changed."
            }
            (Cause::FormatMismatch, Language::Ja) => {
                "このバッチで API Gateway がオーソライザーのエラー (AUTHORIZER_CONFIGURATION_ERROR または API Gateway のオーソライザーのメッセージ) を記録した行の大半が、フォワーダーに設定されたアクセスログ形式 (ACCESS_LOG_FORMAT) になっていません。形式の固定部分が欠けているか、API Gateway だけが書く値の形が異なり、これはクライアントの値では起こりません。API Gateway とクライアントのどちらがトークンを書いたか判断できないため、どの行も通知しません。形式が一致するまで、このステージのオーソライザーの障害は通知されません。多くの場合、ステージのアクセスログ形式が変更されたことが原因です。"
            }
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A sentence API Gateway writes in `$context.authorizer.error` when it could not use a Lambda
/// authorizer. An HTTP API writes it there without either token (mantil-io/mantil#52 logs
/// `"authError":"The response from the Lambda Authorizer function doesn't match the format that API
/// Gateway expects. Invalid json in authorizer response"` with status 500; the troubleshooting note
/// on dev.classmethod.jp quotes both sentences as the variable's value), so these sentences count on
/// their own, in that variable and at the start of its value.
#[derive(Clone, Copy, Debug)]
pub struct FailureMessage {
    /// The first sentence, as API Gateway writes it.
    pub sentence: &'static str,
    /// A phrase of the sentence that a search (and a subscription filter's term) looks for: no
    /// character JSON escapes, so it reads the same in a JSON-escaped payload.
    pub phrase: &'static str,
    pub cause: Cause,
}

/// API Gateway's sentences for an authorizer it could not use. An IAM authorizer's "The request for
/// the IAM Authorizer doesn't match the format that API Gateway expects." (a 403) is not one.
pub const FAILURE_MESSAGES: [FailureMessage; 2] = [
    FailureMessage {
        sentence: "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer.",
        phrase: "permissions to call the authorizer",
        cause: Cause::MissingInvokePermission,
    },
    FailureMessage {
        sentence: "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects.",
        phrase: "Lambda Authorizer function doesn't match",
        cause: Cause::InvalidResponseFormat,
    },
];

/// The failure message `value` starts with, if any.
pub fn failure_message(value: &str) -> Option<&'static FailureMessage> {
    let value = value.trim_start();
    FAILURE_MESSAGES
        .iter()
        .find(|m| value.starts_with(m.sentence))
}

/// Whether the text shows the error object Lambda returns for a function that raised or crashed
/// (`{"errorType": ..., "errorMessage": ...}`): API Gateway then reports it as a response it cannot
/// read, as in `Invalid JSON in response: Unrecognized field "errorType" , not marked as ignorable`
/// after a `Runtime.ImportModuleError`, but the function failed: its response was never the problem.
pub fn shows_lambda_error(text: &str) -> bool {
    // One search for what both keys start with, built once: `str::contains` builds a searcher per
    // call, and every flagged line's error text is asked.
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("\"error"));
    // `"error` cannot overlap itself, so these are all its occurrences.
    KEY.find_iter(text.as_bytes()).any(|at| {
        let rest = &text.as_bytes()[at + 6..];
        rest.starts_with(b"Type\"") || rest.starts_with(b"Message\"")
    })
}

/// Classifies the error text that follows the token.
pub fn classify(error_text: &str) -> Cause {
    if shows_lambda_error(error_text) {
        return Cause::AuthorizerFailure;
    }
    // API Gateway's own wording, as documented, decides without the general rule below; a fully
    // flagged batch repeats these texts on every line.
    const KNOWN: [(&str, Cause); 7] = [
        (
            "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call the authorizer.",
            Cause::MissingInvokePermission,
        ),
        (
            "The response from the Lambda Authorizer function doesn't match the format that API Gateway expects.",
            Cause::InvalidResponseFormat,
        ),
        // A REST API's execution log, after "Execution failed due to configuration error: ".
        (
            "Invalid permissions on Lambda function",
            Cause::MissingInvokePermission,
        ),
        ("Could not parse policy", Cause::InvalidResponseFormat),
        // The authorizer's response read as JSON, with the parser's complaint after it
        // (dev.to "The context property of AWS Lambda authorizer": `Can not deserialize instance of
        // java.lang.String out of START_ARRAY token`); Lambda's own error object is caught above.
        ("Invalid JSON in response", Cause::InvalidResponseFormat),
        // aws/aws-lambda-java-libs#184, a policy whose keys had the wrong case.
        ("Unable to parse given polic", Cause::InvalidResponseFormat),
        // Written for every failure of the authorizer, after a missing invoke permission as well
        // as after a function that failed (serverless/serverless#1784, the crosscut.io post): it
        // says that the authorizer failed, not why.
        ("Authorizer error", Cause::Unknown),
    ];
    if let Some((_, cause)) = KNOWN
        .iter()
        .find(|(prefix, _)| error_text.trim_start().starts_with(prefix))
    {
        return *cause;
    }
    // Other texts repeat within a batch too; the word rules below cost more than a comparison.
    thread_local! {
        static RECENT: RefCell<Vec<(Box<str>, Cause)>> = const { RefCell::new(Vec::new()) };
    }
    const REMEMBERED: usize = 8;
    const REMEMBERED_LEN: usize = 512;
    if error_text.len() > REMEMBERED_LEN {
        return classify_words(error_text);
    }
    RECENT.with_borrow_mut(|recent| {
        if let Some((_, cause)) = recent.iter().find(|(text, _)| **text == *error_text) {
            return *cause;
        }
        let cause = classify_words(error_text);
        if recent.len() == REMEMBERED {
            recent.remove(0);
        }
        recent.push((error_text.into(), cause));
        cause
    })
}

/// The general rule: words that name the problem, in any case.
fn classify_words(error_text: &str) -> Cause {
    let t = error_text.to_ascii_lowercase();
    let has = |w: &str| t.contains(w);
    if has("permission") && (has("call") || has("invoke") || has("lambda function"))
        || has("not authorized to perform")
        // An invoke role API Gateway may not assume: "API Gateway does not have permission to
        // assume the provided role arn:aws:iam::...".
        || (has("permission") && has("assume") && has("role"))
    {
        Cause::MissingInvokePermission
    } else if has("invalid json")
        || has("match the format")
        || has("format that api gateway expects")
        || (has("parse") && has("polic"))
        || has("deserialize")
        || has("unrecognized field")
        || (has("response")
            && (has("format")
                || has("isauthorized")
                || has("malformed")
                || has("did not include")
                || has("principalid")
                || has("policydocument")))
    {
        Cause::InvalidResponseFormat
    } else if has("timed out") || has("timeout") || has("time out") || has("timing out") {
        Cause::AuthorizerTimeout
    } else {
        // "Authorizer error" and other words that say only that the authorizer failed.
        Cause::Unknown
    }
}

/// Classifies the text beside `AUTHORIZER_FAILURE`: the authorizer ran and failed, unless the text
/// names something more precise.
pub fn classify_failure(error_text: &str) -> Cause {
    match classify(error_text) {
        Cause::Unknown => Cause::AuthorizerFailure,
        cause => cause,
    }
}

/// What the log told us about where the error happened, to fill the remedy's placeholders. Any
/// of it may be hostile: [`remedy`] uses a value only when it has its AWS shape.
#[derive(Clone, Debug, Default)]
pub struct Place {
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub api_id: Option<String>,
    pub family: ApiFamily,
}

/// Which API Gateway API the commands are for, when the log tells. REST APIs have their own CLI
/// (`aws apigateway`) and their authorizers return only IAM policies; HTTP and WebSocket APIs share
/// `aws apigatewayv2`. An access log does not say which kind wrote it; an execution log is REST's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiFamily {
    #[default]
    Unknown,
    Rest,
    V2,
}

/// A fix: steps for a person, and a command to paste when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Remedy {
    pub steps: Vec<String>,
    pub command: Option<String>,
}

/// The remedy for a cause. `detail` is the error text, which names what the response lacked.
pub fn remedy(cause: Cause, place: &Place, lang: Language) -> Remedy {
    let en = lang == Language::En;
    match cause {
        Cause::MissingInvokePermission => {
            // Only values with their AWS shape go into the command; the rest stay placeholders.
            let region = shape::or(place.region.as_deref(), shape::is_region, "REGION");
            let source_arn = shape::authorizer_arn(
                None,
                Some(region),
                place.account_id.as_deref(),
                place.api_id.as_deref(),
                None,
            );
            let command = format!(
                "aws lambda add-permission --function-name AUTHORIZER_FUNCTION --statement-id apigw-authorizer --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn {source_arn} --region {region}"
            );
            let steps = if en {
                vec![
                    format!("Find the route's authorizer: {}.", find_authorizers(place, en)),
                    "Grant API Gateway permission to invoke that function with the command below.".to_owned(),
                    "Or, if the authorizer has an invoke role (AuthorizerCredentialsArn; authorizerCredentials on a REST API), allow that role lambda:InvokeFunction on the function.".to_owned(),
                    "If the function is deployed with infrastructure as code, add the permission there (AWS::Lambda::Permission) so the next deployment keeps it.".to_owned(),
                ]
            } else {
                vec![
                    format!("ルートのオーソライザーを確認します: {}。", find_authorizers(place, en)),
                    "下のコマンドで API Gateway にその関数の呼び出し権限を付与します。".to_owned(),
                    "オーソライザーに呼び出しロール (AuthorizerCredentialsArn、REST API では authorizerCredentials) がある場合は、そのロールに関数への lambda:InvokeFunction を許可します。".to_owned(),
                    "関数を IaC でデプロイしている場合は、次のデプロイで消えないようにそちらに権限 (AWS::Lambda::Permission) を追加します。".to_owned(),
                ]
            };
            Remedy {
                steps,
                command: Some(command),
            }
        }
        Cause::InvalidResponseFormat => Remedy {
            steps: invalid_response_steps(place, en),
            command: None,
        },
        Cause::AuthorizerFailure => Remedy {
            steps: if en {
                vec![
                    "Read the authorizer function's own log around the failing requests: aws logs tail /aws/lambda/AUTHORIZER_FUNCTION --since 30m (an unhandled exception, a failed import, \"Task timed out\").".to_owned(),
                    "Check its Errors, Throttles and Duration against its Timeout in CloudWatch metrics; API Gateway waits only a limited time for an authorizer (10 seconds on an HTTP API).".to_owned(),
                    "To refuse a caller, return a Deny policy (HTTP 403) or raise exactly \"Unauthorized\" (HTTP 401); any other error fails every caller with the authorizer-failure gateway response (500 unless changed).".to_owned(),
                    format!("Call it as API Gateway does: {}", test_authorizer(place, en)),
                ]
            } else {
                vec![
                    "失敗したリクエストの時刻の、オーソライザー関数自身のログを確認します: aws logs tail /aws/lambda/AUTHORIZER_FUNCTION --since 30m (未処理の例外、インポートの失敗、\"Task timed out\")。".to_owned(),
                    "CloudWatch メトリクスで関数の Errors、Throttles、Duration とタイムアウト設定を確認します。API Gateway がオーソライザーを待つ時間には上限があります (HTTP API では 10 秒)。".to_owned(),
                    "呼び出し元を拒否するには Deny ポリシー (HTTP 403) を返すか、\"Unauthorized\" という例外だけを発生させます (HTTP 401)。それ以外のエラーはすべての呼び出し元でオーソライザー失敗のゲートウェイレスポンス (変更していなければ 500) になります。".to_owned(),
                    format!("API Gateway と同じように呼び出して確認します: {}", test_authorizer(place, en)),
                ]
            },
            command: None,
        },
        Cause::AuthorizerTimeout => Remedy {
            steps: if en {
                vec![
                    "Look at the authorizer function's Duration and its configured timeout in CloudWatch metrics; API Gateway waits at most 10 seconds for an authorizer.".to_owned(),
                    "Check for cold starts (consider provisioned concurrency) and slow downstream calls such as fetching JWKS keys or a database; cache them across invocations.".to_owned(),
                    "Enable authorizer caching on the API (AuthorizerResultTtlInSeconds) to call the function less often.".to_owned(),
                ]
            } else {
                vec![
                    "CloudWatch メトリクスでオーソライザー関数の Duration と設定されたタイムアウトを確認します。API Gateway はオーソライザーを最大 10 秒待ちます。".to_owned(),
                    "コールドスタート (プロビジョンド同時実行の検討) や、JWKS 鍵の取得やデータベースなどの遅い呼び出しを確認し、呼び出し間でキャッシュします。".to_owned(),
                    "API のオーソライザーキャッシュ (AuthorizerResultTtlInSeconds) を有効にして関数の呼び出し回数を減らします。".to_owned(),
                ]
            },
            command: None,
        },
        Cause::FormatMismatch => {
            let api_id = api_id(place);
            Remedy {
                steps: if en {
                    vec![
                        "Read the stage's access-log format with the command below (a REST API: aws apigateway get-stage --rest-api-id API_ID --stage-name STAGE --query accessLogSettings.format --output text).".to_owned(),
                        "Give the forwarder exactly that string: its ACCESS_LOG_FORMAT (the stack's AccessLogFormat parameter), or put the stage's format back.".to_owned(),
                        "Keep an error variable such as $context.authorizer.error in the format, and client values (path, user agent) in double quotes, so no client value can stand where API Gateway's error does.".to_owned(),
                        "Check the result before deploying: forwarder scan --format-file FORMAT_FILE on an exported log reports unmatched lines.".to_owned(),
                    ]
                } else {
                    vec![
                        "下のコマンドでステージのアクセスログ形式を確認します (REST API の場合: aws apigateway get-stage --rest-api-id API_ID --stage-name STAGE --query accessLogSettings.format --output text)。".to_owned(),
                        "その文字列をそのままフォワーダーの ACCESS_LOG_FORMAT (スタックの AccessLogFormat パラメータ) に設定するか、ステージの形式を元に戻します。".to_owned(),
                        "形式には $context.authorizer.error などのエラー変数を含め、クライアントの値 (パス、ユーザーエージェント) は二重引用符で囲みます。".to_owned(),
                        "デプロイ前に確認します: エクスポートしたログに forwarder scan --format-file FORMAT_FILE を実行すると、形式に合わない行が報告されます。".to_owned(),
                    ]
                },
                command: Some(format!(
                    "aws apigatewayv2 get-stage --api-id {api_id} --stage-name STAGE --query AccessLogSettings.Format --output text"
                )),
            }
        }
        Cause::Unknown => Remedy {
            steps: if en {
                vec![
                    "Read the error text below: it is exactly what API Gateway wrote. A token alone (a REST access log that logs only $context.error.responseType), or an execution log's \"Authorizer error\" alone (written after a missing invoke permission as well as after a function that failed), says that the authorizer failed, not why: the diagnosis, or the rest of the stage's execution log for the request, says why.".to_owned(),
                    format!(
                        "Check the authorizer's configuration and the function's own logs for the same request time: {}.",
                        find_authorizers(place, en)
                    ),
                ]
            } else {
                vec![
                    "下のエラーテキストを確認します。API Gateway が記録した内容そのものです。トークンだけの場合 ($context.error.responseType だけを記録する REST API のアクセスログ) や、実行ログの \"Authorizer error\" だけの場合 (呼び出し権限の不足でも関数の失敗でも記録されます) は、オーソライザーが失敗したことしか分かりません。理由は診断か、そのリクエストのステージの実行ログの他の行で確認します。"
                        .to_owned(),
                    format!(
                        "オーソライザーの設定と、同じ時刻の関数自身のログを確認します: {}。",
                        find_authorizers(place, en)
                    ),
                ]
            },
            command: None,
        },
    }
}

/// The API id the log gave, when it has its shape, for the commands.
fn api_id(place: &Place) -> &str {
    shape::or(place.api_id.as_deref(), shape::is_api_id, "API_ID")
}

/// The command that lists an API's authorizers, for the family the log names.
fn find_authorizers(place: &Place, en: bool) -> String {
    find_authorizers_in(place.family, en).replace("API_ID", api_id(place))
}

fn find_authorizers_in(family: ApiFamily, en: bool) -> String {
    const V2: &str = "aws apigatewayv2 get-authorizers --api-id API_ID";
    const REST: &str = "aws apigateway get-authorizers --rest-api-id API_ID";
    match (family, en) {
        (ApiFamily::V2, true) => format!("{V2}, AUTHORIZER_ID and the function in AuthorizerUri"),
        (ApiFamily::V2, false) => format!("{V2}、AUTHORIZER_ID と AuthorizerUri の関数"),
        (ApiFamily::Rest, true) => format!("{REST}, id and the function in authorizerUri"),
        (ApiFamily::Rest, false) => format!("{REST}、id と authorizerUri の関数"),
        (ApiFamily::Unknown, true) => format!(
            "{V2} for an HTTP or WebSocket API, {REST} for a REST API; the authorizer's id and the function in its URI"
        ),
        (ApiFamily::Unknown, false) => format!(
            "HTTP API と WebSocket API は {V2}、REST API は {REST}。オーソライザーの id と URI の関数"
        ),
    }
}

/// How to call an authorizer the way API Gateway does.
fn test_authorizer(place: &Place, en: bool) -> String {
    test_authorizer_in(place.family, en).replace("API_ID", api_id(place))
}

fn test_authorizer_in(family: ApiFamily, en: bool) -> String {
    const REST: &str = "aws apigateway test-invoke-authorizer --rest-api-id API_ID --authorizer-id AUTHORIZER_ID --headers Authorization=TOKEN";
    const LAMBDA: &str = "aws lambda invoke --function-name AUTHORIZER_FUNCTION --payload fileb://event.json out.json";
    match (family, en) {
        (ApiFamily::Rest, _) => REST.to_owned(),
        (ApiFamily::V2, true) => format!("{LAMBDA} with an event copied from a real request."),
        (ApiFamily::V2, false) => format!("{LAMBDA} (実際のリクエストのイベントを使用)。"),
        (ApiFamily::Unknown, true) => {
            format!("{REST} on a REST API, or {LAMBDA} with a real request's event.")
        }
        (ApiFamily::Unknown, false) => {
            format!("REST API は {REST}、それ以外は実際のリクエストのイベントで {LAMBDA}。")
        }
    }
}

/// What a readable response is, for the family the log names: HTTP APIs accept a simple response
/// or a policy, depending on the authorizer's settings; REST and WebSocket authorizers only ever
/// return a policy.
fn invalid_response_steps(place: &Place, en: bool) -> Vec<String> {
    let family = place.family;
    let policy = r#"{"principalId": "...", "policyDocument": {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow|Deny", "Resource": "METHOD_ARN"}]}, "context": {...}}"#;
    let http = if en {
        vec![
            format!("Check the authorizer's settings: aws apigatewayv2 get-authorizer --api-id {} --authorizer-id AUTHORIZER_ID (EnableSimpleResponses, AuthorizerPayloadFormatVersion).", api_id(place)),
            "With simple responses enabled (payload format 2.0), the function must return {\"isAuthorized\": true|false, \"context\": {...}} with isAuthorized a boolean.".to_owned(),
            format!("Without simple responses (payload format 1.0, or 2.0 with simple responses off), it must return an IAM policy: {policy}."),
        ]
    } else {
        vec![
            format!("オーソライザーの設定を確認します: aws apigatewayv2 get-authorizer --api-id {} --authorizer-id AUTHORIZER_ID (EnableSimpleResponses, AuthorizerPayloadFormatVersion)。", api_id(place)),
            "シンプルレスポンスが有効 (ペイロード形式 2.0) の場合、関数は {\"isAuthorized\": true|false, \"context\": {...}} を返す必要があり、isAuthorized はブール値です。".to_owned(),
            format!("シンプルレスポンスが無効 (ペイロード形式 1.0、またはシンプルレスポンス無効の 2.0) の場合、IAM ポリシー {policy} を返す必要があります。"),
        ]
    };
    let rest = if en {
        format!(
            "A REST API's TOKEN or REQUEST authorizer, and a WebSocket API's, must always return an IAM policy: {policy}, with policyDocument an object (not a string) and context values strings, numbers or booleans; \"Could not parse policy\" means it was not."
        )
    } else {
        format!(
            "REST API の TOKEN / REQUEST オーソライザーと WebSocket API のオーソライザーは、常に IAM ポリシー {policy} を返す必要があります。policyDocument はオブジェクト (文字列ではない)、context の値は文字列・数値・ブール値です。\"Could not parse policy\" はそうなっていないことを示します。"
        )
    };
    let last = if en {
        format!(
            "Make the function and the authorizer's settings agree, then redeploy; see what it returns: {}",
            test_authorizer(place, en)
        )
    } else {
        format!(
            "関数とオーソライザーの設定を一致させて再デプロイし、応答を確認します: {}",
            test_authorizer(place, en)
        )
    };
    let mut steps = match family {
        ApiFamily::Rest => vec![rest],
        ApiFamily::V2 => http,
        ApiFamily::Unknown => http.into_iter().chain([rest]).collect(),
    };
    steps.push(last);
    steps
}

#[cfg(test)]
mod tests;
