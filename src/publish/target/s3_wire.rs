//! How the S3 target reads what the SDK and the server answer: a one-line
//! account of an error (status, the server's code and message, or the
//! connection's root cause; never the SDK's `Debug` structures), whether an
//! answer is a failed precondition, and the `Content-MD5` encoding.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A one-line account of an SDK error: what kind, the HTTP status and the
/// server's code and message, or the connection's cause.
pub fn describe<E: std::error::Error + ProvideErrorMetadata + 'static>(e: &SdkError<E>) -> String {
    match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let err = s.err();
            // Server messages are sentences; ours go on after them.
            match (err.code(), err.message().map(|m| m.trim_end_matches('.'))) {
                (Some(code), Some(msg)) => format!("HTTP {status} {code}: {msg}"),
                (Some(code), None) => format!("HTTP {status} {code}"),
                (None, Some(msg)) => format!("HTTP {status}: {msg}"),
                (None, None) => format!("HTTP {status}"),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) => {
            // The root cause (e.g. "Connection refused (os error 111)") is at the end of the chain.
            let mut cause: &dyn std::error::Error = d.as_connector_error().map_or(e as &dyn std::error::Error, |c| c);
            while let Some(next) = cause.source() {
                cause = next;
            }
            format!("could not connect: {cause}")
        }
        SdkError::ResponseError(r) => format!("unreadable response (HTTP {})", r.raw().status().as_u16()),
        other => chain(other),
    }
}

pub fn is_precondition<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.raw_response().is_some_and(|r| r.status().as_u16() == 412)
        || e.as_service_error().and_then(|s| s.code()) == Some("PreconditionFailed")
}

/// An error and its causes as one line of their `Display` texts (never
/// `Debug`, which for SDK errors prints whole request structures).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// Standard base64 with padding (for `Content-MD5`).
/// An ETag as minio-go (and so Flux) reads it: one leading and one
/// trailing `"` removed, nothing else.
pub fn unquote_etag(etag: &str) -> &str {
    let etag = etag.strip_prefix('"').unwrap_or(etag);
    etag.strip_suffix('"').unwrap_or(etag)
}

pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn etags_lose_one_pair_of_quotes_as_in_minio_go() {
        use super::unquote_etag;
        assert_eq!(unquote_etag("\"abc\""), "abc");
        assert_eq!(unquote_etag("abc"), "abc");
        assert_eq!(unquote_etag("\"\"abc\"\""), "\"abc\"");
        assert_eq!(unquote_etag("W/\"abc\""), "W/\"abc");
        assert_eq!(unquote_etag("\""), "");
    }

    use super::base64;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
