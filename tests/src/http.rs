//! Minimal loopback HTTP servers for the tests: one that records what SNS delivers to an HTTPS
//! subscriber (where AWS Chatbot would be), one that plays an SNS endpoint that fails a few
//! times before it accepts, to prove the SDK's retries deliver the alert, and one that refuses
//! every call as IAM would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body; `None` at end of stream.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let method = line.split_whitespace().next()?.to_owned();
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0usize;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn respond(reader: &mut BufReader<TcpStream>, status: u16, content_type: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: stub\r\n\r\n{body}",
        body.len()
    );
    let _ = reader.get_mut().write_all(response.as_bytes()).await;
}

/// Serves requests on 127.0.0.1, answering each with what `answer` returns.
async fn serve<F>(answer: F) -> (String, mpsc::UnboundedReceiver<Request>)
where
    F: Fn(&Request) -> (u16, &'static str, String) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (tx, rx) = mpsc::unbounded_channel();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, answer) = (tx.clone(), answer.clone());
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                while let Some(request) = read_request(&mut reader).await {
                    let (status, content_type, body) = answer(&request);
                    let _ = tx.send(request);
                    respond(&mut reader, status, content_type, &body).await;
                }
            });
        }
    });
    (url, rx)
}

/// A subscriber endpoint that accepts everything and hands over each request.
pub async fn capture() -> (String, mpsc::UnboundedReceiver<Request>) {
    serve(|_| (200, "text/plain", String::new())).await
}

/// An SNS Query API endpoint that answers the n-th Publish call as `plan[n]` says: `Some((status,
/// code))` fails it with that error, `None` (or a call past the plan) accepts it. Returns its URL, a
/// counter of Publish calls, and the requests.
pub async fn sns_stub(
    plan: Vec<Option<(u16, &'static str)>>,
) -> (String, Arc<AtomicUsize>, mpsc::UnboundedReceiver<Request>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let (url, rx) = serve(move |req| {
        if !req.body.contains("Action=Publish") {
            return (400, "text/xml", error_xml("InvalidAction"));
        }
        let n = seen.fetch_add(1, Ordering::SeqCst);
        match plan.get(n).copied().flatten() {
            Some((status, code)) => (status, "text/xml", error_xml(code)),
            None => (
                200,
                "text/xml",
                format!(
                    r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>stub-{n}</MessageId></PublishResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></PublishResponse>"#
                ),
            ),
        }
    })
    .await;
    (url, calls, rx)
}

/// A Lambda endpoint that accepts the first `accept` Invoke calls, asynchronous ones with 202 and
/// synchronous ones with 200 and a Kinesis batch response that reports no failure, and refuses
/// the rest the way Lambda refuses an unknown function.
pub async fn lambda_stub(accept: usize) -> (String, mpsc::UnboundedReceiver<Request>) {
    let calls = AtomicUsize::new(0);
    serve(move |req| {
        if calls.fetch_add(1, Ordering::SeqCst) >= accept {
            (
                404,
                "application/json",
                r#"{"__type":"ResourceNotFoundException","Type":"User","Message":"Function not found"}"#.to_owned(),
            )
        } else if req.header("x-amz-invocation-type") == Some("Event") {
            (202, "application/json", String::new())
        } else {
            (200, "application/json", r#"{"batchItemFailures":[]}"#.to_owned())
        }
    })
    .await
}

/// A JSON-protocol AWS endpoint (API Gateway v2, Lambda) that refuses every call the way IAM
/// does, with HTTP 403 and `AccessDeniedException`.
pub async fn denying_stub() -> (String, mpsc::UnboundedReceiver<Request>) {
    serve(|_| {
        (
            403,
            "application/json",
            r#"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/forwarder/x is not authorized to perform: apigateway:GET"}"#.to_owned(),
        )
    })
    .await
}

fn error_xml(code: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} from the test endpoint</Message></Error><RequestId>stub</RequestId></ErrorResponse>"#
    )
}

