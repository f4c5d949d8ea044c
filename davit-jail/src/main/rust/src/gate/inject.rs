//! The secrets the gate adds to a sandbox's HTTPS requests (Injections.java and InjectingRelay.java; SANDBOX.md,
//! "Secrets injected by the gate"): per host, a header and its value. The sandbox holds only a placeholder; for a TLS
//! connection whose SNI is such a host (port 443) the gate is the server, with a certificate for that host signed by
//! the workspace's own CA (which davit put into the sandbox's trust store; its key stays with davit, the gate gets
//! only the leaf's), reads the one request head and rewrites it (`injected`), and opens its own TLS connection to the
//! real host, checked against the host's trust store (webpki's roots and the PEM file davit gives), to send that one
//! request on with the header set; the response is copied back until the server ends it, then the connection ends.
//! A request the gate does not send on gets an HTTP error response naming why and is recorded. Given by davit
//! through the control socket after each start, kept in memory only.

use super::denials::Denial;
use super::injected::{self, Rewrite};
use super::state::Gate;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::collections::HashMap;
use std::io::{Error, ErrorKind};
use std::net::SocketAddrV4;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Such connections at once (each holds TLS state and buffers); more are reset and recorded.
pub const MAX_AT_ONCE: usize = 64;
const HANDSHAKE: Duration = Duration::from_secs(10);
const CONNECT: Duration = Duration::from_secs(10);
/// How long either side may stay silent (a long poll's wait included).
const IDLE: Duration = Duration::from_secs(120);
const MAX_LINE: usize = 4096;
static SLOTS: Semaphore = Semaphore::const_new(MAX_AT_ONCE);

/// A host's header and its value.
pub struct Rule {
    /// The header's name.
    pub header: String,
    /// Its value (no CR, LF or NUL).
    pub value: Vec<u8>,
}

/// The secrets to add, as davit last gave them.
#[derive(Default)]
pub struct Injections {
    rules: HashMap<String, Rule>,
    server: Option<Arc<ServerConfig>>,
}

impl Injections {
    /// The rule of `host` (lower-case), if any.
    pub fn rule(&self, host: &str) -> Option<&Rule> {
        self.rules.get(host)
    }

    /// Reads the control message's lines (after `inject`, before `end`): `chain B64-DER...` (the leaf's certificate
    /// and the CA's), `key B64-PKCS8`, `rule HOST HEADER B64-VALUE` per host. The error never holds a value.
    pub fn parse(lines: &[&str]) -> Result<Injections, String> {
        let (mut rules, mut chain, mut key) = (HashMap::new(), Vec::new(), None);
        for l in lines {
            let f: Vec<&str> = l.split(' ').collect();
            match f.as_slice() {
                ["chain", certs @ ..] if !certs.is_empty() => {
                    for c in certs {
                        chain.push(CertificateDer::from(base64(c).ok_or("a bad certificate")?));
                    }
                }
                ["key", k] => key = Some(base64(k).ok_or("a bad key")?),
                ["rule", host, header, value] => {
                    let value = base64(value).ok_or("a bad header value")?;
                    if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
                        return Err("a header value with CR, LF or NUL".into());
                    }
                    let header = header.to_string();
                    rules.insert(host.to_ascii_lowercase(), Rule { header, value });
                }
                _ if l.trim().is_empty() => {}
                _ => return Err("unknown line in the secrets' message".into()),
            }
        }
        if rules.is_empty() {
            return Ok(Injections::default());
        }
        let (false, Some(key)) = (chain.is_empty(), key) else {
            return Err("no certificate and key for the hosts".into());
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
            .map_err(|e| format!("the hosts' certificate and key: {e}"))?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Injections {
            rules,
            server: Some(Arc::new(server)),
        })
    }
}

