//! `lumen scrape` end to end: the real binary against in-test HTTP servers on loopback.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Handler = Arc<dyn Fn(&mut TcpStream) + Send + Sync>;

/// Serves every connection on its own thread with `handler`, after reading the request
/// head. Returns the URL. The listener lives as long as the test process.
fn serve(handler: Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut sock) = conn else { continue };
            let h = handler.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                h(&mut sock);
            });
        }
    });
    format!("http://{addr}/metrics")
}

fn respond(status: &'static str, body: Vec<u8>) -> Handler {
    Arc::new(move |s: &mut TcpStream| {
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body);
    })
}

fn lumen(args: &[&str]) -> Output {
    common::bin::lumen().args(args).output().expect("run lumen")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn normal_body_json() {
    let body = b"# HELP lumen_phase_diff Phase difference.\n# TYPE lumen_phase_diff gauge\nlumen_phase_diff 0.42\nhq_branch_up{branch=\"koosy\",tier=\"canary\"} 1 1700000000000\nlumen_runs_total 12\n";
    let url = serve(respond("200 OK", body.to_vec()));
    let o = lumen(&["scrape", &url, "--json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let expected = format!(
        "{{\"url\":\"{url}\",\"samples\":[{{\"name\":\"lumen_phase_diff\",\"labels\":{{}},\"value\":0.42}},{{\"name\":\"hq_branch_up\",\"labels\":{{\"branch\":\"koosy\",\"tier\":\"canary\"}},\"value\":1.0}},{{\"name\":\"lumen_runs_total\",\"labels\":{{}},\"value\":12.0}}]}}\n"
    );
    assert_eq!(stdout(&o), expected);
}

#[test]
fn tricky_labels_json_and_human() {
    let body = "m{note=\"a,b=c\",brace=\"}{\",path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",u=\"日本 ✓\",} NaN\nn +Inf\no -Inf\nthis is not a sample\n";
    let url = serve(respond("200 OK", body.as_bytes().to_vec()));
    let o = lumen(&["scrape", &url, "--json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let s = &v["samples"];
    assert_eq!(s.as_array().map(Vec::len), Some(3));
    assert_eq!(s[0]["labels"]["note"], "a,b=c");
    assert_eq!(s[0]["labels"]["brace"], "}{");
    assert_eq!(s[0]["labels"]["path"], "C:\\dir");
    assert_eq!(s[0]["labels"]["q"], "say \"hi\"");
    assert_eq!(s[0]["labels"]["u"], "日本 ✓");
    assert_eq!(s[0]["value"], "NaN");
    assert_eq!(s[1]["value"], "+Inf");
    assert_eq!(s[2]["value"], "-Inf");
    assert!(
        stderr(&o).contains("1 unreadable lines (first: line 4:"),
        "{}",
        stderr(&o)
    );

    let o = lumen(&["scrape", &url]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.contains("note=\"a,b=c\""), "{out}");
    assert!(out.contains("3 samples, 1 unreadable lines"), "{out}");
    assert!(out.contains("  line 4: column "), "{out}");
}

#[test]
fn http_500_fails() {
    let url = serve(respond("500 Internal Server Error", b"oops".to_vec()));
    let o = lumen(&["scrape", &url, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("HTTP status 500"), "{}", stderr(&o));
}

#[test]
fn garbage_fails_as_unparsable() {
    let url = serve(respond(
        "200 OK",
        b"<html>\n<body>\xff\xfe</body>\n</html>\n".to_vec(),
    ));
    let o = lumen(&["scrape", &url]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("nothing readable: 3 bad lines"), "{e}");
    assert!(e.contains("line 1:"), "{e}");
}

#[test]
fn oversize_fails_with_and_without_content_length() {
    let url = serve(respond("200 OK", "m 1\n".repeat(1000).into_bytes()));
    let o = lumen(&["scrape", &url, "--max-bytes", "100"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("larger than 100 bytes"),
        "{}",
        stderr(&o)
    );

    // No length header: the limit must hold while streaming an endless body.
    let url = serve(Arc::new(|s: &mut TcpStream| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        let chunk = "m 1\n".repeat(4096);
        while s.write_all(chunk.as_bytes()).is_ok() {}
    }));
    let o = lumen(&["scrape", &url, "--max-bytes", "100000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("larger than 100000 bytes"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stalling_server_times_out() {
    let url = serve(Arc::new(|s: &mut TcpStream| {
        // Send the head and a little body, then stall with the connection open.
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nm 1\n");
        std::thread::sleep(Duration::from_secs(30));
    }));
    let start = Instant::now();
    let o = lumen(&["scrape", &url, "--timeout", "0.5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("within 0.5 s"), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn refused_port_fails() {
    let addr = common::net::closed_addr();
    let o = lumen(&["scrape", &format!("http://{addr}/metrics")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot connect"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2() {
    let o = lumen(&["scrape", "not a url"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid URL"), "{}", stderr(&o));
    let o = lumen(&["scrape", "ftp://127.0.0.1/x"]);
    assert_eq!(o.status.code(), Some(2));
    let o = lumen(&["scrape", "http://127.0.0.1:1/", "--timeout", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--timeout"), "{}", stderr(&o));
}

#[test]
fn redirect_loop_fails() {
    let url = serve(Arc::new(|s: &mut TcpStream| {
        let _ = s.write_all(
            b"HTTP/1.1 302 Found\r\nlocation: /metrics\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
    }));
    let o = lumen(&["scrape", &url]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("too many redirects"), "{}", stderr(&o));
}

#[test]
fn connection_closed_mid_body_fails() {
    let url = serve(Arc::new(|s: &mut TcpStream| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nm 1\nn 2\n");
        let _ = s.shutdown(std::net::Shutdown::Both);
    }));
    let o = lumen(&["scrape", &url]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("reading the body failed"),
        "{}",
        stderr(&o)
    );
}
