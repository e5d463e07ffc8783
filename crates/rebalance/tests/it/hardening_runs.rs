//! Regression tests of issue 27 (nothing lost, round three): adjustments that would make every
//! score NaN are refused, with one line, before anything is written.
use std::path::Path;

use crate::common::{assert_ok, assert_one_line_error, read_json, rebalance};
use crate::runs::train;

fn eval_with(run: &Path, flags: &[&str]) -> std::process::Output {
    let mut args = vec!["eval", "--run", run.to_str().unwrap()];
    args.extend_from_slice(flags);
    rebalance(&args)
}

#[test]
fn adjustments_that_overflow_are_refused_before_anything_is_written() {
    // A post-hoc τ whose shift overflows f32: refused before the run directory is touched.
    let dir = tempfile::tempdir().unwrap();
    let never = dir.path().join("never");
    assert_one_line_error(
        &train(&never, &["--set", "eval.posthoc_tau=1e300"]),
        "eval.posthoc_tau = 1e300: the shift τ · log π of class 0",
    );
    assert!(!never.exists());

    // eval's adjustments of a finished run: refused, its report left as it was.
    let run = dir.path().join("run");
    assert_ok(&train(&run, &[]));
    let report = read_json(&run, "report.json");
    assert_one_line_error(
        &eval_with(&run, &["--posthoc-tau", "1e300"]),
        "--posthoc-tau 1e300: the shift τ · log π of class 0",
    );
    assert_one_line_error(
        &eval_with(&run, &["--tau-norm", "1e9"]),
        "--tau-norm 1e9: the normalised class weights are not finite",
    );
    assert_eq!(read_json(&run, "report.json"), report);
    assert!(!run.join("report-posthoc.json").exists());
}
