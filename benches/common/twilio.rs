//! A tiny fake Twilio for the send bench: a std `TcpListener` thread on 127.0.0.1 that answers
//! every request with `201 Created` and the Create Message example from Twilio's own OpenAPI
//! description (tests/fixtures/twilio), so `otpd send` through the `twilio` delivery can be timed
//! against a loopback round trip instead of the internet.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

pub struct FakeTwilio {
    pub port: u16,
}

/// The spec's `create` example for a `201` from Create Message, with our SID.
fn created_body() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/twilio/messages-create.openapi.json"
    );
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vendored Twilio spec"))
            .expect("spec is JSON");
    let mut v = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
        ["responses"]["201"]["content"]["application/json"]["examples"]["create"]["value"]
        .clone();
    assert!(v.is_object(), "the spec's create example");
    v["sid"] = "SM0123456789abcdef0123456789abcdef".into();
    v["status"] = "queued".into();
    v.to_string()
}

impl FakeTwilio {
    pub fn start() -> FakeTwilio {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let body = created_body();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let body = body.clone();
                std::thread::spawn(move || serve(stream, &body));
            }
        });
        FakeTwilio { port }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Answers each request on the connection (keep-alive) until the client hangs up.
fn serve(stream: TcpStream, body: &str) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut len = 0usize;
        let mut first = true;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                if first {
                    continue;
                }
                break;
            }
            first = false;
            if let Some((k, v)) = h.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut request = vec![0; len];
        if reader.read_exact(&mut request).is_err() {
            return;
        }
        let reply = format!(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() || writer.flush().is_err() {
            return;
        }
    }
}
