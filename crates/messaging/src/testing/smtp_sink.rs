//! A small but real SMTP server (RFC 5321: EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT) that keeps every message it accepts.

use super::mime;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// Command lines longer than this end the session.
const MAX_COMMAND: u64 = 4096;
/// Message lines are read at most this much at a time.
const MAX_LINE: u64 = 1 << 20;
/// Messages larger than this are refused with 552.
const MAX_MESSAGE: usize = 10 << 20;

/// One message as the sink accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (MAIL FROM), without angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO) that were accepted.
    pub to: Vec<String>,
    /// The message as sent after DATA: headers and body, CRLF line ends, dots unstuffed.
    pub data: String,
    /// The user name given to AUTH, if the client authenticated.
    pub authenticated_as: Option<String>,
}

impl ReceivedMail {
    /// A header's value, unfolded, encoded words left as they are. The first one if repeated.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = mime::split(&self.data);
        mime::header(&headers, name).map(str::to_string)
    }

    /// A header's value with RFC 2047 encoded words decoded (e.g. `From` with a UTF-8 name).
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        self.header(name).map(|v| mime::decode_words(&v))
    }

    /// The Subject, decoded.
    pub fn subject(&self) -> Option<String> {
        self.decoded_header("Subject")
    }

    /// The text/plain body (the text alternative of a multipart message), transfer encoding
    /// undone, `\n` line ends.
    pub fn text_body(&self) -> Option<String> {
        mime::find_part(&self.data, "text/plain")
    }

    /// The text/html body, if the message has one.
    pub fn html_body(&self) -> Option<String> {
        mime::find_part(&self.data, "text/html")
    }
}

#[derive(Default)]
struct SinkState {
    mail: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
    /// Lowercased recipient → the whole reply line RCPT gets instead of 250.
    recipient_replies: Mutex<HashMap<String, String>>,
    /// When set, MAIL needs a successful AUTH with exactly these.
    credentials: Mutex<Option<(String, String)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked mid-update leaves plain data behind; keep serving it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An SMTP server on 127.0.0.1 recording what it receives.
///
/// ```no_run
/// # use std::time::Duration;
/// # use tessera_messaging::{SmtpMessenger, testing::SmtpSink};
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = SmtpSink::start().await;
/// let smtp = SmtpMessenger::new(&sink.url(), "no-reply@tessera.test")?;
/// // … deliver through `smtp` …
/// let mail = sink.wait_for(1, Duration::from_secs(5)).await;
/// assert_eq!(mail[0].subject().as_deref(), Some("Your verification code"));
/// # Ok(())
/// # }
/// ```
pub struct SmtpSink {
    port: u16,
    state: Arc<SinkState>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("port", &self.port)
            .finish()
    }
}

