//! A counting proxy between the server under test and PostgreSQL: it forwards bytes both ways and
//! reads the frontend protocol the server sends (after the startup packet, each message is a type
//! byte and a 4-byte length), counting round trips (a `Sync` or a simple `Query` is one: the client
//! then waits for the server's answer) and `Parse` messages (statements prepared on the wire; a
//! statement diesel has cached is never parsed again on its connection). The SSL and GSS encryption
//! requests are answered "no" by the proxy itself, so libpq talks in the clear and the messages can
//! be read (libpq prefers TLS when the server offers it).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The code of a startup packet asking for TLS (`SSLRequest`).
const SSL_REQUEST: u32 = 80_877_103;
/// The code of a startup packet asking for GSSAPI encryption (`GSSENCRequest`).
const GSSENC_REQUEST: u32 = 80_877_104;
/// The largest message the proxy accepts from the server under test (a sanity bound).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// What the proxy has seen the server send since the last [`CountingProxy::take`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `Sync` and simple `Query` messages: each waits for the server's answer.
    pub round_trips: u64,
    /// `Parse` messages: statements prepared (again).
    pub parses: u64,
}

#[derive(Debug, Default)]
struct Counters {
    round_trips: AtomicU64,
    parses: AtomicU64,
    /// The SQL text of each `Parse` since the last take.
    parsed: Mutex<Vec<String>>,
    /// What each round trip since the last take ran: the statements bound (by their text) or the
    /// simple query, joined with ` ; `.
    trace: Mutex<Trace>,
}

/// The statements a connection-wide view has seen prepared, and the round trips run since the
/// last take (shared by every relayed connection: the counted tests use one pooled connection).
#[derive(Debug, Default)]
struct Trace {
    /// Prepared statement name → its SQL text (the unnamed statement under "").
    statements: HashMap<String, String>,
    /// The statements bound since the last `Sync`.
    pending: Vec<String>,
    /// One line per round trip.
    round_trips: Vec<String>,
}

impl Counters {
    fn note(&self, kind: u8, body: &[u8]) {
        match kind {
            b'S' => {
                self.round_trips.fetch_add(1, Ordering::SeqCst);
                let mut trace = self.trace.lock().unwrap();
                let line = std::mem::take(&mut trace.pending).join(" ; ");
                trace.round_trips.push(line);
            }
            b'Q' => {
                self.round_trips.fetch_add(1, Ordering::SeqCst);
                let text = nul_terminated(body).next().unwrap_or_default();
                self.trace.lock().unwrap().round_trips.push(text);
            }
            b'P' => {
                self.parses.fetch_add(1, Ordering::SeqCst);
                // Parse: the statement's name and its text, each NUL-terminated.
                let mut parts = nul_terminated(body);
                let name = parts.next().unwrap_or_default();
                let text = parts.next().unwrap_or_default();
                self.trace
                    .lock()
                    .unwrap()
                    .statements
                    .insert(name, text.clone());
                self.parsed.lock().unwrap().push(text);
            }
            b'B' => {
                // Bind: the portal's name, then the statement's.
                let name = nul_terminated(body).nth(1).unwrap_or_default();
                let mut trace = self.trace.lock().unwrap();
                let text = trace
                    .statements
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| format!("<statement {name}>"));
                trace.pending.push(text);
            }
            _ => {}
        }
    }
}

/// A listening proxy on `127.0.0.1:0` that forwards every connection to one PostgreSQL server.
pub struct CountingProxy {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stopping: Arc<AtomicBool>,
}

impl CountingProxy {
    /// Starts a proxy in front of `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let (c, s, upstream) = (counters.clone(), stopping.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let counters = c.clone();
                std::thread::spawn(move || relay(client, server, &counters));
            }
        });
        CountingProxy {
            addr,
            counters,
            stopping,
        }
    }

    /// `url` (`postgres://user@host:port/db…`) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let user = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}{}{path}", self.addr)
    }

    /// The text of the statements parsed since the last call (of this or [`CountingProxy::take`]).
    pub fn take_parsed(&self) -> Vec<String> {
        std::mem::take(&mut *self.counters.parsed.lock().unwrap())
    }

    /// What each round trip since the last call ran, a line each (the statements it bound, by
    /// their SQL text).
    pub fn take_trace(&self) -> Vec<String> {
        std::mem::take(&mut self.counters.trace.lock().unwrap().round_trips)
    }

    /// The counts since the last call, and starts counting anew.
    pub fn take(&self) -> Counts {
        Counts {
            round_trips: self.counters.round_trips.swap(0, Ordering::SeqCst),
            parses: self.counters.parses.swap(0, Ordering::SeqCst),
        }
    }
}

impl Drop for CountingProxy {
    /// Stops accepting (a last connection wakes the accepting thread); open connections end when
    /// their client closes them.
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// The NUL-terminated strings at the start of a message body, as text.
fn nul_terminated(body: &[u8]) -> impl Iterator<Item = String> + '_ {
    body.split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// `host:port` of a PostgreSQL URL (`postgres://user@host:port/…`).
pub fn upstream_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// Forwards one connection both ways until either side closes it, counting what the client sends.
fn relay(client: TcpStream, server: TcpStream, counters: &Counters) {
    let (Ok(client_out), Ok(server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let backward = std::thread::spawn(move || {
        let (mut from, mut to) = (server_in, client_out);
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
    let _ = forward(&client, &server, counters);
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
    let _ = backward.join();
}

/// Reads the frontend's messages, counts them and passes them on.
fn forward(mut client: &TcpStream, mut server: &TcpStream, counters: &Counters) -> io::Result<()> {
    // The startup phase: length-prefixed packets without a type byte. Encryption requests are
    // refused here; the startup message itself goes on.
    loop {
        let mut len = [0u8; 4];
        client.read_exact(&mut len)?;
        let body = read_body(client, u32::from_be_bytes(len))?;
        if body.len() < 4 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "short startup packet",
            ));
        }
        let code = u32::from_be_bytes(body[..4].try_into().unwrap());
        if code == SSL_REQUEST || code == GSSENC_REQUEST {
            client.write_all(b"N")?;
            continue;
        }
        server.write_all(&len)?;
        server.write_all(&body)?;
        break;
    }
    loop {
        let mut head = [0u8; 5];
        client.read_exact(&mut head)?;
        let body = read_body(client, u32::from_be_bytes(head[1..].try_into().unwrap()))?;
        counters.note(head[0], &body);
        server.write_all(&head)?;
        server.write_all(&body)?;
    }
}

/// The rest of a message whose length field (which counts itself) is `len`.
fn read_body(mut from: &TcpStream, len: u32) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if !(4..=MAX_MESSAGE).contains(&len) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad length"));
    }
    let mut body = vec![0u8; len - 4];
    from.read_exact(&mut body)?;
    Ok(body)
}
