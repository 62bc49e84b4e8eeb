//! Connections that hold the server without working it (issue 21): a client that pipelines
//! requests and never reads its answers, a kept-alive connection left idle, one address opening
//! many connections, a forged `X-Forwarded-For`, and a client that leaves before its answer
//! (the work is finished, logged, and the in-flight gauge comes back to 0).
//!
//! Deadlines are 1 s in these configurations; the tests wait on the socket for the server's own
//! deadline, each wait bounded. SQLite only: these guards sit in front of the store.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine;

use super::{Server, key};
use crate::harness::{Env, US_E164, US2_E164};

fn addr(server: &Server) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to `server` from `from` (127.0.0.1 or another loopback address).
fn connect_from(server: &Server, from: &str) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    sock.bind(&local.into()).unwrap();
    sock.connect(&addr(server).into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One `GET path` on a kept-alive connection, with extra header lines: the status line and
/// the body, or `None` if the server closed the connection without answering.
fn get(s: &mut TcpStream, path: &str, extra: &str) -> Option<String> {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes())
        .ok()?;
    read_answer(s)
}

/// One answer off the stream (headers, then `Content-Length` bytes).
fn read_answer(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).ok()?;
    Some(format!(
        "{}\n{}",
        head.lines().next().unwrap(),
        String::from_utf8_lossy(&body)
    ))
}

/// `true` once a fresh connection from `from` is answered, trying for at most 10 s (the
/// server frees a slot just after it closes the connection that held it).
fn served_again(server: &Server, from: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut s = connect_from(server, from);
        if get(&mut s, "/healthz", "").is_some_and(|a| a.starts_with("HTTP/1.1 200")) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

const PIPELINED: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn a_client_that_pipelines_and_never_reads_is_cut_off_and_its_slot_freed() {
    let env = Env::with_config(
        "[server]\nmax_connections = 1\nwrite_timeout_seconds = 1\nheader_timeout_seconds = 60\nidle_timeout_seconds = 60\n",
    );
    let server = Server::start(&env);

    // Positive control: a client that reads gets every pipelined answer (the deadline is on
    // answers left unread, not on pipelining).
    let mut reader = connect_from(&server, "127.0.0.1");
    let batch: Vec<u8> = PIPELINED.repeat(200);
    reader.write_all(&batch).unwrap();
    for i in 0..200 {
        let a = read_answer(&mut reader).unwrap_or_else(|| panic!("answer {i} missing"));
        assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    }
    drop(reader);
    assert!(served_again(&server, "127.0.0.1"));

    // Each answer (~3 KiB of metrics) is far larger than its request: the server's writes fill
    // both socket buffers long before the client's do, and then stay stuck.
    let mut stuck = connect_from(&server, "127.0.0.1");
    stuck
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let batch = PIPELINED.repeat(100);
    let err = loop {
        if let Err(e) = stuck.write_all(&batch) {
            break e;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never cut off");
    };
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ),
        "the server held the connection (the client's write timed out instead): {err:?}"
    );
    // The only slot is free again.
    assert!(served_again(&server, "127.0.0.1"), "the slot stayed taken");
}

#[test]
fn a_kept_alive_connection_left_idle_is_closed() {
    let env = Env::with_config(
        "[server]\nidle_timeout_seconds = 1\nheader_timeout_seconds = 60\nwrite_timeout_seconds = 60\n",
    );
    let server = Server::start(&env);
    let mut s = connect_from(&server, "127.0.0.1");
    // Kept alive while used: two requests in a row on the one connection.
    for _ in 0..2 {
        let a = get(&mut s, "/healthz", "").expect("answered");
        assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    }
    // Then nothing: the server closes it (EOF), well before the 10 s read timeout.
    let mut rest = Vec::new();
    let r = s.read_to_end(&mut rest);
    assert!(
        matches!(r, Ok(0)),
        "the idle connection was not closed: {r:?} {rest:?}"
    );
}

