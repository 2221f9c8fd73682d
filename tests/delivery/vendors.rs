//! The chat-bot adapters (WeCom, DingTalk, Feishu) against a real local HTTP
//! server that plays each vendor's robot API: the exact request each vendor
//! documents (URL, content type, JSON members), the signatures checked the
//! way DingTalk's and Feishu's servers check them (recomputed from the
//! timestamp and the secret with an HMAC implementation independent of the
//! daemon's), the WeCom picture within its 2 MB limit with its MD5, and each
//! vendor's rate-limit answer read as `RateLimited`. The zh-CN text uses
//! Asia/Shanghai time and the camera's display name. Requests are sent with
//! a plain HTTP/1.1 client over TCP (the durable sender is not part of
//! these tests).

use base64::Engine;
use estatewatch::alert::{Alert, AlertKind, AlertState, Severity};
use estatewatch::delivery::notify::adapter::{
    Adapter, CameraNames, Context, HttpRequest, Outgoing, Reply,
};
use estatewatch::delivery::notify::config::NotifierConfig;
use estatewatch::delivery::notify::vendor;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One request as the stand-in server read it off the socket.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    /// Path and query.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn query(&self) -> BTreeMap<String, String> {
        let q = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .expect("a form-encoded query")
            .into_iter()
            .collect()
    }
}

/// A local HTTP/1.1 server; `answer` plays the vendor.
struct StandIn {
    port: u16,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl StandIn {
    fn start(answer: impl Fn(&Recorded) -> (u16, String) + Send + 'static) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let Some(r) = read_request(&mut s) else {
                    continue;
                };
                let (status, body) = answer(&r);
                log.lock().unwrap().push(r);
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        StandIn { port, seen }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.port)
    }

    fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(s: &mut TcpStream) -> Option<Recorded> {
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// Sends `req` as an HTTP/1.1 POST; the answer's status and body.
fn send(req: &HttpRequest) -> (u16, Vec<u8>) {
    let rest = req.url.strip_prefix("http://").expect("a local http URL");
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).unwrap();
    let mut head = format!("POST {target} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&req.body).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let status_line = String::from_utf8_lossy(&answer[..split]).to_string();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, answer[split + 4..].to_vec())
}

/// Sends `req` and asks the adapter what the answer means.
fn deliver(a: &dyn Adapter, req: &HttpRequest) -> Reply {
    let (status, body) = send(req);
    a.classify(status, &body)
}

const EVENT: &str = "0193a0b1-0000-7000-8000-0000000000aa";

fn context(evidence: &Path) -> Context {
    Context {
        site_name: "海景花园".into(),
        timezone: "Asia/Shanghai".parse().unwrap(),
        cameras: BTreeMap::from([(
            "shed-3".to_string(),
            CameraNames {
                name: "3号楼电动车棚".into(),
                zones: BTreeMap::from([("charging".to_string(), "充电区".to_string())]),
            },
        )]),
        console_url: Some("http://10.0.0.5:9807".into()),
        evidence_dir: evidence.to_path_buf(),
    }
}

/// A fire alert at 2026-12-03T19:12:45.512Z (03:12:45 the next day in
/// Shanghai) whose stored pictures are `snapshot.jpg` (full resolution)
/// and `snapshot-detect.jpg`.
fn fire(state: AlertState) -> Value {
    let mut a = Alert::new(AlertKind::Fire, Severity::Critical, "test-estate", "gw1");
    a.camera = Some("shed-3".into());
    a.zone = Some("charging".into());
    a.state = state;
    a.event = EVENT.parse().unwrap();
    a.detected_at = "2026-12-03T19:12:45.512Z".parse().unwrap();
    let mut v = serde_json::to_value(&a).unwrap();
    v["evidence"] = json!({"files": [
        {"name": "snapshot-detect.jpg", "path": format!("shed-3/{EVENT}/snapshot-detect.jpg"),
         "url": format!("/evidence/{EVENT}/snapshot-detect.jpg"), "sha256": "0".repeat(64), "bytes": 1},
        {"name": "snapshot.jpg", "path": format!("shed-3/{EVENT}/snapshot.jpg"),
         "url": format!("/evidence/{EVENT}/snapshot.jpg"), "sha256": "0".repeat(64), "bytes": 1}
    ]});
    v
}

/// A JPEG of `w`×`h` pixels of noise (which compresses badly) at quality `q`.
fn noise_jpeg(w: u32, h: u32, q: u8) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(&img)
        .unwrap();
    out
}

