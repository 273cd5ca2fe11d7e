//! The library's entry point trains the same model as the command line: `csvnn train` only
//! maps flags to `TrainSettings`.

use csvnn::train::{fit, ClassWeights, TrainSettings};

use super::util::{csvnn, data};

#[test]
fn library_fit_writes_the_bytes_of_csvnn_train() {
    let dir = tempfile::tempdir().unwrap();
    let (cli_model, lib_model) = (dir.path().join("cli.json"), dir.path().join("lib.json"));
    let train = data("chile_vote.train.csv");
    csvnn()
        .args(["--quiet", "train", "--data", &train, "--target", "vote"])
        .args([
            "--epochs",
            "4",
            "--hidden",
            "12,6",
            "--class-weight",
            "balanced",
        ])
        .arg("-o")
        .arg(&cli_model)
        .assert()
        .success();
    let settings = TrainSettings {
        epochs: 4,
        hidden: vec![12, 6],
        class_weight: Some(ClassWeights::Balanced),
        ..TrainSettings::new(train, "vote")
    };
    fit(&settings, &mut ()).unwrap().save(&lib_model).unwrap();
    assert_eq!(
        std::fs::read(&cli_model).unwrap(),
        std::fs::read(&lib_model).unwrap()
    );
}

#[test]
fn library_settings_errors_are_typed_and_name_no_flags() {
    let settings = TrainSettings {
        lr: -1.0,
        ..TrainSettings::new(data("chile_vote.train.csv"), "vote")
    };
    let error = fit(&settings, &mut ()).unwrap_err();
    assert!(matches!(
        error,
        csvnn::Error::Settings(csvnn::train::SettingsError::OutOfRange { setting: "lr", .. })
    ));
    assert_eq!(
        error.to_string(),
        "the setting `lr` is -1; expected a number greater than 0"
    );
    assert!(error.is_usage());
}
