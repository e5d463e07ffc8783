//! README.md's examples that are not Rust (its Rust blocks are the data crate's doc tests): the
//! "Your own CSV" section's `[data]` table loads the files it names.
use std::process::Command;

use crate::common::{assert_ok, stdout, workspace};

/// The first ```toml block after `heading` in README.md.
fn toml_block_after(heading: &str) -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = &readme[readme.find(heading).unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

#[test]
fn the_csv_example_loads_its_files() {
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
