//! `csvnn train` on a terminal: run through a pseudo-terminal of a given width, its output
//! rendered by a terminal emulator (vt100). The bar must fit the width, and when the run
//! ends (its last epoch, early stopping, an error) the bar must be gone and the summary
//! lines intact.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use super::util::data;

/// Rows of the emulated terminal: enough that nothing scrolls away.
const ROWS: u16 = 200;

/// What a run wrote to its terminal.
struct Run {
    code: Option<i32>,
    bytes: Vec<u8>,
    columns: u16,
}

/// Run csvnn with `args`, stdout and stderr on a new pseudo-terminal `columns` wide.
fn in_terminal(columns: u16, args: &[&str]) -> Run {
    let (master, slave) = open_pty(columns);
    let mut child = {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("csvnn"));
        cmd.args(args)
            .env("TERM", "xterm")
            .stdin(Stdio::null())
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        cmd.spawn().unwrap()
        // `cmd` goes here with our copies of the terminal's end, so reading sees its close.
    };
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut file = File::from(master);
        // Linux answers EIO once the last holder of the other end has closed it.
        let _ = file.read_to_end(&mut bytes);
        bytes
    });
    let status = child.wait().unwrap();
    Run {
        code: status.code(),
        bytes: reader.join().unwrap(),
        columns,
    }
}

/// A pseudo-terminal of ROWS x `columns`: (the controller's end, the program's end).
fn open_pty(columns: u16) -> (OwnedFd, OwnedFd) {
    let size = libc::winsize {
        ws_row: ROWS,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors, which we then own; the name and termios
    // arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty failed: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

impl Run {
    /// The lines on the final screen, each row joined with the rows it wrapped onto.
    fn screen_lines(&self) -> Vec<String> {
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(ROWS), size(self.columns), 0);
        parser.process(&self.bytes);
        let screen = parser.screen();
        let mut lines = vec![String::new()];
        for (i, row) in screen.rows(0, self.columns).enumerate() {
            lines.last_mut().unwrap().push_str(&row);
            if !screen.row_wrapped(i as u16) {
                lines.push(String::new());
            }
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        lines
    }

    /// Every state of the bar that was drawn: the text between the carriage returns, line
    /// ends and escape sequences that contains "ETA".
    fn bar_draws(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.bytes);
        text.split(['\r', '\n', '\x1b'])
            .map(|piece| {
                // An escape sequence ends at its first letter; the text after it follows.
                match piece.strip_prefix('[') {
                    Some(rest) => rest
                        .trim_start_matches(|c: char| !c.is_ascii_alphabetic())
                        .get(1..)
                        .unwrap_or("")
                        .to_string(),
                    None => piece.to_string(),
                }
            })
            .filter(|piece| piece.contains("ETA"))
            .collect()
    }

    fn assert_summary_intact(&self, summary: &[&str]) {
        let lines = self.screen_lines();
        for prefix in summary {
            assert!(
                lines.iter().any(|l| l.starts_with(prefix)),
                "no line starts with {prefix:?}; screen:\n{}",
                lines.join("\n")
            );
        }
        let last = lines.last().unwrap();
        assert!(
            summary.iter().any(|p| last.starts_with(p)),
            "the screen ends with {last:?}; screen:\n{}",
            lines.join("\n")
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("ETA") && !l.starts_with("epoch ")),
            "a stale bar is on the final screen:\n{}",
            lines.join("\n")
        );
    }
}

fn train_args<'a>(model: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--target", "mpg", "--drop", "name", "-o", model];
    args.extend(extra);
    args
}

#[test]
fn the_bar_fits_the_terminal_and_is_gone_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let (model, data) = (model.to_str().unwrap(), data("auto_mpg.train.csv"));
    for columns in [60, 120] {
        let run = in_terminal(
            columns,
            &train_args(
                model,
                &["--data", &data, "--epochs", "300", "--patience", "0"],
            ),
        );
        assert_eq!(run.code, Some(0));
        let draws = run.bar_draws();
        assert!(!draws.is_empty(), "no bar was drawn");
        for draw in &draws {
            assert!(draw.starts_with("epoch "), "{draw:?}");
            assert!(
                draw.chars().count() <= columns as usize,
                "{columns} columns: {draw:?} is wider"
            );
        }
        run.assert_summary_intact(&[
            "csvnn: training a ",
            "csvnn: validation: loss ",
            "csvnn: saved the model to ",
        ]);
    }
}

#[test]
fn early_stopping_leaves_no_stale_bar() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let (model, data) = (model.to_str().unwrap(), data("auto_mpg.train.csv"));
    let run = in_terminal(
        60,
        &train_args(
            model,
            &[
                "--data",
                &data,
                "--epochs",
                "1000",
                "--patience",
                "1",
                "--lr",
                "0.05",
            ],
        ),
    );
    assert_eq!(run.code, Some(0));
    run.assert_summary_intact(&[
        "csvnn: stopped early after ",
        "csvnn: validation: loss ",
        "csvnn: saved the model to ",
    ]);
}

#[test]
fn an_error_during_training_leaves_no_stale_bar() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let (model, data) = (model.to_str().unwrap(), data("auto_mpg.train.csv"));
    // A learning rate this large makes the loss infinite within a few batches.
    let run = in_terminal(
        60,
        &train_args(model, &["--data", &data, "--epochs", "50", "--lr", "1e30"]),
    );
    assert_eq!(run.code, Some(1));
    run.assert_summary_intact(&["csvnn: error: "]);
}

#[test]
fn verbose_shows_epoch_lines_instead_of_the_bar() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let (model, data) = (model.to_str().unwrap(), data("auto_mpg.train.csv"));
    let mut args = vec!["-v"];
    args.extend(train_args(
        model,
        &["--data", &data, "--epochs", "20", "--patience", "0"],
    ));
    let run = in_terminal(120, &args);
    assert_eq!(run.code, Some(0));
    assert!(run.bar_draws().is_empty());
    let lines = run.screen_lines();
    let epochs = lines
        .iter()
        .filter(|l| l.starts_with("csvnn: epoch "))
        .count();
    assert_eq!(epochs, 20, "{}", lines.join("\n"));
}