impl SmtpSink {
    /// Listens on a free port.
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// Listens on `port` (0 for any): to come back on the same port after [`stop`](Self::stop),
    /// as a relay does after an outage. Retries for a few seconds while the port is still taken.
    pub async fn start_on(port: u16) -> SmtpSink {
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(listener) => break listener,
                Err(e) if attempts < 50 && port != 0 => {
                    attempts += 1;
                    tracing::debug!(port, error = %e, "SMTP sink port busy, retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("SMTP sink cannot listen on 127.0.0.1:{port}: {e}"),
            }
        };
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("SMTP sink has no local address: {e}"))
            .port();
        let state = Arc::new(SinkState::default());
        let server = tokio::spawn(serve(listener, state.clone()));
        SmtpSink {
            port,
            state,
            server: Mutex::new(Some(server)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, for [`SmtpMessenger::new`](crate::SmtpMessenger::new). The sink
    /// offers no STARTTLS, so the default opportunistic mode talks plain text to it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.state.mail).clone()
    }

    /// Waits until at least `n` messages have arrived or `timeout` has passed, and returns all
    /// messages so far (fewer than `n` on timeout: assert on the length).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        super::wait_until(&self.state.arrived, n, timeout, || {
            lock(&self.state.mail).len()
        })
        .await;
        self.messages()
    }

    /// RCPT TO this address gets `550 5.1.1 mailbox unavailable` (a permanent failure).
    pub fn reject_recipient(&self, address: &str) {
        self.reply_to_recipient(address, "550 5.1.1 Mailbox unavailable");
    }

    /// RCPT TO this address gets `450 4.2.1 mailbox busy, try later` (a transient failure).
    pub fn defer_recipient(&self, address: &str) {
        self.reply_to_recipient(address, "450 4.2.1 Mailbox busy, try again later");
    }

    /// RCPT TO this address gets `reply` (a full reply line such as `"552 5.2.2 Mailbox full"`).
    pub fn reply_to_recipient(&self, address: &str, reply: &str) {
        lock(&self.state.recipient_replies).insert(address.to_ascii_lowercase(), reply.into());
    }

    /// Recipients are accepted again.
    pub fn accept_all_recipients(&self) {
        lock(&self.state.recipient_replies).clear();
    }

    /// From now on MAIL needs AUTH with exactly this user and password (535 for others, 530 for
    /// none). Without it any AUTH succeeds and none is needed.
    pub fn require_credentials(&self, user: &str, password: &str) {
        *lock(&self.state.credentials) = Some((user.into(), password.into()));
    }

    /// Closes the listener and every open session: connections are refused until a new sink
    /// starts on this port. Received messages stay readable.
    pub async fn stop(&self) {
        let server = lock(&self.server).take();
        if let Some(server) = server {
            server.abort();
            // Resolves once the task (and with it the listener and sessions) is dropped.
            let _ = server.await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(server) = lock(&self.server).take() {
            server.abort();
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<SinkState>) {
    // Owned here so that aborting this task drops (and so aborts) every session.
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(session(stream, state.clone()));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "SMTP sink accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

async fn session(stream: TcpStream, state: Arc<SinkState>) {
    if let Err(e) = converse(stream, &state).await {
        tracing::debug!(error = %e, "SMTP sink session ended");
    }
}

/// One mail transaction in progress.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    limit: u64,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = reader.take(limit).read_until(b'\n', &mut line).await?;
    Ok((n > 0).then_some(line))
}

async fn read_command<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> io::Result<String> {
    let line = read_line(reader, MAX_COMMAND)
        .await?
        .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    if !line.ends_with(b"\n") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "command line too long",
        ));
    }
    Ok(String::from_utf8_lossy(&line)
        .trim_end_matches(['\r', '\n'])
        .to_string())
}

