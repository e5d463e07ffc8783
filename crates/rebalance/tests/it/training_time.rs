//! A sweep's training time (`comparison.json`'s `provenance.wall_seconds`): each training
//! counted once, as the runs' `shared-training.json` record how trainings were shared.
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{assert_ok, compare, read_json, train_with};

/// The packed sweep of `config` in `packed` (its runs `runs`, the same sweep unpacked in
/// `alone`): each run records its pack, and the sweep's training time counts each pack's once;
/// a run trained again alone in place counts whole.
#[track_caller]
pub(crate) fn assert_packs_counted_once(
    config: &Path,
    packed: &Path,
    alone: &Path,
    runs: &[PathBuf],
) {
    // Each run records its pack (the runs trained alone none), and the sweep's training time
    // counts each pack's once, where each of its runs' reports counts it (cRT's second stage,
    // trained alone after the group, is the run's own).
    let total = || read_json(packed, "comparison.json")["provenance"]["wall_seconds"].as_f64();
    let wall = |run: &Path| {
        read_json(run, "report.json")["wall_seconds"]
            .as_f64()
            .unwrap()
    };
    let mut packs: Vec<(Value, f64)> = Vec::new();
    let mut own = 0.0;
    for run in runs {
        let shared = read_json(run, "shared-training.json");
        assert_eq!(shared["kind"], "pack", "{shared}");
        let own_dir = run.strip_prefix(packed).unwrap();
        let members = shared["runs"].clone();
        assert!(
            members
                .as_array()
                .unwrap()
                .iter()
                .any(|m| Path::new(m.as_str().unwrap()).ends_with(own_dir)),
            "{shared}"
        );
        let seconds = shared["training_seconds"].as_f64().unwrap();
        assert!(seconds > 0.0 && seconds <= wall(run) + 1e-9, "{shared}");
        own += wall(run) - seconds;
        if !packs.iter().any(|(m, _)| *m == members) {
            packs.push((members, seconds));
        }
        assert!(!alone.join(own_dir).join("shared-training.json").exists());
    }
    // Two packs of 6, two of 2 (see above); their times within the runs' 0.01 s.
    assert_eq!(packs.len(), 4, "{packs:?}");
    let once = own + packs.iter().map(|(_, t)| t).sum::<f64>();
    let before = total().unwrap();
    assert!((before - once).abs() < 0.05, "{before} vs {once}");
    // A run trained again alone in place is no longer a pack's: its time counts whole.
    let ce = packed.join("ce/seed-1");
    let run_config = ce.join("config.toml");
    let (ce_before, ce_pack) = (
        wall(&ce),
        read_json(&ce, "shared-training.json")["training_seconds"]
            .as_f64()
            .unwrap(),
    );
    assert_ok(&train_with(
        run_config.to_str().unwrap(),
        &ce,
        &[],
        &["--overwrite"],
    ));
    assert!(!ce.join("shared-training.json").exists());
    assert_ok(&compare(config, packed, &["--pack", "6"]));
    let after = total().unwrap();
    let expected = before - (ce_before - ce_pack) + wall(&ce);
    assert!((after - expected).abs() < 1e-6, "{after} vs {expected}");
}
