//! A tiny HTTP/1.1 endpoint for Prometheus: `GET /metrics`, one request per connection. No
//! HTTP library: the daemon answers one scraper, and a small one keeps its memory small.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::Metrics;

/// The request head must arrive within this time and size: a slow or hostile client cannot
/// hold the daemon's memory.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_HEAD: usize = 8192;
const MAX_CONNECTIONS: usize = 16;

pub async fn serve(listener: TcpListener, metrics: Arc<Mutex<Metrics>>) {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // e.g. out of file descriptors: pause rather than spin
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if open.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::Relaxed);
            continue; // dropped: closes the connection
        }
        let metrics = metrics.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(READ_TIMEOUT * 2, handle(stream, &metrics)).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn handle(mut stream: TcpStream, metrics: &Mutex<Metrics>) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => return respond(&mut stream, "400 Bad Request", "text/plain", b"bad request\n", false).await,
        _ => return Ok(()),
    };
    let (status, content_type, body): (&str, &str, Vec<u8>) = match request_line(&head) {
        Some((method @ ("GET" | "HEAD"), "/metrics")) => {
            let text = metrics.lock().unwrap().render();
            return respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                text.as_bytes(),
                method == "HEAD",
            )
            .await;
        }
        Some(("GET" | "HEAD", "/")) => (
            "200 OK",
            "text/plain; charset=utf-8",
            b"pve-smbgatewayd: metrics at /metrics\n".to_vec(),
        ),
        Some(("GET" | "HEAD", _)) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        Some(_) => ("405 Method Not Allowed", "text/plain", b"method not allowed\n".to_vec()),
        None => ("400 Bad Request", "text/plain", b"bad request\n".to_vec()),
    };
    respond(&mut stream, status, content_type, &body, false).await
}

/// The request head up to the blank line; `None` if it is too long or the client closed early.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        if len == buf.len() {
            return Ok(None);
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(None);
        }
        len += n;
        if let Some(end) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(String::from_utf8(buf[..end].to_vec()).ok());
        }
    }
}

/// (method, path without query) of an HTTP/1.x request line.
fn request_line(head: &str) -> Option<(&str, &str)> {
    let mut parts = head.lines().next()?.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") {
        return None;
    }
    Some((method, target.split('?').next().unwrap_or(target)))
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(request_line("GET /metrics HTTP/2"), None);
        assert_eq!(request_line("GET /metrics"), None);
        assert_eq!(request_line("GET / HTTP/1.0 extra"), None);
    }
}
