//! `curl` on the simulated host: the host's own ports answer for real (through the
//! session's vLLM server), `huggingface.co` is reachable, anything else does not resolve.

use super::{Io, SimHost};
use std::time::Duration;

impl SimHost {
    /// `curl [-s] [-o FILE] [-w FORMAT] [--max-time N] [-H H] URL`: the host's own vLLM
    /// port answers for real; `huggingface.co` is reachable; anything else does not resolve.
    pub(super) async fn curl(&self, args: &[&str], io: &Io<'_>) -> i32 {
        let mut write_out = None;
        let mut discard = false;
        let mut headers = Vec::new();
        let mut url = None;
        let mut i = 0;
        while i < args.len() {
            match args[i] {
                "-w" | "--write-out" => write_out = args.get(i + 1).copied(),
                "-o" | "--output" => discard = args.get(i + 1) == Some(&"/dev/null"),
                "-H" | "--header" => headers.extend(args.get(i + 1).copied()),
                "-m" | "--max-time" | "-X" | "-d" => {}
                flag if flag.starts_with('-') => {
                    i += 1;
                    continue;
                }
                other => url = Some(other),
            }
            i += if args[i].starts_with('-') { 2 } else { 1 };
        }
        let Some(url) = url else {
            io.err("curl: no URL specified\n").await;
            return 2;
        };
        let (code, body, exit) = if url.contains("huggingface.co") {
            ("200".to_owned(), String::new(), 0)
        } else if let Some(port) = local_port(url) {
            match self.tcp_target(port) {
                Some(addr) => {
                    let path = url.splitn(4, '/').nth(3).unwrap_or_default();
                    let mut request = reqwest::Client::new().get(format!("http://{addr}/{path}"));
                    for h in &headers {
                        if let Some((k, v)) = h.split_once(':') {
                            request = request.header(k.trim(), v.trim());
                        }
                    }
                    match request.timeout(Duration::from_secs(5)).send().await {
                        Ok(r) => (
                            r.status().as_u16().to_string(),
                            r.text().await.unwrap_or_default(),
                            0,
                        ),
                        Err(_) => ("000".into(), String::new(), 28),
                    }
                }
                None => ("000".into(), String::new(), 7),
            }
        } else {
            ("000".into(), String::new(), 6)
        };
        if !discard && !body.is_empty() {
            io.out(&body).await;
        }
        if let Some(format) = write_out {
            io.out(&format.replace("%{http_code}", &code)).await;
        }
        exit
    }
}

/// The port of a `http://localhost:PORT/...` (or 127.0.0.1) URL.
fn local_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0")
        .then(|| port.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ports_are_read_from_urls() {
        assert_eq!(local_port("http://localhost:8000/health"), Some(8000));
        assert_eq!(local_port("http://127.0.0.1:9/x"), Some(9));
        assert_eq!(local_port("https://huggingface.co"), None);
        assert_eq!(local_port("http://example.com:80/"), None);
    }
}
