//! The `rebalance` program as a library: configuration, the classifier, training on
//! burn-train with imbalance metrics, evaluation and reports. `main.rs` only parses the
//! command line and calls into here.

/// `eprintln!` that never panics: a closed or full standard error (`2>&1 | head`, a full disk
/// behind `2>log`) must not stop a run or a sweep. Its messages are lost; its work is not.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod bench;
pub mod commands;
pub mod compare;
pub mod reporting;
pub mod run;
pub mod task;
