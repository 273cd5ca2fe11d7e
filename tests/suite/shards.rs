//! `predict` on shards of a file, as an engine runs it: the first shard with its header,
//! the others without one (`--columns`, `--no-output-header`); the shards' outputs put
//! together are the one-process output, byte for byte. Shards are cut at record
//! boundaries, which are not always line boundaries (a quoted field may hold a line
//! break). And every error of the two flags, word for word.

use std::io::Write;
use std::path::Path;

use super::util::{csvnn, data};

/// A slice of tweets.test.csv (80 rows, 9 of them with a line break inside a quoted text).
fn tweets(name: &str) -> String {
    format!(
        "{}/tests/fixtures/sequences/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The byte offsets where the records of a CSV text start (the header's first), and
/// its end.
fn record_starts(text: &[u8]) -> Vec<usize> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text);
    let mut starts = vec![0];
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).unwrap() {
        starts.push(reader.position().byte() as usize);
    }
    starts
}

/// `text` cut into 3 shards at record boundaries, the first with the header; the cuts
/// fall inside records that span lines when there are any.
fn three_shards(text: &[u8]) -> [Vec<u8>; 3] {
    let starts = record_starts(text);
    let records = starts.len() - 2; // data records
    let cut = |at: usize| starts[1 + at];
    let (a, b) = (cut(records / 3), cut(2 * records / 3));
    for at in [a, b] {
        assert_eq!(text[at - 1], b'\n', "a record boundary ends a line");
    }
    [text[..a].to_vec(), text[a..b].to_vec(), text[b..].to_vec()]
}

/// `csvnn predict ARGS` on `input` (a path, or `-` with `stdin`): its stdout.
fn predict(model: &Path, input: &str, stdin: Option<Vec<u8>>, args: &[&str]) -> Vec<u8> {
    let mut cmd = csvnn();
    cmd.args(["--quiet", "predict", "--model"])
        .arg(model)
        .args(["--data", input])
        .args(args);
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn train(model: &Path, args: &[&str]) {
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(model)
        .args(["--epochs", "3"])
        .args(args)
        .assert()
        .success();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Shard 1 as a file with its header, shard 2 as a headerless file, shard 3 as headerless
/// gzip on stdin: the outputs put together equal the whole file's, byte for byte.
fn shards_equal_the_whole(model: &Path, file: &str, args: &[&str], dir: &Path) {
    let text = std::fs::read(file).unwrap();
    let header = String::from_utf8(text[..record_starts(&text)[1]].to_vec()).unwrap();
    let names = header.trim_end().to_string();
    let whole = predict(model, file, None, args);
    let [first, second, third] = three_shards(&text);
    let (one, two) = (dir.join("shard-1.csv"), dir.join("shard-2.csv"));
    std::fs::write(&one, first).unwrap();
    std::fs::write(&two, second).unwrap();
    let mut together = predict(model, one.to_str().unwrap(), None, args);
    let mut second_args = vec![
        "--columns",
        names.as_str(),
        "--no-output-header",
        "--chunk-rows",
        "7",
    ];
    second_args.extend(args);
    together.extend(predict(model, two.to_str().unwrap(), None, &second_args));
    together.extend(predict(model, "-", Some(gzip(&third)), &second_args));
    assert_eq!(
        String::from_utf8_lossy(&together),
        String::from_utf8_lossy(&whole)
    );
    assert_eq!(together, whole);
}

#[test]
fn csv_shards_with_proba_and_keep_put_together_are_the_whole_output() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("chile.json");
    train(
        &model,
        &["--data", &data("chile_vote.train.csv"), "--target", "vote"],
    );
    let test = data("chile_vote.test.csv");
    shards_equal_the_whole(
        &model,
        &test,
        &["--proba", "--keep", "region,vote"],
        dir.path(),
    );
}

#[test]
fn shards_cut_between_records_that_span_lines() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tweets.json");
    train(
        &model,
        &[
            "--data",
            &tweets("tw.csv"),
            "--target",
            "source",
            "--drop",
            "created_at",
        ],
    );
    let test = tweets("twt.csv");
    let text = std::fs::read(&test).unwrap();
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    assert!(
        lines > record_starts(&text).len() - 1,
        "some records span lines"
    );
    shards_equal_the_whole(&model, &test, &["--proba", "--keep", "text"], dir.path());
}

