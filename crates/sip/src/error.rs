/// Header lines beyond this are refused: a phone's or a proxy's message
/// has a few dozen at most, and the limit bounds the work per datagram.
pub const MAX_HEADERS: usize = 100;

/// What was wrong with a SIP message, a header value or a URI.
///
/// Values quoted from the input are clipped to 80 characters: they are
/// untrusted and end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("SIP message head is not UTF-8 text")]
    NotText,
    #[error("SIP message has no blank line ending its headers")]
    Unterminated,
    #[error("SIP start line {0:?} is not `METHOD URI SIP/2.0` or `SIP/2.0 CODE REASON`")]
    BadStartLine(String),
    #[error("SIP response status {0:?} is not a 3-digit code between 100 and 699")]
    BadStatus(String),
    #[error("SIP header line {0:?} has no token name before ':'")]
    BadHeader(String),
    #[error("SIP message has more than {MAX_HEADERS} header lines")]
    TooManyHeaders,
    #[error(
        "SIP Content-Length {value:?} is not a number no larger than the {body} bytes that came"
    )]
    BadLength { value: String, body: usize },
    #[error("SIP message is a response where a request was expected")]
    NotARequest,
    #[error("SIP message is a request where a response was expected")]
    NotAResponse,
    #[error("SIP message lacks the {0} header")]
    Missing(&'static str),
    #[error("SIP {header} header {value:?} is malformed: {why}")]
    BadValue {
        header: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("SIP URI {uri:?} is malformed: {why}")]
    BadUri { uri: String, why: &'static str },
    /// Raised by the writer's check, never by the parser: the message
    /// would not read back as itself (or would smuggle in extra lines).
    #[error("SIP message cannot be written: {what} {value:?} {why}")]
    Unwritable {
        what: &'static str,
        value: String,
        why: &'static str,
    },
}
