//! A bounded HTTP GET shared by the exporter poller, `lumen scrape` and health checks:
//! one deadline for the whole exchange (connect, headers and body, so a slow-drip body
//! cannot hold a task), a body-size limit enforced while streaming (a 50 MB body never
//! sits in memory), a status check, and an error that names the URL in one short line.

use std::time::Duration;

use thiserror::Error;

/// Why a fetch failed. `Display` is one line naming the URL (credentials removed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FetchError {
    /// The URL is not an absolute http(s) URL.
    #[error("{url}: invalid URL: {cause}")]
    Url { url: String, cause: String },
    /// Connecting or sending the request failed (refused, DNS, TLS, redirect loop…).
    #[error("{url}: cannot connect: {cause}")]
    Connect { url: String, cause: String },
    /// The whole exchange took longer than the timeout.
    #[error("{url}: no complete answer within {:.1} s", after.as_secs_f64())]
    Timeout { url: String, after: Duration },
    /// The server answered with a non-2xx status.
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    /// The body exceeded the limit (in bytes); reading stopped there.
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// The connection broke while the body was read.
    #[error("{url}: reading the body failed: {cause}")]
    Body { url: String, cause: String },
}

/// A client with the defaults Lumen uses for its sources: a user agent, at most five
/// redirects, and a connect timeout (the per-request deadline is `get_bounded`'s).
/// Fails only when the TLS backend cannot initialise.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("lumen/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(5))
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// Check that `url` is an absolute http or https URL.
pub fn check_url(url: &str) -> Result<reqwest::Url, FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::Url {
        url: redact(url),
        cause: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FetchError::Url {
            url: redact(url),
            cause: format!("scheme {:?} is not http or https", parsed.scheme()),
        });
    }
    Ok(parsed)
}

/// GET `url` and return its body: the status must be 2xx, the body at most `max_bytes`
/// (checked against `Content-Length` first, then while streaming), and everything must
/// finish within `timeout`.
pub async fn get_bounded(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Vec<u8>, FetchError> {
    let parsed = check_url(url)?;
    let shown = redact(url);
    match tokio::time::timeout(timeout, fetch(client, parsed, &shown, timeout, max_bytes)).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout {
            url: shown,
            after: timeout,
        }),
    }
}

async fn fetch(
    client: &reqwest::Client,
    url: reqwest::Url,
    shown: &str,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Vec<u8>, FetchError> {
    let mut resp = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| classify(e, shown, timeout, false))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: shown.to_owned(),
            status: status.as_u16(),
        });
    }
    let too_large = || FetchError::TooLarge {
        url: shown.to_owned(),
        limit: max_bytes,
    };
    if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(
        resp.content_length()
            .map_or(64 * 1024, |n| usize::try_from(n).unwrap_or(max_bytes)),
    );
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| classify(e, shown, timeout, true))?
    {
        if body.len().saturating_add(chunk.len()) > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify(e: reqwest::Error, url: &str, timeout: Duration, in_body: bool) -> FetchError {
    let url = url.to_owned();
    if e.is_timeout() {
        return FetchError::Timeout {
            url,
            after: timeout,
        };
    }
    let cause = if e.is_redirect() {
        "too many redirects".to_owned()
    } else {
        root_cause(&e)
    };
    if in_body {
        FetchError::Body { url, cause }
    } else {
        FetchError::Connect { url, cause }
    }
}

/// The innermost error message ("Connection refused (os error 111)"): reqwest's own
/// top-level text repeats the URL, which the variant already names.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The URL without user name or password, for messages and logs.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            // Both setters only fail for URLs that cannot carry credentials, which
            // then have none to remove.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => crate::domain::sanitize::sanitize(url).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("http://bob:secret@127.0.0.1:9/metrics"),
            "http://127.0.0.1:9/metrics"
        );
        assert_eq!(redact("http://h/m"), "http://h/m");
    }

    #[test]
    fn rejects_non_http_urls() {
        assert!(matches!(check_url("ftp://x/"), Err(FetchError::Url { .. })));
        assert!(matches!(
            check_url("not a url"),
            Err(FetchError::Url { .. })
        ));
        assert!(check_url("http://127.0.0.1:9108/metrics").is_ok());
    }
}
