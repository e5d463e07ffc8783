//! Regression tests of issue 14 (data and config hardening): each input a tester gave the
//! release binary is refused with a non-zero exit and one line naming the key or the file,
//! line, column and value, before anything trains or is written.
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use crate::common::{assert_ok, assert_one_line_error, rebalance, stderr, stdout};
use rebalance_testing::{cifar_batch, idx};

/// A two-class CSV config over `train` and `test` (written in `dir`), all samples kept.
fn csv_config(dir: &Path, train: &[u8], test: &[u8], extra: &str) -> PathBuf {
    std::fs::write(dir.join("train.csv"), train).unwrap();
    std::fs::write(dir.join("test.csv"), test).unwrap();
    let config = dir.join("csv.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\nsource = \"csv\"\ntrain = {:?}\ntest = {:?}\nnum_classes = 2\n\
             profile = {{ kind = \"none\" }}\n{extra}\n[train]\nepochs = 1\n[output]\ndir = {:?}\n",
            dir.join("train.csv"),
            dir.join("test.csv"),
            dir.join("run"),
        ),
    )
    .unwrap();
    config
}

const GOOD: &[u8] = b"a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n";

/// `rebalance SUBCOMMAND --config CONFIG`, then `--set S` for each of `sets`.
fn with_sets(subcommand: &str, config: &Path, sets: &[&str]) -> Output {
    let mut args = vec![subcommand, "--config", config.to_str().unwrap()];
    for set in sets {
        args.extend(["--set", set]);
    }
    rebalance(&args)
}

/// `rebalance data --config CONFIG`, then `--set S` for each of `sets`.
fn data(config: &Path, sets: &[&str]) -> Output {
    with_sets("data", config, sets)
}

/// `rebalance data --config configs/quickstart.toml --set SET`.
fn quickstart_data(set: &str) -> Output {
    data(Path::new("configs/quickstart.toml"), &[set])
}

/// `rebalance data --config CONFIG` fails with one line on stderr that contains `expected`.
#[track_caller]
fn assert_data_error(config: &Path, expected: &str) {
    assert_one_line_error(&data(config, &[]), expected);
}

/// `rebalance train --config CONFIG` (the config of [`csv_config`] or [`idx_config`] in
/// `dir`) fails with one line on stderr that contains `expected`, before its run directory
/// `dir/run` is created.
#[track_caller]
fn assert_train_refused(dir: &Path, config: &Path, expected: &str) {
    assert_one_line_error(&with_sets("train", config, &[]), expected);
    assert!(!dir.join("run").exists());
}

/// Item 6: non-finite and beyond-f32 features, in the test or the training file.
#[test]
fn non_finite_features_are_load_errors_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["NaN", "inf", "1e39"] {
        let bad = format!("a,b,label\n1,2,0\n3,{value},1\n");
        let config = csv_config(dir.path(), GOOD, bad.as_bytes(), "");
        assert_train_refused(
            dir.path(),
            &config,
            &format!(
                "{}: line 3, column 2: feature \"b\" is \"{value}\", not a finite number",
                dir.path().join("test.csv").display()
            ),
        );
        let config = csv_config(dir.path(), bad.as_bytes(), GOOD, "");
        assert_data_error(
            &config,
            &format!(
                "{}: line 3, column 2: feature \"b\" is \"{value}\"",
                dir.path().join("train.csv").display()
            ),
        );
    }
}

/// Item 7: a column name given twice.
#[test]
fn duplicate_column_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(dir.path(), b"a,label,label\n1,0,1\n2,1,0\n", GOOD, "");
    assert_data_error(
        &config,
        "train.csv: line 1, column 3: column \"label\" appears twice (also column 2)",
    );
}

