//! End-to-end: `rebalance compare` on a multi-label config: the multi-label metrics in every
//! output, `[compare] rank_by`, finished runs skipped on a re-run, shards and a merge.

use crate::common::{
    assert_ok, assert_one_line_error, assert_sweep_trained, compare, read_json, stderr,
    tiny_multi_label_compare_config,
};
use serde_json::Value;

/// The multi-label scores of `comparison.json`, `comparison.csv` and `comparison.md`.
const SCORES: [&str; 6] = [
    "macro_f1",
    "micro_f1",
    "mean_average_precision",
    "subset_accuracy",
    "hamming_loss",
    "tail_recall",
];

/// `comparison.json` without the wall-clock and checkout fields.
fn comparable(mut json: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("wall_seconds");
                map.remove("git_modified");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut json);
    json
}

#[test]
fn a_multi_label_compare_ranks_by_map_and_skips_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_multi_label_compare_config(
        dir.path(),
        &["bce", "bce-ens", "bce-tuned"],
        "[compare]\nrank_by = \"map\"",
    );
    let out = dir.path().join("cmp");
    let swept = compare(&config, &out, &[]);
    // `bce-tuned` is `bce` but for its thresholds: it evaluates `bce`'s model.
    assert_sweep_trained(
        &swept,
        "3 variants × 2 seeds = 6 runs on flex (0 finished before, 6 to train)",
        4,
        "[1/4] bce seed 1: macro-F1 0.",
    );
    let err = stderr(&swept);
    for seed in [1, 2] {
        let twin = format!("bce-tuned seed {seed}: macro-F1 0.");
        let source = format!("the model of bce seed {seed} (the same training)");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&twin) && l.contains(&source)),
            "{err}"
        );
    }

    for file in [
        "comparison.json",
        "comparison.md",
        "comparison.csv",
        "comparison.tex",
        "mean_average_precision.png",
        "mean_average_precision.svg",
        "per_label_recall.png",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // The dot plot of the ranking metric and the per-label recall heatmap.
    let dots = std::fs::read_to_string(out.join("mean_average_precision.svg")).unwrap();
    assert!(dots.contains("bce (baseline)") && dots.contains("95% CI over 2 seeds"));
    let heatmap = std::fs::read_to_string(out.join("per_label_recall.svg")).unwrap();
    assert!(heatmap.contains("test recall per label") && heatmap.contains("bce-tuned"));
    assert_eq!(
        &std::fs::read(out.join("per_label_recall_lines.png")).unwrap()[1..4],
        b"PNG"
    );
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["task"], "multi-label");
    assert_eq!(json["baseline"], "bce");
    assert_eq!(json["rank_by"], "mean_average_precision");
    assert!(json.get("shot_groups").is_none(), "{json}");
    assert_eq!(json["train_counts"].as_array().unwrap().len(), 5);
    // The rarest third of 5 labels, rounded up: 2.
    assert_eq!(json["tail_labels"].as_array().unwrap().len(), 2);
    let entries = json["variants"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_eq!(e["seeds"], serde_json::json!([1, 2]));
        for stat in ["mean", "std"] {
            for key in SCORES {
                let v = e[stat][key].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{stat}.{key} = {v}");
            }
            assert!(e[stat].get("balanced_accuracy").is_none(), "{e}");
            assert_eq!(e[stat]["per_label_recall"].as_array().unwrap().len(), 5);
            assert!(e[stat]["wall_seconds"].as_f64().unwrap() >= 0.0);
        }
        let base = entries.iter().find(|e| e["name"] == "bce").unwrap();
        let gain = e["mean"]["mean_average_precision"].as_f64().unwrap()
            - base["mean"]["mean_average_precision"].as_f64().unwrap();
        assert!((e["gain_over_baseline"].as_f64().unwrap() - gain).abs() < 1e-12);
        if e["name"] == "bce" {
            assert!(e.get("paired_difference").is_none(), "{e}");
        } else {
            let d = &e["paired_difference"];
            for key in SCORES {
                assert_eq!(d[key]["n"], 2, "{key}: {d}");
                assert_eq!(d[key]["method"], "student-t", "{key}: {d}");
            }
        }
    }
    // Ranked by mAP, best first.
    let map = |i: usize| {
        entries[i]["mean"]["mean_average_precision"]
            .as_f64()
            .unwrap()
    };
    assert!(map(0) >= map(1) && map(1) >= map(2), "{json}");
    // Tuned thresholds change the thresholds, not the scores: bce-tuned's mAP is bce's.
    let named = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap();
    assert_eq!(
        named("bce-tuned")["mean"]["mean_average_precision"],
        named("bce")["mean"]["mean_average_precision"]
    );
    assert!(
        named("bce-tuned")["loss"]
            .as_str()
            .unwrap()
            .contains("tuned thresholds"),
        "{json}"
    );

    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 7, "{csv}");
    let mut header = vec!["variant", "seed"];
    header.extend(SCORES);
    header.push("wall_seconds");
    assert_eq!(&rows[0][..9], header.as_slice(), "{csv}");
    assert!(rows.iter().all(|r| r.len() == 9 + 5), "{csv}");

    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(
        md.contains("| variant | method | mAP | Δ vs bce (95% CI) | macro-F1 | micro-F1 | subset accuracy | Hamming loss | tail recall | s / run |"),
        "{md}"
    );
    assert!(md.contains("Tail labels"), "{md}");
    let tex = std::fs::read_to_string(out.join("comparison.tex")).unwrap();
    assert!(tex.contains("difference of mAP to bce"), "{tex}");

    // Again: every run is finished, nothing trains, the same comparison.
    let again = compare(&config, &out, &[]);
    assert_ok(&again);
    let err = stderr(&again);
    assert!(err.contains("(6 finished before, 0 to train)"), "{err}");
    assert!(!err.lines().any(|l| l.starts_with('[')), "{err}");
    assert_eq!(
        comparable(read_json(&out, "comparison.json")),
        comparable(json)
    );
    // Ranked by the default, macro-F1, from the same runs: still nothing to train.
    let plain = tiny_multi_label_compare_config(dir.path(), &["bce", "bce-ens", "bce-tuned"], "");
    let by_f1 = compare(&plain, &out, &[]);
    assert_ok(&by_f1);
    assert!(stderr(&by_f1).contains("(6 finished before, 0 to train)"));
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["rank_by"], "macro_f1");
    let f1: Vec<f64> = json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["mean"]["macro_f1"].as_f64().unwrap())
        .collect();
    assert!(f1.windows(2).all(|w| w[0] >= w[1]), "{f1:?}");
    assert!(out.join("macro_f1.png").is_file());
}

