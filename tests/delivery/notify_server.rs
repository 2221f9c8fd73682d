//! A real HTTP server (std `TcpListener`, HTTP/1.1, one thread per
//! connection) playing a notifier's webhook: it records every request and
//! answers with the status the test sets (200 while "up", e.g. 503 while
//! "down").

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Req {
    pub at: Instant,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub answered: u16,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

pub struct Hook {
    port: u16,
    status: Arc<AtomicU16>,
    requests: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
}

impl Hook {
    /// Listens on `port` (0: any free port) on 127.0.0.1, answering 200.
    pub fn start(port: u16) -> Hook {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the webhook");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let hook = Hook {
            port,
            status: Arc::new(AtomicU16::new(200)),
            requests: Arc::default(),
            stop: Arc::default(),
        };
        let (status, requests, stop) = (
            hook.status.clone(),
            hook.requests.clone(),
            hook.stop.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let (status, requests) = (status.clone(), requests.clone());
                        std::thread::spawn(move || serve(s, &status, &requests));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        hook
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The status every request is answered with from now on.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests answered 2xx.
    pub fn delivered(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits until `pred` holds for the delivered requests.
    pub fn wait_delivered(&self, timeout: Duration, pred: impl Fn(&[Req]) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if pred(&self.delivered()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        pred(&self.delivered())
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(s: TcpStream, status: &AtomicU16, requests: &Mutex<Vec<Req>>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut w = match s.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut r = BufReader::new(s);
    // Keep-alive: several requests may come on one connection.
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let code = status.load(Ordering::SeqCst);
        requests.lock().unwrap().push(Req {
            at: Instant::now(),
            headers,
            body,
            answered: code,
        });
        let reason = if code < 300 { "OK" } else { "Nope" };
        let extra = if code == 429 {
            "Retry-After: 1\r\n"
        } else {
            ""
        };
        let answer = format!("HTTP/1.1 {code} {reason}\r\n{extra}Content-Length: 0\r\n\r\n");
        if w.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