/// Item 8: an empty label, or `0.0` among integer labels, named by file, line and value.
#[test]
fn odd_labels_name_the_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(dir.path(), GOOD, b"a,b,label\n1,2,0\n3,4,\n", "");
    assert_data_error(
        &config,
        "test.csv: line 3, column 3: the label (\"label\") is empty",
    );
    let config = csv_config(dir.path(), GOOD, b"a,b,label\n1,2,0\n3,4,0.0\n", "");
    assert_data_error(
        &config,
        "test.csv: line 3: label \"0.0\" is not a non-negative integer",
    );
}

/// Item 9: the key the user set is the one named; a binary file's bytes show escaped.
#[test]
fn messages_name_the_key_set_and_escape_file_bytes() {
    assert_one_line_error(
        &quickstart_data("data.features=0"),
        "data.features = 0: must be >= 1",
    );
    assert_one_line_error(
        &quickstart_data("data.features=4"),
        "data.features = 4: must be >= 8 (the default of data.informative)",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(dir.path(), b"\x01\x02\x1b[2J\x07,x\n1,2\n", GOOD, "");
    let output = data(&config, &[]);
    assert_one_line_error(&output, "\\u{1}\\u{2}\\u{1b}[2J\\u{7}");
    let err = stderr(&output);
    assert!(
        !err.trim_end().chars().any(char::is_control),
        "raw control bytes in {err:?}"
    );

    // A class label with a newline or an escape stays on its row of `rebalance data`'s table.
    let labels = b"x,y,label\n1,2,\"a\nb\"\n3,4,\"c\x1b[2J\"\n5,6,\"a\nb\"\n7,8,\"c\x1b[2J\"\n";
    let config = csv_config(dir.path(), labels, labels, "");
    let output = data(&config, &["data.profile={ kind = \"none\" }"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).unwrap();
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(
        table.contains("a\\nb") && table.contains("c\\u{1b}[2J"),
        "{table}"
    );
    assert!(!table.contains('\x1b'), "{table:?}");
}

/// Item 10: every u64 is a seed, as a `--set` value or a string in the file; an integer
/// literal beyond TOML's range says the range and the key's line.
#[test]
fn seeds_take_the_whole_u64_range_or_say_it() {
    for key in ["data.seed", "train.seed"] {
        assert_ok(&quickstart_data(&format!("{key}=18446744073709551615")));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seed.toml");
    std::fs::write(&config, "[data]\nmax_per_class = 20\ntest_per_class = 2\nprofile = { kind = \"none\" }\nseed = \"18446744073709551615\"\n[train]\nseed = \"18446744073709551615\"\n").unwrap();
    assert_ok(&data(&config, &[]));
    std::fs::write(&config, "[data]\nseed = 18446744073709551615\n").unwrap();
    assert_data_error(
        &config,
        &format!("{}:2:8: 18446744073709551615: ", config.display()),
    );
    let err = stderr(&data(&config, &[]));
    assert!(
        err.contains("-9223372036854775808..=9223372036854775807")
            && err.contains("\"18446744073709551615\""),
        "{err}"
    );
    std::fs::write(&config, "[train]\nseed = -1\n").unwrap();
    assert_data_error(
        &config,
        "train.seed: -1: must be a seed in 0..=18446744073709551615",
    );
}

/// Item 11: TOML errors give the file's line and column; a `--set` value its column.
#[test]
fn toml_errors_give_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    for (text, place) in [
        ("[train]\nepochs = 3\nepochs = 4\n", ":3:1: "),
        ("[train]\nepochs = 3\n[model]\n[train]\n", ":4:"),
        ("[train]\nepochs = \n", ":2:"),
    ] {
        std::fs::write(&config, text).unwrap();
        assert_data_error(&config, &format!("{}{place}", config.display()));
    }
    assert_one_line_error(
        &quickstart_data("data.profile={ kind = \"step\", kind = \"none\" }"),
        "--set data.profile={ kind = \"step\", kind = \"none\" }: column ",
    );
    assert_one_line_error(
        &quickstart_data("train.epochs="),
        "--set train.epochs=: no value after '='",
    );
}

/// Item 12: `weights` takes the zero-count policies its error advises.
#[test]
fn weights_takes_the_zero_count_policy() {
    let output = rebalance(&["weights", "--counts", "10,0,5"]);
    assert_one_line_error(&output, "zero-count policy \"zero-weight\" or \"add-one\"");
    for policy in ["zero-weight", "add-one"] {
        let output = rebalance(&[
            "weights",
            "--counts",
            "10,0,5",
            "--zero-count",
            policy,
            "--format",
            "json",
        ]);
        assert_ok(&output);
        let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        let weights = json["weights"].as_array().unwrap();
        assert_eq!(weights.len(), 3);
        assert_eq!(weights[1].as_f64().unwrap() == 0.0, policy == "zero-weight");
    }
}

/// Item 13: an empty test split is a load error naming the file, in `train` and `data`.
#[test]
fn empty_splits_are_load_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(dir.path(), GOOD, b"a,b,label\n", "");
    assert_train_refused(
        dir.path(),
        &config,
        &format!(
            "{}: no samples: the file has a header and no rows",
            dir.path().join("test.csv").display()
        ),
    );

    let cifar = dir.path().join("cifar");
    std::fs::create_dir(&cifar).unwrap();
    for b in 1..=5 {
        std::fs::write(
            cifar.join(format!("data_batch_{b}.bin")),
            cifar_batch(&[(0, 1), (1, 2)]),
        )
        .unwrap();
    }
    std::fs::write(cifar.join("test_batch.bin"), b"").unwrap();
    let config = dir.path().join("cifar.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\nsource = \"cifar10\"\ndir = {cifar:?}\nnum_classes = 2\nprofile = {{ kind = \"none\" }}\n"
        ),
    )
    .unwrap();
    assert_data_error(
        &config,
        &format!(
            "{}: no samples: the file is empty",
            cifar.join("test_batch.bin").display()
        ),
    );
}