/// An Amazon Q Developer in chat applications (AWS Chatbot) endpoint, which moto does not have:
/// DescribeSlackChannelConfigurations answers in two pages, the first with a configuration on
/// channel C9999ZZZZ, the second with one on C0123ABCD carrying two topics. Every other call is
/// refused as an unknown operation.
pub async fn chatbot_stub() -> (String, mpsc::UnboundedReceiver<Request>) {
    const PAGES: [&str; 2] = [
        r#"{"SlackChannelConfigurations":[{"SlackTeamName":"acme","SlackTeamId":"T0123ABCD","SlackChannelId":"C9999ZZZZ","SlackChannelName":"deploys","ChatConfigurationArn":"arn:aws:chatbot::123456789012:chat-configuration/slack-channel/deploys","IamRoleArn":"arn:aws:iam::123456789012:role/chat","SnsTopicArns":["arn:aws:sns:us-east-1:123456789012:deploys"],"ConfigurationName":"deploys"}],"NextToken":"page-2"}"#,
        r#"{"SlackChannelConfigurations":[{"SlackTeamName":"acme","SlackTeamId":"T0123ABCD","SlackChannelId":"C0123ABCD","SlackChannelName":"ops","ChatConfigurationArn":"arn:aws:chatbot::123456789012:chat-configuration/slack-channel/ops","IamRoleArn":"arn:aws:iam::123456789012:role/chat","SnsTopicArns":["arn:aws:sns:us-east-1:123456789012:deploys","arn:aws:sns:us-east-1:123456789012:billing"],"ConfigurationName":"ops"}]}"#,
    ];
    serve(|req| {
        if req.path != "/describe-slack-channel-configurations" {
            return (
                404,
                "application/json",
                r#"{"__type":"UnknownOperationException"}"#.to_owned(),
            );
        }
        let page = usize::from(req.body.contains("\"page-2\""));
        (200, "application/json", PAGES[page].to_owned())
    })
    .await
}

/// What moto cannot answer, answered as AWS would, and every other call passed to `upstream`
/// (moto) as it came, one request per connection: API Gateway's `TestInvokeAuthorizer`
/// (`POST /restapis/{id}/authorizers/{id}`) with `answer`'s JSON, and Lambda's synchronous
/// `Invoke` (`POST /2015-03-31/functions/{name}/invocations`), which moto would run in Docker,
/// with `answer` as the function's payload. The requests answered are handed over. Point the
/// SDK's `AWS_ENDPOINT_URL_API_GATEWAY` or `AWS_ENDPOINT_URL_LAMBDA` at it.
pub async fn answering_proxy(
    upstream: String,
    answer: Arc<std::sync::Mutex<serde_json::Value>>,
) -> (String, mpsc::UnboundedReceiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, answer, upstream) = (tx.clone(), answer.clone(), upstream.clone());
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let Some(request) = read_request(&mut reader).await else {
                    return;
                };
                let path = request.path.split('?').next().unwrap_or("");
                let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                let answered = request.method == "POST"
                    && matches!(
                        parts[..],
                        ["restapis", _, "authorizers", _]
                            | ["2015-03-31", "functions", _, "invocations"]
                    );
                let response = if answered {
                    let body = answer.lock().expect("not poisoned").to_string();
                    let _ = tx.send(request);
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-amzn-RequestId: stub\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                } else {
                    forward(&upstream, &request).await
                };
                let _ = reader.get_mut().write_all(&response).await;
                let _ = reader.get_mut().shutdown().await;
            });
        }
    });
    (url, rx)
}

/// Sends `request` to `upstream` on a connection of its own and returns the whole answer.
async fn forward(upstream: &str, request: &Request) -> Vec<u8> {
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        if !matches!(name.as_str(), "connection" | "content-length" | "host") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "host: {upstream}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        request.body.len()
    ));
    let mut stream = TcpStream::connect(upstream)
        .await
        .expect("upstream answers");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("write upstream");
    stream
        .write_all(request.body.as_bytes())
        .await
        .expect("write upstream");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("read upstream");
    answer
}