/// `FROM:<a@b> SIZE=10` → `a@b`.
fn path_argument(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

fn decode_base64(s: &str) -> Option<String> {
    STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

async fn converse(stream: TcpStream, state: &SinkState) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write
        .write_all(b"220 127.0.0.1 tessera SMTP sink ready\r\n")
        .await?;
    let mut tx = Transaction::default();
    let mut authenticated: Option<String> = None;
    loop {
        let line = read_command(&mut reader).await?;
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb = verb.to_ascii_uppercase();
        let arg = arg.trim();
        let reply: String = match verb.as_str() {
            "EHLO" => {
                tx = Transaction::default();
                "250-127.0.0.1 greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN"
                    .into()
            }
            "HELO" => {
                tx = Transaction::default();
                "250 127.0.0.1".into()
            }
            "AUTH" => {
                let mut words = arg.split_whitespace();
                let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
                let initial = words.next().map(str::to_string);
                let mut ask = async |prompt: &str| -> io::Result<String> {
                    write
                        .write_all(format!("334 {prompt}\r\n").as_bytes())
                        .await?;
                    read_command(&mut reader).await
                };
                let given = match mechanism.as_str() {
                    "PLAIN" => {
                        let response = match initial {
                            Some(r) => r,
                            None => ask("").await?,
                        };
                        decode_base64(&response).and_then(|plain| {
                            let mut fields = plain.split('\0').skip(1);
                            Some((fields.next()?.to_string(), fields.next()?.to_string()))
                        })
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(u) => u,
                            None => ask("VXNlcm5hbWU6").await?,
                        };
                        let password = ask("UGFzc3dvcmQ6").await?;
                        decode_base64(&user).zip(decode_base64(&password))
                    }
                    _ => None,
                };
                let required = lock(&state.credentials).clone();
                match given {
                    None if !matches!(mechanism.as_str(), "PLAIN" | "LOGIN") => {
                        "504 5.5.4 Unrecognized authentication type".into()
                    }
                    None => "501 5.5.2 Cannot decode response".into(),
                    Some((user, password)) => {
                        if required.is_none_or(|r| r == (user.clone(), password)) {
                            authenticated = Some(user);
                            "235 2.7.0 Authentication successful".into()
                        } else {
                            "535 5.7.8 Authentication credentials invalid".into()
                        }
                    }
                }
            }
            "MAIL" => {
                if lock(&state.credentials).is_some() && authenticated.is_none() {
                    "530 5.7.0 Authentication required".into()
                } else if let Some(from) = path_argument(arg, "FROM:") {
                    tx = Transaction {
                        from: Some(from),
                        to: Vec::new(),
                    };
                    "250 2.1.0 OK".into()
                } else {
                    "501 5.5.4 Syntax: MAIL FROM:<address>".into()
                }
            }
            "RCPT" => match path_argument(arg, "TO:") {
                _ if tx.from.is_none() => "503 5.5.1 MAIL first".into(),
                None => "501 5.5.4 Syntax: RCPT TO:<address>".into(),
                Some(to) => {
                    let special = lock(&state.recipient_replies)
                        .get(&to.to_ascii_lowercase())
                        .cloned();
                    special.unwrap_or_else(|| {
                        tx.to.push(to);
                        "250 2.1.5 OK".into()
                    })
                }
            },
            "DATA" => {
                if tx.to.is_empty() {
                    "503 5.5.1 RCPT first".into()
                } else {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    match read_data(&mut reader).await? {
                        Some(data) => {
                            let mail = ReceivedMail {
                                from: tx.from.take().unwrap_or_default(),
                                to: std::mem::take(&mut tx.to),
                                data: String::from_utf8_lossy(&data).into_owned(),
                                authenticated_as: authenticated.clone(),
                            };
                            lock(&state.mail).push(mail);
                            state.arrived.notify_waiters();
                            "250 2.0.0 OK: queued".into()
                        }
                        None => {
                            tx = Transaction::default();
                            "552 5.3.4 Message too big".into()
                        }
                    }
                }
            }
            "RSET" => {
                tx = Transaction::default();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "VRFY" => "252 2.0.0 Cannot VRFY user".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "500 5.5.2 Command not recognized".into(),
        };
        // One write per reply: split small writes meet Nagle and delayed ACKs (40 ms each).
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// The message after DATA up to the lone `.` line, dots unstuffed; `None` if over the size limit
/// (read to the end anyway, so the session stays in step).
async fn read_data<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut too_big = false;
    let mut at_line_start = true;
    loop {
        let chunk = read_line(reader, MAX_LINE)
            .await?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        if at_line_start && (chunk == b".\r\n" || chunk == b".\n") {
            // The line break before the dot is part of the end marker, not of the message.
            if data.ends_with(b"\r\n") {
                data.truncate(data.len() - 2);
            } else if data.ends_with(b"\n") {
                data.truncate(data.len() - 1);
            }
            return Ok((!too_big).then_some(data));
        }
        let piece = match chunk.strip_prefix(b".") {
            Some(unstuffed) if at_line_start => unstuffed,
            _ => &chunk[..],
        };
        if data.len() + piece.len() > MAX_MESSAGE {
            too_big = true;
        } else if !too_big {
            data.extend_from_slice(piece);
        }
        at_line_start = chunk.ends_with(b"\n");
    }
}