/// What the gate trusts for the real hosts: webpki's roots (Mozilla's) and the certificates of the PEM file `extra`
/// (the host's bundle, or a test's CA) when it can be read.
pub fn upstream(extra: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(certs) = extra.and_then(|p| CertificateDer::pem_file_iter(p).ok()) {
        for c in certs.flatten() {
            let _ = roots.add(c); // one the verifier cannot use is not a root
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(c))
}

/// Serves the sandbox's connection `c` to `dst`, whose first bytes (the ClientHello for `host`) are `first`.
pub async fn serve(
    gate: &Gate,
    c: TcpStream,
    dst: SocketAddrV4,
    first: Vec<u8>,
    host: &str,
    inj: &Injections,
) {
    let deny = |reason: &str, kind: &'static str| {
        gate.deny(&Denial {
            kind,
            name: Some(host),
            address: Some((*dst.ip(), dst.port())),
            rule: None,
            reason,
        })
    };
    let (Some(rule), Some(server)) = (inj.rule(host), inj.server.clone()) else {
        return;
    };
    let Ok(_slot) = SLOTS.try_acquire() else {
        deny(
            &format!(
                "more than {MAX_AT_ONCE} connections at once to hosts whose secrets the gate adds"
            ),
            "connect",
        );
        super::relay::reset(c);
        return;
    };
    let accepted = tokio::time::timeout(
        HANDSHAKE,
        tokio_rustls::TlsAcceptor::from(server).accept(Prefixed { first, at: 0, c }),
    )
    .await;
    let Ok(Ok(tls)) = accepted else {
        deny(
            &format!(
                "the TLS handshake with davit's certificate for {host} failed (the sandbox's program must trust the \
                 workspace's CA, in its trust store, and speak TLS 1.3)"
            ),
            "connect",
        );
        return;
    };
    let mut client = BufReader::new(tls);
    let head = match head(&mut client).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            let _ = client.shutdown().await;
            return;
        }
        Err(_) => return,
    };
    let (head, length) = match injected::rewrite(&head, host, &rule.header, &rule.value) {
        Rewrite::Refused { status, reason } => {
            deny(&reason, "request");
            respond(&mut client, status, &reason).await;
            return;
        }
        Rewrite::Rewritten {
            head,
            content_length,
        } => (head, content_length),
    };
    let up = match connect(gate, dst, host).await {
        Ok(u) => u,
        Err(e) => {
            deny(
                &format!("the gate could not make a trusted TLS connection to {host} for its secret: {e}"),
                "connect",
            );
            let why = format!("the gate could not make a trusted TLS connection to {host}");
            respond(&mut client, 502, &why).await;
            return;
        }
    };
    let (mut ur, mut uw) = tokio::io::split(up);
    let (mut cr, mut cw) = tokio::io::split(client);
    let send = async {
        uw.write_all(&head).await?;
        if length >= 0 {
            copy_exactly(&mut cr, &mut uw, length as u64).await?;
        } else {
            chunked(&mut cr, &mut uw).await?;
        }
        // nothing more goes to the server: whatever else the client sends is not read
        uw.flush().await
    };
    let back = async {
        let mut b = vec![0u8; 16 * 1024];
        loop {
            let n = match tokio::time::timeout(IDLE, ur.read(&mut b)).await {
                Ok(Ok(n)) => n,
                // a server that closes without TLS's close_notify: the end of its answer all the same
                Ok(Err(e)) if e.kind() == ErrorKind::UnexpectedEof => 0,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(Error::new(ErrorKind::TimedOut, "the server is silent")),
            };
            if n == 0 {
                break;
            }
            cw.write_all(&b[..n]).await?;
        }
        // the whole answer: the client closes, which ends a body still awaited
        cw.shutdown().await
    };
    let _ = tokio::try_join!(send, back);
}

/// The gate's own TLS connection to `host` at `dst`, checked for that name against what it trusts.
async fn connect(
    gate: &Gate,
    dst: SocketAddrV4,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let config = gate.upstream()?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(dst))
        .await
        .map_err(|_| "no connection within 10 s".to_string())?
        .map_err(|e| e.kind().to_string())?;
    let _ = tcp.set_nodelay(true);
    tokio::time::timeout(
        HANDSHAKE,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .map_err(|_| "no TLS handshake within 10 s".to_string())?
    .map_err(|e| e.to_string())
}

/// The next request head (to its empty line), None at the end of the stream; a head over `injected::MAX_HEAD`
/// bytes is returned as it is (the rewrite refuses it); the client ending within one is an error.
async fn head<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<Option<Vec<u8>>> {
    let mut b = Vec::with_capacity(1024);
    loop {
        let c = match tokio::time::timeout(IDLE, r.read_u8()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) if e.kind() == ErrorKind::UnexpectedEof && b.is_empty() => return Ok(None),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::new(ErrorKind::TimedOut, "no request head")),
        };
        b.push(c);
        if b.ends_with(b"\r\n\r\n") || b.len() >= injected::MAX_HEAD {
            return Ok(Some(b));
        }
    }
}

/// Answers the client with the gate's own response and ends the connection.
async fn respond<S: AsyncWrite + Unpin>(client: &mut S, status: u16, why: &str) {
    let _ = client.write_all(&super::relay::denied(status, why)).await;
    let _ = client.shutdown().await;
}