#[test]
fn no_output_header_changes_nothing_in_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mpg.json");
    let train_csv = data("auto_mpg.train.csv");
    train(&model, &["--data", &train_csv, "--target", "mpg"]);
    let test = data("auto_mpg.test.csv");
    let plain = predict(&model, &test, None, &["--format", "jsonl"]);
    let flagged = predict(
        &model,
        &test,
        None,
        &["--format", "jsonl", "--no-output-header"],
    );
    assert!(plain.starts_with(b"{\"prediction\":"));
    assert_eq!(plain, flagged);
    // And in CSV it drops exactly the header line.
    let csv = predict(&model, &test, None, &[]);
    let bare = predict(&model, &test, None, &["--no-output-header"]);
    assert_eq!(csv, [&b"prediction\n"[..], &bare].concat());
    // An empty shard gives an empty output.
    let names = "cylinders,displacement,horsepower,weight,acceleration,year,origin,name";
    let empty = predict(
        &model,
        "-",
        Some(Vec::new()),
        &["--columns", names, "--no-output-header"],
    );
    assert!(empty.is_empty());
    // Without --no-output-header, an empty input gives the header alone (for engines
    // whose shards are all headerless).
    let header = predict(&model, "-", Some(Vec::new()), &["--columns", names]);
    assert_eq!(header, b"prediction\n");
}

/// `csvnn predict ARGS` with `stdin`, which must fail: exit code and stderr.
fn predict_fails(model: &Path, args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    let out = csvnn()
        .args(["predict", "--model"])
        .arg(model)
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn errors_of_the_shard_flags() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("default.json");
    train(
        &model,
        &["--data", &data("default.train.csv"), "--target", "default"],
    );
    let names = "default,student,balance,income";
    let row = b"No,No,1165.49,47684.2\n";
    let fails = |args: &[&str], stdin: &[u8]| predict_fails(&model, args, stdin);
    let stdin_with = |columns: &str| {
        vec!["--data", "-", "--columns"]
            .into_iter()
            .chain([columns])
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let run = |columns: &str, stdin: &[u8]| {
        let args = stdin_with(columns);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, stdin)
    };
    // A row of another width than the names given: file, line (the first line is line 1).
    let text = [&row[..], b"\n", b"No,No,1.5\n"].concat();
    assert_eq!(
        run(names, &text),
        (
            Some(1),
            "csvnn: error: <stdin>: line 3: 4 fields expected (one per column name given), 3 found (use --skip-bad-rows to skip such rows)\n".to_string()
        )
    );
    // A semicolon file without --delimiter: one field per row.
    assert_eq!(
        run(names, b"No;No;1165.49;47684.2\n"),
        (
            Some(1),
            "csvnn: error: <stdin>: line 1: 4 fields expected (one per column name given), 1 found (is the file delimited by another character? try --delimiter)\n".to_string()
        )
    );
    // A shard that starts inside a quoted field (cut at a line end within a record).
    assert_eq!(
        run(names, b"by 3\",1165.49,47684.2\nNo,No,1,2\n"),
        (
            Some(1),
            "csvnn: error: <stdin>: line 1: 4 fields expected (one per column name given), 3 found (was the input cut inside a quoted field? a shard must start and end at a record's end, which is not always a line's end)\n".to_string()
        )
    );
    // A bad cell names its column by the given name.
    assert_eq!(
        run(names, b"No,No,1165.49,47684.2\nNo,\"x\xff\",1,2\n").1,
        "csvnn: error: <stdin>: line 2: column 'student': the value 'x\u{fffd}' is not valid UTF-8 (byte 0xFF at position 2); expected UTF-8 text (convert the file, e.g. with iconv)\n"
    );
    assert_eq!(
        run("default,student,,income", row),
        (
            Some(2),
            "csvnn: error: --columns has an empty name at position 3; expected a name for every column\n".to_string()
        )
    );
    assert_eq!(
        run("", row),
        (
            Some(2),
            "csvnn: error: --columns has an empty name at position 1; expected a name for every column\n".to_string()
        )
    );
    assert_eq!(
        run("default,balance,student, balance", row),
        (
            Some(2),
            "csvnn: error: --columns names the column 'balance' twice\n".to_string()
        )
    );
    // Names the model needs must be among those given, as with a header.
    let (code, stderr) = run("default,student,balance,earnings", row);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("'income'"), "{stderr}");
    // Parquet names its own columns.
    let parquet = format!(
        "{}/tests/fixtures/parquet/auto.parquet",
        env!("CARGO_MANIFEST_DIR")
    );
    assert_eq!(
        fails(&["--data", &parquet, "--columns", "a,b"], b""),
        (
            Some(2),
            format!("csvnn: error: --columns is for CSV input without a header line; {parquet} is a Parquet file, which names its own columns\n")
        )
    );
    // --keep names one of the given columns.
    let (code, stderr) = fails(&["--data", "-", "--columns", names, "--keep", "id"], row);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "csvnn: error: <stdin>: --keep names the column 'id', which is not in the file; the columns are: default, student, balance, income\n"
    );
}
