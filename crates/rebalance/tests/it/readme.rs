//! README.md's examples that are not Rust (its Rust blocks are the data crate's doc tests): the
//! "Your own CSV" section's `[data]` table loads the files it names.
use std::process::Command;

use crate::common::{assert_ok, read_json, rebalance, stdout, workspace};

/// The first ```toml block after `heading` in README.md.
fn toml_block_after(heading: &str) -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = &readme[readme.find(heading).unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

/// A directory with README's CSV example as `c.toml` and the files it names, `data/train.csv`
/// (3 samples a class) and `data/test.csv` (2).
fn csv_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for (name, per_class) in [("train.csv", 3), ("test.csv", 2)] {
        let mut csv = String::from("x0,x1,label\n");
        for class in 0..10 {
            for i in 0..per_class {
                csv += &format!("{class}.5,{i},{class}\n");
            }
        }
        std::fs::write(dir.path().join("data").join(name), csv).unwrap();
    }
    std::fs::write(
        dir.path().join("c.toml"),
        toml_block_after("## Your own CSV"),
    )
    .unwrap();
    dir
}

#[test]
fn the_csv_example_loads_its_files() {
    let dir = csv_example();
    let output = Command::new(env!("CARGO_BIN_EXE_rebalance"))
        .args(["data", "--config", "c.toml", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_ok(&output);
    // The training split kept as it is: 3 samples in every class.
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        summary["splits"]["train"]["counts"],
        serde_json::json!(vec![3; 10])
    );
    assert_eq!(
        summary["splits"]["test"]["counts"],
        serde_json::json!(vec![2; 10])
    );
}

/// A run's relative data paths (`data/train.csv`) start where `train` ran: `eval` from another
/// directory finds the files, and the recorded config keeps the paths as written.
#[test]
fn eval_from_another_directory_finds_relative_data() {
    let dir = csv_example();
    let train = Command::new(env!("CARGO_BIN_EXE_rebalance"))
        .args(["train", "--config", "c.toml", "--out", "run"])
        .args(["--set", "train.epochs=1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_ok(&train);
    let run = dir.path().join("run");
    let report = read_json(&run, "report.json");
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("train = \"data/train.csv\""), "{config}");
    // `rebalance` runs in the workspace, where there is no data/train.csv.
    assert!(!workspace().join("data/train.csv").exists());
    assert_ok(&rebalance(&["eval", "--run", run.to_str().unwrap()]));
    assert_eq!(
        read_json(&run, "report.json")["confusion"],
        report["confusion"]
    );
}