fn store_snapshot(evidence: &Path, bytes: &[u8]) {
    let dir = evidence.join("shed-3").join(EVENT);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("snapshot.jpg"), bytes).unwrap();
}

/// The adapter for a notifier table, with its credentials file written.
fn adapter(dir: &Path, table: &str, credentials: &str) -> Box<dyn Adapter> {
    let file = dir.join("bot.toml");
    std::fs::write(&file, credentials).unwrap();
    let cfg: NotifierConfig = toml::from_str(&format!(
        "name = \"guards\"\ncredentials_file = {:?}\n{table}",
        file.display().to_string()
    ))
    .unwrap();
    vendor::build(&cfg, 0).unwrap()
}

fn out(payload: &Value) -> Outgoing<'_> {
    Outgoing {
        seq: 1,
        topic: None,
        payload,
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    B64.encode(mac.finalize().into_bytes())
}

#[test]
fn wecom_sends_markdown_then_the_picture_within_2_mb_and_reads_45009_as_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    // Above WeCom's 2 MB image limit.
    let big = noise_jpeg(1600, 1200, 100);
    assert!(big.len() > 2 * 1024 * 1024, "{} bytes", big.len());
    store_snapshot(&evidence, &big);
    let rate_limited = Arc::new(Mutex::new(false));
    let flag = rate_limited.clone();
    let server = StandIn::start(move |r| {
        let ok = r.method == "POST" && r.target == "/cgi-bin/webhook/send?key=wecom-key";
        if !ok {
            return (
                200,
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#.into(),
            );
        }
        if *flag.lock().unwrap() {
            return (
                200,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#.into(),
            );
        }
        (200, r#"{"errcode":0,"errmsg":"ok"}"#.into())
    });
    let a = adapter(
        dir.path(),
        "kind = \"wecom\"",
        &format!(
            "url = {:?}\n",
            server.url("/cgi-bin/webhook/send?key=wecom-key")
        ),
    );
    let ctx = context(&evidence);
    let payload = fire(AlertState::New);
    let now = chrono::Utc::now();
    let reqs = a.requests(&out(&payload), &ctx, now).unwrap();
    assert_eq!(reqs.len(), 2, "markdown, then the picture");
    for r in &reqs {
        assert_eq!(deliver(a.as_ref(), r), Reply::Delivered);
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for r in &seen {
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("application/json"),
            "{:?}",
            r.headers
        );
    }

    let md = seen[0].json();
    assert_eq!(keys(&md), ["markdown", "msgtype"]);
    assert_eq!(md["msgtype"], "markdown");
    assert_eq!(keys(&md["markdown"]), ["content"]);
    let content = md["markdown"]["content"].as_str().unwrap();
    assert!(content.len() <= 4096);
    assert!(
        content.contains("【紧急】火情 · 3号楼电动车棚"),
        "{content}"
    );
    assert!(content.contains("2026-12-04 03:12:45 CST"), "{content}");
    assert!(content.contains("3号楼电动车棚 · 充电区"), "{content}");
    assert!(
        content.contains(&format!("(http://10.0.0.5:9807/incidents/{EVENT})")),
        "{content}"
    );

    let img = seen[1].json();
    assert_eq!(keys(&img), ["image", "msgtype"]);
    assert_eq!(img["msgtype"], "image");
    assert_eq!(keys(&img["image"]), ["base64", "md5"]);
    let bytes = B64
        .decode(img["image"]["base64"].as_str().unwrap())
        .unwrap();
    assert!(bytes.len() <= 2 * 1024 * 1024, "{} bytes", bytes.len());
    use md5::Digest;
    let md5: String = md5::Md5::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(img["image"]["md5"], md5.as_str());
    let back = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    println!(
        "WeCom picture: stored {}x1200 JPEG of {} bytes sent as {}x{} JPEG of {} bytes",
        1600,
        big.len(),
        back.width(),
        back.height(),
        bytes.len()
    );
    assert!(
        back.width() < 1600 && back.width() > 200,
        "{}",
        back.width()
    );

    // A picture within the limit goes byte for byte.
    let small = noise_jpeg(320, 180, 80);
    store_snapshot(&evidence, &small);
    let reqs = a.requests(&out(&payload), &ctx, now).unwrap();
    let body: Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(
        B64.decode(body["image"]["base64"].as_str().unwrap())
            .unwrap(),
        small
    );

    // An end carries no picture; an update is not on the default route.
    assert_eq!(
        a.requests(&out(&fire(AlertState::End)), &ctx, now)
            .unwrap()
            .len(),
        1
    );
    assert!(a
        .requests(&out(&fire(AlertState::Update)), &ctx, now)
        .unwrap()
        .is_empty());

    *rate_limited.lock().unwrap() = true;
    assert_eq!(
        deliver(a.as_ref(), &reqs[0]),
        Reply::RateLimited { retry_after: None }
    );
    assert_eq!(a.rate_limit().unwrap().requests, 20);
}