/// An IDX folder of two classes with `train` and `test` images of the given sides.
fn idx_config(dir: &Path, train: u32, test: u32, model: &str) -> PathBuf {
    let images = |side: u32| idx(&[2, side, side], &vec![7u8; (2 * side * side) as usize]);
    let folder = dir.join("idx");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("train-images-idx3-ubyte"), images(train)).unwrap();
    std::fs::write(folder.join("train-labels-idx1-ubyte"), idx(&[2], &[0, 1])).unwrap();
    std::fs::write(folder.join("t10k-images-idx3-ubyte"), images(test)).unwrap();
    std::fs::write(folder.join("t10k-labels-idx1-ubyte"), idx(&[2], &[0, 1])).unwrap();
    let config = dir.join("idx.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\nsource = \"idx\"\ndir = {folder:?}\nnum_classes = 2\n\
             profile = {{ kind = \"none\" }}\n[model]\nkind = \"{model}\"\n[train]\nepochs = 1\n\
             [output]\ndir = {:?}\n",
            dir.join("run")
        ),
    )
    .unwrap();
    config
}

/// Item 14: a model that cannot take the data's samples is refused before the run directory
/// is touched: no features at all, or a CNN on 1×1 images.
#[test]
fn models_that_cannot_take_the_data_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(dir.path(), b"label\n0\n1\n", b"label\n0\n1\n", "");
    assert_train_refused(
        dir.path(),
        &config,
        "train.csv: line 1: no feature column beside the label column \"label\"",
    );

    let config = idx_config(dir.path(), 1, 1, "cnn");
    assert_train_refused(
        dir.path(),
        &config,
        "model.kind = cnn: needs images [channels, height, width] of at least 1 channel and \
         4×4 pixels, but the data's samples have shape [1, 1, 1]",
    );
}

/// Item 15: IDX test images of another size than the training images.
#[test]
fn image_splits_of_different_sizes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = idx_config(dir.path(), 28, 14, "mlp");
    assert_data_error(
        &config,
        "t10k-images-idx3-ubyte: images of 14×14 pixels, but the training images",
    );
}