#[test]
fn one_address_over_its_cap_is_refused_while_others_are_served() {
    let env = Env::with_config(
        "[server]\nmax_connections = 10\nmax_connections_per_client = 2\nheader_timeout_seconds = 60\nidle_timeout_seconds = 60\n",
    );
    let server = Server::start(&env);
    // Two connections from 127.0.0.1, each answered (so the server holds both).
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect_from(&server, "127.0.0.1");
            assert!(get(&mut s, "/healthz", "").is_some_and(|a| a.starts_with("HTTP/1.1 200")));
            s
        })
        .collect();
    // A third from the same address: closed without an answer.
    let mut third = connect_from(&server, "127.0.0.1");
    assert_eq!(get(&mut third, "/healthz", ""), None);
    // Another address is served meanwhile, and so is a held connection.
    let mut other = connect_from(&server, "127.0.0.2");
    assert!(get(&mut other, "/healthz", "").is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    assert!(get(&mut held[0], "/healthz", "").is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    // One closed: the address is under its cap again.
    held.pop();
    assert!(served_again(&server, "127.0.0.1"));
}

#[test]
fn x_forwarded_for_names_the_client_only_from_a_trusted_proxy() {
    let env = Env::with_config("[server]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let server = Server::start(&env);
    let xff = |v: &str| format!("X-Forwarded-For: {v}\r\n");
    // From the trusted proxy: its word, and only its own append (the left entry is the
    // client's and could be anything).
    let mut proxy = connect_from(&server, "127.0.0.1");
    get(&mut proxy, "/no/such/route", &xff("203.0.113.7")).unwrap();
    get(&mut proxy, "/no/such/route", &xff("6.6.6.6, 203.0.113.8")).unwrap();
    // From an address that is not a proxy: the header is ignored.
    let mut direct = connect_from(&server, "127.0.0.2");
    get(&mut direct, "/no/such/route", &xff("198.51.100.9")).unwrap();
    drop((proxy, direct));
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    let clients: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" GET (no route) 404"))
        .filter_map(|l| l.split(" client=").nth(1))
        .collect();
    assert_eq!(
        clients,
        ["203.0.113.7", "203.0.113.8", "127.0.0.2"],
        "{log}"
    );

    // Without trusted proxies, the peer is the client whatever the header says.
    let env = Env::new();
    let server = Server::start(&env);
    let mut s = connect_from(&server, "127.0.0.1");
    get(&mut s, "/no/such/route", &xff("203.0.113.7")).unwrap();
    drop(s);
    let (_, log) = server.stop();
    assert!(log.contains("GET (no route) 404 "), "{log}");
    assert!(log.contains(" client=127.0.0.1"), "{log}");
    assert!(!log.contains("203.0.113.7"), "{log}");
}

#[test]
fn a_client_that_leaves_mid_request_gets_its_work_done_logged_and_uncounted() {
    // argon2 slow enough that the client is gone well before the answer.
    let env =
        Env::with_raw_config("[hashing]\nmemory_kib = 65536\niterations = 4\nparallelism = 1\n");
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", k.sid, k.secret));
    let create = |to: &str| {
        let body = format!("To={}&Channel=sms", to.replace('+', "%2B"));
        let mut s = connect_from(&server, "127.0.0.1");
        s.write_all(
            format!(
                "POST /v2/Services/{}/Verifications HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                server.service,
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
        s
    };
    // Gone while the create runs on a worker (the gauge says so)…
    let s = create(US_E164);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.metric("otpd_requests_in_flight") != 1.0 {
        assert!(Instant::now() < deadline, "the create never ran");
    }
    s.shutdown(std::net::Shutdown::Both).unwrap();
    drop(s);
    // … and gone as soon as the request is sent.
    let s = create(US2_E164);
    s.shutdown(std::net::Shutdown::Both).unwrap();
    drop(s);

    // Both messages go out and the gauge comes back to 0 (bounded wait on the server's work).
    let deadline = Instant::now() + Duration::from_secs(30);
    while (env.outbox().len() < 2 || server.metric("otpd_requests_in_flight") != 0.0)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let in_flight = server.metric("otpd_requests_in_flight");
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    let mut to: Vec<String> = env.outbox().iter().map(|m| m["to"].to_string()).collect();
    to.sort();
    assert_eq!(
        to,
        [format!("\"{US2_E164}\""), format!("\"{US_E164}\"")],
        "{log}"
    );
    assert_eq!(in_flight, 0.0, "the gauge drifted: {log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" POST /v2/Services/{ServiceSid}/Verifications "))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    for line in lines {
        assert!(
            line.contains(" POST /v2/Services/{ServiceSid}/Verifications 201 "),
            "{line}"
        );
        assert!(line.ends_with(" client-gone"), "{line}");
    }
}
