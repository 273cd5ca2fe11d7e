//! `csvnn serve` end to end: the built binary on a free port, spoken to over plain
//! `TcpStream`s. Its CSV answers are compared byte for byte with `csvnn predict`, its
//! `/model` with `inspect --format json`; every status it promises is provoked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::util::{csvnn, data, stdout_of};

/// A model trained once for the whole module: chile_vote, 3 epochs.
fn chile_model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| train("chile_a.json", "vote", "1"))
}

/// Train on chile_vote for `target` into the module's folder.
fn train(name: &str, target: &str, seed: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join(name);
    csvnn()
        .args([
            "--quiet", "train", "--epochs", "3", "--seed", seed, "--target", target,
        ])
        .args(["--data", &data("chile_vote.train.csv"), "-o"])
        .arg(&model)
        .assert()
        .success();
    model
}

/// A running `csvnn serve`, killed when dropped; its stderr lines are collected.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The thread collecting stderr; it ends when the process closes its stderr.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start(model: &Path, flags: &[&str]) -> Served {
        Served::start_threads(model, "2", flags)
    }

    /// With `--threads threads` (1: the one-thread runtime).
    fn start_threads(model: &Path, threads: &str, flags: &[&str]) -> Served {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("csvnn"))
            .args(["--threads", threads, "serve", "--port", "0", "--model"])
            .arg(model)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut served = Served {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            stderr,
            reader: Some(reader),
        };
        served.addr = served.wait_for(named_address);
        assert_eq!(served.get("/health").status, 200);
        served
    }

    /// The first stderr line matching `wanted`, waiting up to 30 s for it.
    fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        self.wait_for(|l| wanted(l).then(|| l.to_string()))
    }

    /// The first `Some` that `wanted` makes of a stderr line, waiting up to 30 s for it.
    fn wait_for<T>(&self, wanted: impl Fn(&str) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = self.stderr.lock().unwrap().iter().find_map(|l| wanted(l)) {
                return found;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no such line on stderr: {:?}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: libc::c_int) {
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) },
            0
        );
    }

    /// How the process ended, waiting up to 5 s from `since` (a stop signal's promise).
    fn exit_within_5s(&mut self, since: Instant) -> ExitStatus {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "still running 5 s after the signal"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every line the process wrote on stderr, once it has ended.
    fn stderr_after_exit(&mut self) -> Vec<String> {
        assert!(self.child.try_wait().unwrap().is_some(), "still running");
        self.reader.take().unwrap().join().unwrap();
        self.stderr.lock().unwrap().clone()
    }

    fn get(&self, path: &str) -> Answer {
        http(self.addr, "GET", path, &[], b"")
    }

    fn post_csv(&self, path: &str, body: &[u8]) -> Answer {
        http(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "text/csv")],
            body,
        )
    }

    fn post_json(&self, body: &str) -> Answer {
        let headers = [("Content-Type", "application/json")];
        http(self.addr, "POST", "/predict", &headers, body.as_bytes())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address a stderr line names: the info line's `on http://IP:PORT`, or, as
/// `--quiet` leaves no info line, the non-loopback warning's `listening on IP:PORT,`.
/// 0.0.0.0 (every interface) is reached through 127.0.0.1.
fn named_address(line: &str) -> Option<SocketAddr> {
    let at = line
        .split_once(" on http://")
        .map(|(_, at)| at)
        .or_else(|| line.strip_prefix("csvnn: warning: listening on "))?;
    let addr: SocketAddr = at.split([' ', ',']).next()?.parse().ok()?;
    let ip = if addr.ip().is_unspecified() {
        std::net::Ipv4Addr::LOCALHOST.into()
    } else {
        addr.ip()
    };
    Some(SocketAddr::new(ip, addr.port()))
}

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

/// Write a request's head (and `Connection: close`); the body is the caller's.
fn send_head(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    length: usize,
) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {length}\r\n");
    for (key, value) in headers {
        head += &format!("{key}: {value}\r\n");
    }
    head += "\r\n";
    stream.write_all(head.as_bytes()).unwrap();
}