#[test]
fn multi_label_shards_and_a_merge_give_the_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_multi_label_compare_config(dir.path(), &["bce", "bce-ens"], "");
    let out = dir.path().join("sharded");
    for shard in ["1/2", "2/2"] {
        let output = compare(&config, &out, &["--shard", shard]);
        assert_ok(&output);
        assert!(!out.join("comparison.json").exists());
    }
    let merged = compare(&config, &out, &["--merge"]);
    assert_ok(&merged);
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["task"], "multi-label");
    assert_eq!(json["provenance"]["runs"], 4);
    let names: Vec<&str> = json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"bce") && names.contains(&"bce-ens"));
}

#[test]
fn rank_by_must_name_a_metric_of_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_multi_label_compare_config(
        dir.path(),
        &["bce"],
        "[compare]\nrank_by = \"balanced-accuracy\"",
    );
    assert_one_line_error(
        &compare(&config, &dir.path().join("cmp"), &[]),
        "compare.rank_by = \"balanced-accuracy\": not a metric of a multi-label comparison; \
         valid: macro-f1, micro-f1, map, subset-accuracy, hamming-loss, tail-recall",
    );
    // Single-label: its own names.
    let single = crate::common::tiny_compare_config(dir.path(), &["ce"]);
    let text = std::fs::read_to_string(&single).unwrap() + "\n[compare]\nrank_by = \"map\"\n";
    std::fs::write(&single, text).unwrap();
    assert_one_line_error(
        &compare(&single, &dir.path().join("cmp"), &[]),
        "valid: accuracy, balanced-accuracy, macro-f1, g-mean, many-shot, medium-shot, few-shot",
    );
}

#[test]
fn without_a_validation_split_the_default_set_leaves_out_tuned_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("compare.toml");
    let base = crate::common::TINY_MULTI_LABEL_COMPARE_BASE
        .replace("validation_fraction = 0.2", "validation_fraction = 0.0");
    std::fs::write(&config, base).unwrap();
    let out = dir.path().join("cmp");
    let output = compare(&config, &out, &["--seeds", "1", "--only", "bce,bce-ens"]);
    assert_ok(&output);
    let err = stderr(&output);
    assert!(
        err.contains(
            "compare: default variants bce-tuned, bce-ens-tuned left out: tuned thresholds need \
             a validation split"
        ),
        "{err}"
    );
    assert!(err.contains("2 variants × 1 seeds = 2 runs"), "{err}");
    // The names of the default set, as --only sees them.
    let unknown = compare(&config, &out, &["--only", "bce-tuned"]);
    assert_one_line_error(
        &unknown,
        "--only bce-tuned: no such variant; the variants are bce, bce-ins, bce-isns, bce-ens, \
         bce-pos-balanced, sigmoid-focal, cb-focal (default variants bce-tuned, bce-ens-tuned \
         left out: tuned thresholds need a validation split",
    );
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["baseline"], "bce");
    assert_eq!(json["rank_by"], "macro_f1");
}