/// Item 17: sizes that cannot fit in memory are refused up front, naming the key.
#[test]
fn absurd_sizes_are_refused_naming_the_key() {
    for (set, key) in [
        (
            "train.batch_size=4294967296",
            "train.batch_size = 4294967296",
        ),
        (
            "train.batch_size=9223372036854775807",
            "train.batch_size = 9223372036854775807",
        ),
        ("model.hidden=[100000000]", "model.hidden = [100000000]"),
        ("data.features=1000000000", "data.features = 1000000000"),
        (
            "data.num_classes=1000000000000000000",
            "data.num_classes = 1000000000000000000",
        ),
        (
            "data.test_per_class=1000000000",
            "data.test_per_class = 1000000000",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let output = rebalance(&[
            "train",
            "--config",
            "configs/quickstart.toml",
            "--out",
            out.to_str().unwrap(),
            "--set",
            set,
        ]);
        assert_one_line_error(&output, &format!("{key}: must be small enough for the"));
        assert!(stderr(&output).contains("fit in memory"));
        assert!(!out.exists(), "{set}");
    }
}

/// `rebalance compare --config configs/compare.toml ARGS...`.
fn compare_example(args: &[&str]) -> Output {
    rebalance(&[&["compare", "--config", "configs/compare.toml"], args].concat())
}

/// Item 19: the number of seeds of a sweep is bounded before anything is planned.
#[test]
fn compare_seeds_are_bounded() {
    for seeds in ["18446744073709551615", "100000000", "0"] {
        let started = Instant::now();
        let output = compare_example(&["--seeds", seeds]);
        assert_one_line_error(&output, &format!("--seeds {seeds}: must be in 1..=1000"));
        assert!(started.elapsed().as_secs() < 30);
    }
    assert_one_line_error(
        &compare_example(&["--set", "compare.seeds=5000"]),
        "compare.seeds = 5000: must be in 1..=1000",
    );
    // Seed k adds k: the last seed must still be a u64.
    assert_one_line_error(
        &compare_example(&["--set", "data.seed=18446744073709551615", "--seeds", "2"]),
        "data.seed = 18446744073709551615: must be at most 18446744073709551614 for 2 seeds",
    );
}

/// Item 20: median weights of 30 000 classes come at once.
#[test]
fn median_weights_of_many_classes_are_quick() {
    let counts: Vec<String> = (0..30_000).map(|c| (1 + c % 977).to_string()).collect();
    let counts = counts.join(",");
    let started = Instant::now();
    let output = rebalance(&[
        "weights", "--scheme", "median", "--counts", &counts, "--format", "json",
    ]);
    assert_ok(&output);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

/// Issue 27, item 2: `data --export` into the folder of the config's own CSV files is refused,
/// naming the file and the key, and leaves the input as it was.
#[test]
fn an_export_never_overwrites_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(dir.path(), GOOD, GOOD, "");
    let export = |to: &Path| {
        rebalance(&[
            "data",
            "--config",
            config.to_str().unwrap(),
            "--export",
            to.to_str().unwrap(),
        ])
    };
    assert_one_line_error(
        &export(dir.path()),
        "train.csv, the config's data.train; export into another",
    );
    assert_eq!(std::fs::read(dir.path().join("train.csv")).unwrap(), GOOD);
    // Another folder is fine.
    let elsewhere = dir.path().join("export");
    assert_ok(&export(&elsewhere));
    assert!(elsewhere.join("train.csv").exists());
}

/// Issue 27, item 11: labels that leave a class out name the labels there are and the way on.
#[test]
fn a_class_without_samples_names_the_labels_and_the_way_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = csv_config(
        dir.path(),
        b"a,label\n1,0\n2,2\n3,5\n",
        b"a,label\n1,0\n",
        "",
    );
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("num_classes = 2", "num_classes = 6");
    std::fs::write(&config, text).unwrap();
    assert_data_error(
        &config,
        "class 1 has no training samples in the source files, whose labels are 0, 2, 5 of \
         data.num_classes = 6; renumber the labels 0..3 and set data.num_classes = 3",
    );
}
