//! The bytes of saved models stay the same for the same data, flags and seed: a
//! restructure must not change what `train` writes. Three models (a classifier with
//! categorical inputs, dropout and class weights; a regressor with SGD and a schedule; a
//! CNN on generated images), hashed with sha256.
//!
//! The bytes depend on the matrix-product kernel, so the hashes are kept per kernel (as
//! `nn::gemm_kernel` says which one runs): the project's own kernels (AVX-512 and AVX2,
//! which give the same bits) and the matrixmultiply fallback (`portable`). A kernel with no hash recorded here is reported, not failed.
//! Work that changes the numerics on purpose (a new kernel, a new default) updates these
//! hashes in the same commit and says why.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::conv_cli::write_bars;
use super::util::{csvnn, data};

/// (name, sha256 with the own kernels, AVX-512 or AVX2; sha256 with the matrixmultiply
/// fallback).
const EXPECTED: [(&str, &str, &str); 3] = [
    (
        "classifier",
        "ebca0c8150944c9184cd01f98e2b02ce9b9dcbaa92b10d2e551b24c7aa8e0a5c",
        "ebca0c8150944c9184cd01f98e2b02ce9b9dcbaa92b10d2e551b24c7aa8e0a5c",
    ),
    (
        "regressor",
        "64cd364ff9a72224031b06d59d074a1393f08c4cb45840e011d401e6bb66104a",
        "64cd364ff9a72224031b06d59d074a1393f08c4cb45840e011d401e6bb66104a",
    ),
    // The CNN's file lists max_pool2d before its ReLU since Network::cnn pools first
    // (the same weights; only the order of the layers in the file changed).
    (
        "cnn",
        "989bc566fa689ab924a89a27cbe4de4357e20527f38820a3ca60fb4b8897e93f",
        "802577a7491e6eccefdcf30e575571f9076af2a51da8c2347177592459fb787c",
    ),
];

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn train(args: &[&str], out: &Path) -> String {
    csvnn()
        .arg("train")
        .args(args)
        .arg("-o")
        .arg(out)
        .arg("--quiet")
        .assert()
        .success();
    sha256(out)
}

#[test]
fn model_bytes_are_unchanged_for_the_same_data_flags_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let bars = dir.path().join("bars.csv");
    write_bars(&bars, 300, 7);
    let bars = bars.to_str().unwrap().to_string();
    let chile = data("chile_vote.train.csv");
    let auto = data("auto_mpg.train.csv");
    let runs: [(&str, Vec<&str>); 3] = [
        (
            "classifier",
            vec![
                "--data",
                &chile,
                "--target",
                "vote",
                "--hidden",
                "16,8",
                "--dropout",
                "0.2",
                "--class-weight",
                "balanced",
                "--epochs",
                "6",
                "--seed",
                "5",
                // The bytes recorded while ReLU was the default activation.
                "--activation",
                "relu",
            ],
        ),
        (
            "regressor",
            vec![
                "--data",
                &auto,
                "--target",
                "mpg",
                "--drop",
                "name",
                "--optimizer",
                "sgd",
                "--lr",
                "0.01",
                "--lr-schedule",
                "cosine",
                "--warmup-epochs",
                "2",
                "--epochs",
                "8",
                "--weight-decay",
                "0.001",
                // The bytes recorded before small tables trained whole by default
                // and while ReLU was the default activation.
                "--validation-split",
                "0.1",
                "--activation",
                "relu",
            ],
        ),
        (
            "cnn",
            vec![
                "--data",
                &bars,
                "--target",
                "label",
                "--image-shape",
                "6x6x1",
                "--conv",
                "4:3",
                "--hidden",
                "8",
                "--epochs",
                "3",
                "--batch-size",
                "16",
                "--validation-split",
                "0.1",
            ],
        ),
    ];
    // The child processes choose the kernel as this one does (CPU and CSVNN_GEMM).
    let own = csvnn::nn::own_kernel();
    let kernel = csvnn::nn::gemm_kernel().name();
    let mut wrong = Vec::new();
    for ((name, args), (expected_name, avx512, fallback)) in runs.iter().zip(EXPECTED) {
        assert_eq!(*name, expected_name);
        let got = train(args, &dir.path().join(format!("{name}.json")));
        let expected = if own { avx512 } else { fallback };
        if expected.is_empty() {
            eprintln!("{name}: no hash recorded for the {kernel} kernel; this run wrote {got}");
        } else if got != expected {
            wrong.push(format!("{name} ({kernel}): {got}, expected {expected}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "model bytes changed: {}",
        wrong.join("; ")
    );
}
