//! Connection strings fit for messages: every password removed, by parsing rather than by pattern.

use std::borrow::Cow;

/// What replaces a secret.
const HIDDEN: &str = "***";

/// A connection URL (`postgres://…`, `smtp://…`) or libpq `key=value` string fit for log lines and error messages:
/// the password is replaced by `***` wherever it can be, the userinfo's and any query parameter or key naming a
/// password (`password=`, `sslpassword=`, …). A string that cannot be parsed is not shown beyond its scheme, since
/// where its password is cannot be known.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => redact_uri(scheme, url),
        None if url.contains('=') => redact_conninfo(url),
        // No scheme and no key=value pairs: nothing that looks like a connection string, so nothing is known to be
        // safe either.
        None => "<a connection string that could not be parsed, hidden>".to_owned(),
    }
}

/// Whether a query parameter or conninfo key holds a secret.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key == "pass" || key == "passwd" || key == "pwd"
}

fn redact_uri(scheme: &str, raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return format!("{scheme}://<a URL that could not be parsed, hidden>");
    };
    if url.password().is_some() && url.set_password(Some(HIDDEN)).is_err() {
        return format!("{scheme}://<a URL that could not be parsed, hidden>");
    }
    if url.query_pairs().any(|(key, _)| is_secret(&key)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret(&key) {
                    Cow::Borrowed(HIDDEN)
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// A libpq `key=value` string (`host=db user=app password='s e c' dbname=x`): spaces may surround `=`, and a value
/// may be single-quoted with `\'` and `\\` escapes. What follows a malformed pair is hidden.
fn redact_conninfo(conninfo: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut rest = conninfo.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let (key, after_key) = rest.split_at(key_end);
        let Some(after_equals) = after_key.trim_start().strip_prefix('=') else {
            out.push("<the rest could not be parsed, hidden>".to_owned());
            break;
        };
        let value_start = after_equals.trim_start();
        let Some((value, after_value)) = conninfo_value(value_start) else {
            out.push(format!("{key}=<could not be parsed, hidden>"));
            break;
        };
        out.push(if is_secret(key) {
            format!("{key}={HIDDEN}")
        } else {
            format!("{key}={value}")
        });
        rest = after_value.trim_start();
    }
    out.join(" ")
}

/// The value at the start of `input` as written (quotes kept) and what follows it; `None` for an unterminated quote.
fn conninfo_value(input: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = input.strip_prefix('\'') {
        let mut escaped = false;
        for (index, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return Some(input.split_at(index + 2)),
                _ => {}
            }
        }
        return None;
    }
    let end = input.find(char::is_whitespace).unwrap_or(input.len());
    Some(input.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn the_userinfo_password_is_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/latchkey?sslmode=require"),
            "postgres://app:***@db:5432/latchkey?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        // An `@` in the password, percent-encoded or not.
        for url in [
            "postgresql://app:p%40ss@db/x",
            "postgresql://app:p@ss@db/x",
            "smtps://app:hunter2@mail.example.com:465",
        ] {
            let redacted = redact_url(url);
            assert!(
                !redacted.contains("ss@") && !redacted.contains("hunter2"),
                "{redacted}"
            );
            assert!(redacted.contains(":***@"), "{redacted}");
        }
    }

    #[test]
    fn password_query_parameters_are_hidden() {
        let redacted = redact_url(
            "postgres://app@db/x?sslmode=verify-full&password=s3cret&sslpassword=k3y&application_name=lk",
        );
        assert_eq!(
            redacted,
            "postgres://app@db/x?sslmode=verify-full&password=***&sslpassword=***&application_name=lk"
        );
        let redacted = redact_url("postgres:///x?host=/run/pg&PASSWORD=s%20cret");
        assert!(!redacted.contains("cret"), "{redacted}");
    }

    #[test]
    fn conninfo_passwords_are_hidden_whatever_the_spacing_or_quoting() {
        assert_eq!(
            redact_url("host=db user=app password=s3cret dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        assert_eq!(
            redact_url("host = db password = 's3 cr\\'et' dbname=x"),
            "host=db password=*** dbname=x"
        );
        assert_eq!(
            redact_url("password='s3 cret"),
            "password=<could not be parsed, hidden>"
        );
        let redacted = redact_url("host=db oops s3cret");
        assert!(!redacted.contains("s3cret"), "{redacted}");
    }

    #[test]
    fn what_cannot_be_parsed_is_not_shown() {
        // A `/` in an unencoded password ends the authority early: the URL does not parse.
        let redacted = redact_url("postgres://app:pa/ss:wd@db/x");
        assert!(!redacted.contains("ss"), "{redacted}");
        assert!(redacted.starts_with("postgres://"), "{redacted}");
        assert!(!redact_url("hunter2").contains("hunter2"));
    }
}