#[test]
fn dingtalk_requests_pass_dingtalks_signature_check_and_130101_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "SEC0123456789abcdef+/=";
    let answers: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let scripted = answers.clone();
    // DingTalk's check: timestamp within an hour of its clock, sign equal
    // to base64(HmacSHA256(secret, "<timestamp>\n<secret>")) after URL
    // decoding.
    let server = StandIn::start(move |r| {
        let q = r.query();
        if r.target.split('?').next() != Some("/robot/send")
            || q.get("access_token").map(String::as_str) != Some("tok")
        {
            return (
                200,
                r#"{"errcode":300001,"errmsg":"token is not exist"}"#.into(),
            );
        }
        let (Some(ts), Some(sign)) = (q.get("timestamp"), q.get("sign")) else {
            return (
                200,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#.into(),
            );
        };
        let ms: i64 = ts.parse().unwrap_or(0);
        let skew = (chrono::Utc::now().timestamp_millis() - ms).abs();
        let want = hmac_b64(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes());
        if skew > 3_600_000 || *sign != want {
            return (
                200,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#.into(),
            );
        }
        match scripted.lock().unwrap().pop_front() {
            Some(a) => (200, a),
            None => (200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
        }
    });
    let url = server.url("/robot/send?access_token=tok");
    let a = adapter(
        dir.path(),
        "kind = \"dingtalk\"\nlang = \"zh-CN\"",
        &format!("url = {url:?}\nsecret = {secret:?}\n"),
    );
    let evidence = dir.path().join("evidence");
    store_snapshot(&evidence, &noise_jpeg(64, 36, 80));
    let ctx = context(&evidence);
    let payload = fire(AlertState::New);
    let reqs = a
        .requests(&out(&payload), &ctx, chrono::Utc::now())
        .unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(deliver(a.as_ref(), &reqs[0]), Reply::Delivered);
    let r = &server.seen()[0];
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    let body = r.json();
    assert_eq!(keys(&body), ["markdown", "msgtype"]);
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(keys(&body["markdown"]), ["text", "title"]);
    assert_eq!(body["markdown"]["title"], "【紧急】火情 · 3号楼电动车棚");
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.contains("2026-12-04 03:12:45 CST"), "{text}");
    assert!(
        text.contains(&format!(
            "![查看图片](http://10.0.0.5:9807/evidence/{EVENT}/snapshot.jpg)"
        )),
        "{text}"
    );

    // Signed an hour and a half ago: DingTalk refuses it, and so would it
    // with the wrong secret; the adapter reads both as rejected.
    let stale = a
        .requests(
            &out(&payload),
            &ctx,
            chrono::Utc::now() - chrono::Duration::minutes(90),
        )
        .unwrap();
    assert!(matches!(
        deliver(a.as_ref(), &stale[0]),
        Reply::Rejected { .. }
    ));
    let wrong = adapter(
        dir.path(),
        "kind = \"dingtalk\"",
        &format!("url = {url:?}\nsecret = \"SECwrong\"\n"),
    );
    let reqs_wrong = wrong
        .requests(&out(&payload), &ctx, chrono::Utc::now())
        .unwrap();
    match deliver(wrong.as_ref(), &reqs_wrong[0]) {
        Reply::Rejected { reason } => assert!(reason.contains("310000"), "{reason}"),
        other => panic!("{other:?}"),
    }

    answers.lock().unwrap().push_back(
        r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#.into(),
    );
    let again = a
        .requests(&out(&payload), &ctx, chrono::Utc::now())
        .unwrap();
    assert_eq!(
        deliver(a.as_ref(), &again[0]),
        Reply::RateLimited { retry_after: None }
    );
}

