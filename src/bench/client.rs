//! A minimal HTTP/1.1 client over one keep-alive `TcpStream`: enough for the benchmark's own
//! requests (fixed headers, `Content-Length` or chunked bodies), with no allocation per request
//! beyond the response body. Each request's latency is recorded in microseconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One answered request.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (lossy), for error messages and cheap checks.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// A keep-alive connection that records the latency of every request it sends.
pub struct Client {
    addr: SocketAddr,
    host: String,
    auth: String,
    reader: Option<BufReader<TcpStream>>,
    out: Vec<u8>,
    line: String,
    /// Latencies of the requests sent so far, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Client {
    /// A client of `addr` sending `Authorization: Bearer token` (none when `token` is empty).
    pub fn new(addr: SocketAddr, host: &str, token: &str) -> Self {
        Self {
            addr,
            host: host.to_owned(),
            auth: if token.is_empty() {
                String::new()
            } else {
                format!("Authorization: Bearer {token}\r\n")
            },
            reader: None,
            out: Vec::with_capacity(4096),
            line: String::with_capacity(256),
            latencies_us: Vec::new(),
        }
    }

    fn connect(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        Ok(self.reader.as_mut().expect("connected above"))
    }

    /// Sends one request and reads its answer; the latency is recorded whatever the status.
    /// A broken connection is reopened on the next request.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<Answer> {
        self.out.clear();
        write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{}",
            self.host, self.auth
        )?;
        if let Some(body) = body {
            write!(
                self.out,
                "Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )?;
            self.out.extend_from_slice(body);
        } else {
            self.out.extend_from_slice(b"\r\n");
        }
        let started = Instant::now();
        let result = self.exchange();
        let micros = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        self.latencies_us.push(micros);
        if result.is_err() {
            self.reader = None;
        }
        result
    }

    fn exchange(&mut self) -> std::io::Result<Answer> {
        let out = std::mem::take(&mut self.out);
        let written = self.connect()?.get_mut().write_all(&out);
        self.out = out;
        written?;
        let mut line = std::mem::take(&mut self.line);
        let answer = self.read_answer(&mut line);
        self.line = line;
        answer
    }

    fn read_answer(&mut self, line: &mut String) -> std::io::Result<Answer> {
        let reader = self.reader.as_mut().expect("connected before reading");
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        line.clear();
        if reader.read_line(line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(line)? == 0 {
                return Err(bad("the headers end early"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                reader.read_line(line)?;
                let size =
                    usize::from_str_radix(line.trim(), 16).map_err(|_| bad("a bad chunk size"))?;
                if size == 0 {
                    line.clear();
                    reader.read_line(line)?;
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                reader.read_exact(&mut body[start..])?;
                line.clear();
                reader.read_line(line)?;
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        }
        if close {
            self.reader = None;
        }
        Ok(Answer { status, body })
    }
}