/// Read a whole answer (the server closes the connection after it).
fn read_answer(mut stream: TcpStream) -> Answer {
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// One request on its own connection.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    send_head(&mut stream, method, path, headers, body.len());
    // The server may answer (413) before reading the whole body and close.
    let _ = stream.write_all(body);
    read_answer(stream)
}

/// `csvnn predict` on `rows` (a CSV text), with extra flags.
fn predict(model: &Path, rows: &str, flags: &[&str]) -> String {
    stdout_of(
        csvnn()
            .args(["predict", "--data", "-", "--model"])
            .arg(model)
            .args(flags)
            .write_stdin(rows.to_string()),
    )
}

/// The header and the first `n` rows of chile_vote.test.csv.
fn test_rows(n: usize) -> String {
    let text = std::fs::read_to_string(data("chile_vote.test.csv")).unwrap();
    text.lines().take(n + 1).map(|l| format!("{l}\n")).collect()
}

#[test]
fn csv_answers_are_what_predict_writes() {
    let model = chile_model();
    let served = Served::start(model, &[]);
    let rows = test_rows(507);
    let answer = served.post_csv("/predict", rows.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.header("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(answer.text(), predict(model, &rows, &[]));
    let answer = served.post_csv("/predict?proba=true&keep=region,age", rows.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.text(),
        predict(model, &rows, &["--proba", "--keep", "region,age"])
    );
    // A single row, and a header alone.
    let one = test_rows(1);
    assert_eq!(
        served.post_csv("/predict", one.as_bytes()).text(),
        predict(model, &one, &[])
    );
    let none = test_rows(0);
    assert_eq!(
        served.post_csv("/predict", none.as_bytes()).text(),
        "prediction\n"
    );
    served.wait_for_line(|l| l.starts_with("csvnn: POST /predict 200 507 rows "));
    served.wait_for_line(|l| l.starts_with("csvnn: POST /predict 200 1 row "));
}

#[test]
fn json_rows_are_answered_as_predict_writes_json_lines() {
    let model = chile_model();
    let served = Served::start(model, &[]);
    let rows = test_rows(3);
    // The same rows as JSON, with missing cells as null and numbers as numbers.
    let mut lines = rows.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let objects: Vec<serde_json::Value> = lines
        .map(|line| {
            let cells = header.iter().zip(line.split(',')).map(|(k, v)| {
                let value = match v.parse::<f64>() {
                    _ if v.is_empty() => serde_json::Value::Null,
                    Ok(_) => serde_json::from_str(v).unwrap(),
                    Err(_) => serde_json::Value::from(v),
                };
                (k.to_string(), value)
            });
            serde_json::Value::Object(cells.collect())
        })
        .collect();
    let body = serde_json::json!({ "rows": objects, "proba": true, "keep": ["region"] });
    let answer = served.post_json(&body.to_string());
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type").unwrap(), "application/json");
    let got: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let expected: Vec<serde_json::Value> = predict(
        model,
        &rows,
        &["--proba", "--keep", "region", "--format", "jsonl"],
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(got, serde_json::json!({ "predictions": expected }));
    let empty = served.post_json(r#"{"rows": []}"#);
    assert_eq!(
        (empty.status, empty.text()),
        (200, "{\"predictions\":[]}\n".to_string())
    );
}

#[test]
fn bad_input_is_a_400_with_predicts_message() {
    let model = chile_model();
    let served = Served::start(model, &[]);
    // No `age` column: predict's own line, naming the body instead of stdin.
    let rows = test_rows(5);
    let without_age: String = rows
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            format!("{},{}\n", cells[..3].join(","), cells[4..].join(","))
        })
        .collect();
    let failed = csvnn()
        .args(["predict", "--data", "-", "--model"])
        .arg(model)
        .write_stdin(without_age.clone())
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let line = String::from_utf8(failed).unwrap();
    let line = line
        .strip_prefix("csvnn: error: ")
        .unwrap()
        .replace("<stdin>", "<body>");
    let answer = served.post_csv("/predict", without_age.as_bytes());
    assert_eq!((answer.status, answer.text()), (400, line.clone()));
    assert!(line.contains("'age' is missing"), "{line}");
    // As JSON: the same line in {"error": ...}.
    let answer = served.post_json(r#"{"rows": [{"region": "C"}]}"#);
    assert_eq!(answer.status, 400);
    let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("is missing"),
        "{error}"
    );
    for (body, words) in [
        (r#"{"rows": {"a": 1}}"#, "not the expected JSON"),
        (
            r#"{"rows": [{"age": [1, 2]}]}"#,
            "row 1: the value of 'age' is an array",
        ),
        (r#"{"rows": [], "proba": "yes"}"#, "not the expected JSON"),
        (r#"{"rows": [], "extra": 1}"#, "unknown field"),
        ("{\"rows\": [", "not the expected JSON"),
    ] {
        let answer = served.post_json(body);
        assert_eq!(answer.status, 400, "{body}");
        assert!(answer.text().contains(words), "{body}: {}", answer.text());
    }
    for (path, body, words) in [
        ("/predict", "", "<body>: the file is empty"),
        ("/predict", "a,b\n1\n", "<body>: line 2: 2 fields expected"),
        (
            "/predict?keep=ghost",
            rows.as_str(),
            "keep names the column 'ghost'",
        ),
        (
            "/predict?proba=maybe",
            rows.as_str(),
            "proba must be true or false",
        ),
        (
            "/predict?threshold=0.5",
            rows.as_str(),
            "unknown query parameter 'threshold'",
        ),
    ] {
        let answer = served.post_csv(path, body.as_bytes());
        assert_eq!(answer.status, 400, "{path} {body}");
        assert!(answer.text().contains(words), "{path}: {}", answer.text());
    }
    served.wait_for_line(|l| {
        l.starts_with("csvnn: POST /predict 400 0 rows") && l.contains("'ghost'")
    });
}

#[test]
fn a_token_is_required_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let served = Served::start(chile_model(), &["--token-file", token.to_str().unwrap()]);
    let rows = test_rows(2);
    let post = |auth: Option<&str>| {
        let mut headers = vec![("Content-Type", "text/csv")];
        headers.extend(auth.map(|a| ("Authorization", a)));
        http(served.addr, "POST", "/predict", &headers, rows.as_bytes())
    };
    let missing = post(None);
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate").as_deref(),
        Some("Bearer")
    );
    assert_eq!(post(Some("Bearer s3cret-tokeN")).status, 401);
    assert_eq!(post(Some("Bearer s3cret-token2")).status, 401);
    assert_eq!(post(Some("s3cret-token")).status, 401);
    assert_eq!(post(Some("Bearer s3cret-token")).status, 200);
    assert_eq!(served.get("/model").status, 401);
    let model = http(
        served.addr,
        "GET",
        "/model",
        &[("Authorization", "Bearer s3cret-token")],
        b"",
    );
    assert_eq!(model.status, 200);
    assert_eq!(served.get("/health").status, 200);
}

#[test]
fn bodies_and_row_counts_over_the_limits_are_413() {
    let served = Served::start(
        chile_model(),
        &["--max-body-bytes", "2000", "--max-rows", "10"],
    );
    let big = test_rows(200);
    let answer = served.post_csv("/predict", big.as_bytes());
    assert_eq!(answer.status, 413);
    assert!(
        answer
            .text()
            .contains("larger than the limit of 2000 bytes"),
        "{}",
        answer.text()
    );
    let answer = served.post_csv("/predict", test_rows(11).as_bytes());
    assert_eq!(answer.status, 413);
    assert!(
        answer.text().contains("11 rows, more than the limit of 10"),
        "{}",
        answer.text()
    );
    assert_eq!(
        served.post_csv("/predict", test_rows(10).as_bytes()).status,
        200
    );
    let rows: Vec<String> = (0..11).map(|_| r#"{"age": 30}"#.to_string()).collect();
    let answer = served.post_json(&format!("{{\"rows\": [{}]}}", rows.join(",")));
    assert_eq!(answer.status, 413, "{}", answer.text());
}

#[test]
fn a_full_server_and_a_slow_request_are_503() {
    let served = Served::start(chile_model(), &["--max-in-flight", "1", "--timeout", "1.5"]);
    let rows = test_rows(3);
    // A request whose body stalls half-way holds the only slot.
    let mut slow = TcpStream::connect(served.addr).unwrap();
    send_head(
        &mut slow,
        "POST",
        "/predict",
        &[("Content-Type", "text/csv")],
        rows.len(),
    );
    slow.write_all(&rows.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let busy = served.post_csv("/predict", rows.as_bytes());
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.header("retry-after").as_deref(), Some("1"));
    // The stalled request runs out of time.
    let start = Instant::now();
    let timed_out = read_answer(slow);
    assert_eq!(timed_out.status, 503, "{}", timed_out.text());
    assert!(
        timed_out.text().contains("longer than the limit of 1.5 s"),
        "{}",
        timed_out.text()
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(served.post_csv("/predict", rows.as_bytes()).status, 200);
}

#[test]
fn a_connection_whose_headers_stall_is_closed_after_the_time_limit() {
    let served = Served::start(chile_model(), &["--timeout", "1"]);
    // Half a request head, then nothing (a client holding a connection a byte at a time).
    let mut slow = TcpStream::connect(served.addr).unwrap();
    slow.write_all(b"POST /predict HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    match slow.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection closed, got {other:?}"),
    }
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    // Other connections are served as before.
    assert_eq!(served.get("/health").status, 200);
}

#[test]
fn unknown_routes_and_methods_are_404_and_405() {
    let served = Served::start(chile_model(), &[]);
    assert_eq!(served.get("/nope").status, 404);
    assert_eq!(served.get("/predict").status, 405);
    assert_eq!(served.post_csv("/health", b"").status, 405);
    assert_eq!(served.post_csv("/model", b"").status, 405);
}

#[test]
fn health_is_ok_and_a_newline() {
    let served = Served::start(chile_model(), &[]);
    let answer = served.get("/health");
    assert_eq!((answer.status, answer.text()), (200, "ok\n".to_string()));
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn the_model_route_is_inspects_json() {
    let model = chile_model();
    let served = Served::start(model, &[]);
    let answer = served.get("/model");
    assert_eq!(answer.status, 200);
    let inspect = stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(model),
    );
    assert_eq!(answer.text(), inspect);
}

#[test]
fn sighup_reloads_the_model_and_keeps_it_when_the_new_file_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let served_path = dir.path().join("model.json");
    std::fs::copy(chile_model(), &served_path).unwrap();
    // Another target: its predictions are sexes, not votes.
    let other = train("chile_sex.json", "sex", "2");
    let served = Served::start(&served_path, &[]);
    let rows = test_rows(20);
    let before = served.post_csv("/predict", rows.as_bytes()).text();
    assert_eq!(before, predict(chile_model(), &rows, &[]));

    let staged = dir.path().join("staged.json");
    std::fs::copy(&other, &staged).unwrap();
    std::fs::rename(&staged, &served_path).unwrap();
    served.signal(libc::SIGHUP);
    served.wait_for_line(|l| l.contains("reloaded the model from"));
    let after = served.post_csv("/predict", rows.as_bytes()).text();
    assert_eq!(after, predict(&other, &rows, &[]));
    assert_ne!(after, before);

    std::fs::write(
        &served_path,
        "{\"format\": \"csvnn-model\", \"format_version\": 1",
    )
    .unwrap();
    served.signal(libc::SIGHUP);
    let warning = served.wait_for_line(|l| l.contains("still serving the previous model"));
    assert!(
        warning.starts_with("csvnn: warning: reloading "),
        "{warning}"
    );
    assert_eq!(served.post_csv("/predict", rows.as_bytes()).text(), after);
}

/// A stop signal (SIGTERM, SIGINT) while a request's body is half sent: the request
/// still gets predict's answer, then the process exits 0 within 5 s and stops listening.
fn a_stop_signal_finishes_the_request_in_flight_and_exits_0(signal: libc::c_int) {
    let mut served = Served::start(chile_model(), &[]);
    let rows = test_rows(5);
    let mut slow = TcpStream::connect(served.addr).unwrap();
    send_head(
        &mut slow,
        "POST",
        "/predict",
        &[("Content-Type", "text/csv")],
        rows.len(),
    );
    slow.write_all(&rows.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    served.signal(signal);
    std::thread::sleep(Duration::from_millis(300));
    slow.write_all(&rows.as_bytes()[10..]).unwrap();
    let answer = read_answer(slow);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), predict(chile_model(), &rows, &[]));
    assert_eq!(served.exit_within_5s(start).code(), Some(0));
    // Nothing listens any more.
    assert!(TcpStream::connect(served.addr).is_err());
    let stderr = served.stderr_after_exit();
    assert_eq!(stderr.last().map(String::as_str), Some("csvnn: stopped"));
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    a_stop_signal_finishes_the_request_in_flight_and_exits_0(libc::SIGTERM);
}

#[test]
fn sigint_finishes_the_request_in_flight_and_exits_0() {
    a_stop_signal_finishes_the_request_in_flight_and_exits_0(libc::SIGINT);
}

/// A request log line with its time (`0.41` in `... 2 rows 0.41 ms`) replaced by `T`, so
/// that the rest can be compared exactly; the time must have two decimals.
fn untimed(line: &str) -> String {
    let mut words: Vec<&str> = line.splitn(8, ' ').collect();
    if words.len() == 8 && words[7].starts_with("ms") {
        let (whole, decimals) = words[6].split_once('.').expect("a time in ms");
        assert!(
            whole.parse::<u64>().is_ok() && decimals.len() == 2,
            "{line}"
        );
        words[6] = "T";
    }
    words.join(" ")
}

/// Serve on 0.0.0.0 (so that even `--quiet` names the port, in its warning) with `flags`,
/// answer a 200, a 400 and a 404, stop with SIGTERM and return stderr, times untimed.
fn stderr_of_three_requests(flags: &[&str]) -> Vec<String> {
    let mut served = Served::start(chile_model(), &[&["--host", "0.0.0.0"], flags].concat());
    assert_eq!(
        served.post_csv("/predict", test_rows(2).as_bytes()).status,
        200
    );
    let bad = served.post_csv("/predict", b"region,age\nC,40\n");
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(served.get("/nope").status, 404);
    served.signal(libc::SIGTERM);
    assert_eq!(served.exit_within_5s(Instant::now()).code(), Some(0));
    let port = served.addr.port();
    let lines = served.stderr_after_exit();
    lines
        .iter()
        .map(|l| untimed(l).replace(&port.to_string(), "PORT"))
        .collect()
}

#[test]
fn quiet_turns_the_request_log_off_and_keeps_warnings() {
    let model = chile_model().display().to_string();
    let warning = "csvnn: warning: listening on 0.0.0.0:PORT, which other machines can reach; \
                   give --host 127.0.0.1 to serve this machine only, or --token-file to require a token";
    let logged = stderr_of_three_requests(&[]);
    let missing = logged
        .iter()
        .find_map(|l| l.strip_prefix("csvnn: POST /predict 400 0 rows T ms: "))
        .unwrap_or_else(|| panic!("no 400 line: {logged:?}"));
    assert!(missing.contains("is missing"), "{missing}");
    assert_eq!(
        logged,
        [
            warning.to_string(),
            format!("csvnn: serving {model} on http://0.0.0.0:PORT (POST /predict, GET /model, GET /health)"),
            "csvnn: GET /health 200 0 rows T ms".to_string(),
            "csvnn: POST /predict 200 2 rows T ms".to_string(),
            format!("csvnn: POST /predict 400 0 rows T ms: {missing}"),
            "csvnn: GET /nope 404 0 rows T ms".to_string(),
            "csvnn: stopped".to_string(),
        ]
    );
    // --quiet: the warning alone; no info line, no request line.
    assert_eq!(stderr_of_three_requests(&["--quiet"]), [warning]);
}

#[test]
fn the_default_address_is_127_0_0_1_without_a_warning() {
    let model = chile_model();
    let served = Served::start(model, &[]);
    assert_eq!(served.addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    let serving = format!(
        "csvnn: serving {} on http://127.0.0.1:{} (POST /predict, GET /model, GET /health)",
        model.display(),
        served.addr.port()
    );
    served.wait_for_line(|l| l == serving);
    let reached = TcpStream::connect(("127.0.0.1", served.addr.port()));
    assert!(reached.is_ok(), "{reached:?}");
    let stderr = served.stderr.lock().unwrap().clone();
    assert!(!stderr.iter().any(|l| l.contains("warning")), "{stderr:?}");
}

/// Bodies a client should never send: random bytes, cut CSV, huge lines, JSON of the
/// wrong shape. Every answer must be 200, 400 or 413, and the server must stay up.
fn fuzz(n: usize) {
    use rand::{Rng, SeedableRng};
    let served = Served::start(chile_model(), &["--max-body-bytes", "300000"]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let csv = test_rows(40);
    let json_shapes = [
        r#"{"rows": 1}"#,
        r#"{"rows": [1, 2]}"#,
        r#"{"rows": [{"age": {"x": 1}}]}"#,
        r#"{"rows": [{"age": "old", "sex": true, "income": -1e400}]}"#,
        r#"[]"#,
        r#"null"#,
        r#"{"rows": [{"": 1}]}"#,
        r#"{"rows": [{"age": 1e308, "population": -0}]}"#,
        r#"{"proba": 1, "rows": []}"#,
        r#"{"rows": [{"region": "\u0000"}]}"#,
    ];
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..n {
        let (json, body): (bool, Vec<u8>) = match i % 5 {
            0 => (
                i % 2 == 0,
                (0..rng.gen_range(0..2000)).map(|_| rng.gen()).collect(),
            ),
            1 => {
                let cut = rng.gen_range(0..csv.len());
                (false, csv.as_bytes()[..cut].to_vec())
            }
            2 => {
                let mut body = csv.clone().into_bytes();
                let at = rng.gen_range(0..body.len());
                let filler = [b'9', b',', b'"', b'\n', b'\r', 0xff, b' '][rng.gen_range(0..7)];
                body.splice(
                    at..at,
                    std::iter::repeat_n(filler, rng.gen_range(1..400_000)),
                );
                (false, body)
            }
            3 => (
                true,
                json_shapes[rng.gen_range(0..json_shapes.len())]
                    .as_bytes()
                    .to_vec(),
            ),
            _ => {
                let mut body = csv.clone().into_bytes();
                for _ in 0..rng.gen_range(1..20) {
                    let at = rng.gen_range(0..body.len());
                    body[at] = rng.gen();
                }
                (false, body)
            }
        };
        let kind = if json { "application/json" } else { "text/csv" };
        let answer = http(
            served.addr,
            "POST",
            "/predict",
            &[("Content-Type", kind)],
            &body,
        );
        assert!(
            matches!(answer.status, 200 | 400 | 413),
            "body {i} got {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        *counts.entry(answer.status).or_insert(0) += 1;
    }
    assert_eq!(served.get("/health").status, 200);
    eprintln!("fuzzed {n} bodies: {counts:?}");
}

#[test]
fn fuzzed_bodies_never_get_a_5xx() {
    fuzz(300);
}

/// The long run: `CSVNN_FUZZ_BODIES=20000 cargo test --test tests serve_fuzz_long -- --ignored`.
#[test]
#[ignore]
fn serve_fuzz_long() {
    let n = std::env::var("CSVNN_FUZZ_BODIES").map_or(20_000, |v| v.parse().unwrap());
    fuzz(n);
}

#[test]
fn a_non_loopback_address_is_warned_about() {
    let served = Served::start(chile_model(), &["--host", "0.0.0.0"]);
    let warning = served.wait_for_line(|l| l.starts_with("csvnn: warning: listening on 0.0.0.0:"));
    assert!(warning.contains("other machines can reach"), "{warning}");
    assert!(warning.contains("--token-file"), "{warning}");
}

/// Requests one after another on one kept-alive connection.
struct KeptAlive {
    reader: BufReader<TcpStream>,
}

impl KeptAlive {
    fn open(addr: SocketAddr) -> KeptAlive {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        KeptAlive {
            reader: BufReader::new(stream),
        }
    }

    /// POST a CSV body and read the answer by its `Content-Length`.
    fn post_csv(&mut self, path: &str, body: &[u8]) -> Answer {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "{head}");
            if line == "\r\n" {
                break;
            }
            head += &line;
        }
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let answer = Answer {
            status,
            head,
            body: Vec::new(),
        };
        let length: usize = answer.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        Answer { body, ..answer }
    }
}

#[test]
fn one_thread_answers_many_requests_on_one_connection_as_predict_does() {
    // `--threads 1`: one runtime thread scores small bodies itself and keeps its csv
    // readers and buffers from one request to the next; every answer must still be
    // predict's, whatever came before it (another delimiter, a refused body, a big body
    // scored on a blocking thread).
    let model = chile_model();
    let served = Served::start_threads(model, "1", &["--timeout", "1.5"]);
    let one = test_rows(1);
    let hundred = test_rows(100);
    let semicolons = test_rows(3).replace(',', ";");
    let big = std::fs::read_to_string(data("chile_vote.train.csv")).unwrap()
        + test_rows(507).split_once('\n').unwrap().1;
    assert!(big.len() > 64 << 10, "{} bytes", big.len());
    let bodies = [&one, &hundred, &semicolons, &big];
    let expected: Vec<String> = bodies.iter().map(|b| predict(model, b, &[])).collect();
    let mut connection = KeptAlive::open(served.addr);
    for round in 0..40 {
        let which = round % 5;
        if which == 4 {
            let bad = connection.post_csv("/predict", b"region,age\nC,40\n");
            assert_eq!(bad.status, 400, "{}", bad.text());
            assert!(bad.text().contains("is missing"), "{}", bad.text());
            continue;
        }
        let answer = connection.post_csv("/predict", bodies[which].as_bytes());
        assert_eq!(answer.status, 200, "round {round}: {}", answer.text());
        assert_eq!(answer.text(), expected[which], "round {round}");
    }
    // The same connection still works, and so does the time limit: a body that stalls
    // half-way is answered 503 while another connection is served.
    let mut slow = TcpStream::connect(served.addr).unwrap();
    send_head(
        &mut slow,
        "POST",
        "/predict",
        &[("Content-Type", "text/csv")],
        one.len(),
    );
    slow.write_all(&one.as_bytes()[..10]).unwrap();
    let answer = connection.post_csv("/predict", one.as_bytes());
    assert_eq!(answer.text(), expected[0]);
    let timed_out = read_answer(slow);
    assert_eq!(timed_out.status, 503, "{}", timed_out.text());
    assert!(timed_out.text().contains("longer than the limit of 1.5 s"));
}