/// Copies `n` bytes of the body from the client to the server, each read and write within `IDLE` (an upload may take
/// as long as it keeps moving).
async fn copy_exactly<R, W>(r: &mut R, w: &mut W, mut n: u64) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut b = vec![0u8; (n.min(16 * 1024) as usize).max(1)];
    while n > 0 {
        let want = n.min(b.len() as u64) as usize;
        let k = idle(r.read(&mut b[..want])).await?;
        if k == 0 {
            return Err(Error::new(
                ErrorKind::UnexpectedEof,
                "the client ended within a request body",
            ));
        }
        idle(w.write_all(&b[..k])).await?;
        n -= k as u64;
    }
    Ok(())
}

/// `f`, or an error when it takes longer than `IDLE`.
async fn idle<T>(f: impl std::future::Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    tokio::time::timeout(IDLE, f)
        .await
        .map_err(|_| Error::new(ErrorKind::TimedOut, "silent for 120 s"))?
}

/// Copies a chunked body: each size line and its data, then the trailer up to its empty line.
async fn chunked<R, W>(r: &mut R, w: &mut W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let bad = |why: &str| Error::new(ErrorKind::InvalidData, why.to_string());
    loop {
        let l = line(r).await?;
        w.write_all(&l).await?;
        w.write_all(b"\r\n").await?;
        let hex = l.split(|&c| c == b';').next().unwrap_or_default();
        let hex = hex.trim_ascii();
        let size = (!hex.is_empty() && hex.len() <= 15 && hex.iter().all(u8::is_ascii_hexdigit))
            .then(|| u64::from_str_radix(std::str::from_utf8(hex).unwrap_or("x"), 16).ok())
            .flatten()
            .ok_or_else(|| bad("a bad chunk size"))?;
        if size == 0 {
            loop {
                let t = line(r).await?;
                w.write_all(&t).await?;
                w.write_all(b"\r\n").await?;
                if t.is_empty() {
                    return Ok(());
                }
            }
        }
        copy_exactly(r, w, size).await?;
        if !line(r).await?.is_empty() {
            return Err(bad("a chunk without its CRLF"));
        }
        w.write_all(b"\r\n").await?;
    }
}

/// A CRLF-ended line, without its CRLF; a bare LF or CR, or a line over `MAX_LINE` bytes, is an error; so is a
/// client silent for `IDLE`.
async fn line<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut s = Vec::new();
    loop {
        let c = idle(r.read_u8()).await?;
        if c == b'\r' {
            if idle(r.read_u8()).await? != b'\n' {
                return Err(Error::new(ErrorKind::InvalidData, "a bare CR"));
            }
            return Ok(s);
        }
        if c == b'\n' || s.len() >= MAX_LINE {
            return Err(Error::new(
                ErrorKind::InvalidData,
                "a bad line in a chunked body",
            ));
        }
        s.push(c);
    }
}

/// The sandbox's connection with the bytes already read from it (its ClientHello) read again first.
struct Prefixed {
    first: Vec<u8>,
    at: usize,
    c: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        if me.at < me.first.len() {
            let n = (me.first.len() - me.at).min(buf.remaining());
            buf.put_slice(&me.first[me.at..me.at + n]);
            me.at += n;
            if me.at == me.first.len() {
                me.first = Vec::new();
                me.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.c).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.c).poll_write(cx, b)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.c).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.c).poll_shutdown(cx)
    }
}

/// The bytes of standard base64 `s` (padding required), or None.
pub fn base64(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, q) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_java_writes_it() {
        assert_eq!(base64("").unwrap(), b"");
        assert_eq!(base64("Zg==").unwrap(), b"f");
        assert_eq!(base64("Zm8=").unwrap(), b"fo");
        assert_eq!(base64("Zm9v").unwrap(), b"foo");
        assert_eq!(base64("QmVhcmVyIHMzY3IzdA==").unwrap(), b"Bearer s3cr3t");
        assert_eq!(base64("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in ["Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9"] {
            assert_eq!(base64(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_message_without_rules_adds_nothing_and_bad_lines_are_refused_without_their_values() {
        let none = Injections::parse(&[""]).unwrap();
        assert!(none.rule("a.test").is_none());
        assert_eq!(
            Injections::parse(&["keystore AAAA"]).err().unwrap(),
            "unknown line in the secrets' message"
        );
        assert_eq!(
            Injections::parse(&["rule a.test X-Key dmFsdWUNCmV2aWw="])
                .err()
                .unwrap(),
            "a header value with CR, LF or NUL"
        );
        assert_eq!(
            Injections::parse(&["rule a.test X-Key dmFsdWU="])
                .err()
                .unwrap(),
            "no certificate and key for the hosts"
        );
        assert_eq!(
            Injections::parse(&["secret dmFsdWU="]).err().unwrap(),
            "unknown line in the secrets' message"
        );
    }
}