#[test]
fn feishu_card_passes_feishus_signature_check_and_11232_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "feishu-secret";
    let answers: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let scripted = answers.clone();
    // Feishu's check: body timestamp (seconds, a string) within an hour,
    // sign = base64(HmacSHA256(key = "<timestamp>\n<secret>", message = "")).
    let server = StandIn::start(move |r| {
        if r.target != "/open-apis/bot/v2/hook/hook-id" {
            return (
                404,
                r#"{"code":19001,"msg":"param invalid: incoming webhook access token invalid"}"#
                    .into(),
            );
        }
        let b = r.json();
        let ts = b["timestamp"].as_str().unwrap_or("");
        let s: i64 = ts.parse().unwrap_or(0);
        let want = hmac_b64(format!("{ts}\n{secret}").as_bytes(), b"");
        if (chrono::Utc::now().timestamp() - s).abs() > 3600
            || b["sign"].as_str() != Some(want.as_str())
        {
            return (200, r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#.into());
        }
        match scripted.lock().unwrap().pop_front() {
            Some(a) => (200, a),
            None => (200, r#"{"code":0,"msg":"success","data":{}}"#.into()),
        }
    });
    let a = adapter(
        dir.path(),
        "kind = \"feishu\"",
        &format!(
            "url = {:?}\nsecret = {secret:?}\n",
            server.url("/open-apis/bot/v2/hook/hook-id")
        ),
    );
    let ctx = context(&dir.path().join("evidence"));
    let payload = fire(AlertState::New);
    let reqs = a
        .requests(&out(&payload), &ctx, chrono::Utc::now())
        .unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(deliver(a.as_ref(), &reqs[0]), Reply::Delivered);
    let r = &server.seen()[0];
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    let body = r.json();
    assert_eq!(keys(&body), ["card", "msg_type", "sign", "timestamp"]);
    assert_eq!(body["msg_type"], "interactive");
    let card = &body["card"];
    assert_eq!(card["header"]["title"]["tag"], "plain_text");
    assert_eq!(
        card["header"]["title"]["content"],
        "【紧急】火情 · 3号楼电动车棚"
    );
    assert_eq!(card["header"]["template"], "red");
    let div = &card["elements"][0];
    assert_eq!(div["tag"], "div");
    assert_eq!(div["text"]["tag"], "lark_md");
    let text = div["text"]["content"].as_str().unwrap();
    assert!(text.contains("**时间**：2026-12-04 03:12:45 CST"), "{text}");
    assert!(text.contains("**地点**：3号楼电动车棚 · 充电区"), "{text}");
    let button = &card["elements"][1]["actions"][0];
    assert_eq!(button["tag"], "button");
    assert_eq!(
        button["url"],
        format!("http://10.0.0.5:9807/incidents/{EVENT}")
    );

    for code in ["11232", "9499"] {
        answers
            .lock()
            .unwrap()
            .push_back(format!(r#"{{"code":{code},"msg":"too many request"}}"#));
        let again = a
            .requests(&out(&payload), &ctx, chrono::Utc::now())
            .unwrap();
        assert_eq!(
            deliver(a.as_ref(), &again[0]),
            Reply::RateLimited { retry_after: None },
            "code {code}"
        );
    }
    let stale = a
        .requests(
            &out(&payload),
            &ctx,
            chrono::Utc::now() - chrono::Duration::minutes(70),
        )
        .unwrap();
    assert!(matches!(
        deliver(a.as_ref(), &stale[0]),
        Reply::Rejected { .. }
    ));
    assert_eq!(a.rate_limit().unwrap().requests, 100);
}

#[test]
fn english_text_and_routes_shape_what_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = StandIn::start(|_| (200, r#"{"errcode":0,"errmsg":"ok"}"#.into()));
    let a = adapter(
        dir.path(),
        "kind = \"wecom\"\nlang = \"en\"\nsnapshots = false\nper_minute = 5\n[route]\nhours = \"22:00-07:00\"\ncameras = [\"shed-3\"]",
        &format!("url = {:?}\n", server.url("/cgi-bin/webhook/send?key=k")),
    );
    let ctx = context(&dir.path().join("evidence"));
    // 03:12 in Shanghai: inside the night span.
    let night = fire(AlertState::New);
    let reqs = a.requests(&out(&night), &ctx, chrono::Utc::now()).unwrap();
    assert_eq!(reqs.len(), 1, "no picture with snapshots = false");
    deliver(a.as_ref(), &reqs[0]);
    let content = server.seen()[0].json()["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(content.contains("Fire · 3号楼电动车棚"), "{content}");
    assert!(
        content.contains("**Time**: 2026-12-04 03:12:45 CST"),
        "{content}"
    );
    // 11:12 in Shanghai: outside it.
    let mut day = fire(AlertState::New);
    day["detected_at"] = "2026-12-04T03:12:45.512Z".into();
    assert!(a
        .requests(&out(&day), &ctx, chrono::Utc::now())
        .unwrap()
        .is_empty());
    assert_eq!(a.rate_limit().unwrap().requests, 5);
}
