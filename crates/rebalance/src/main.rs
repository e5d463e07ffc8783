//! `rebalance`: parse the command line, run, and turn any error into one line and exit 1.

/// mimalloc instead of glibc's malloc: flex allocates a new buffer per tensor operation, and
/// glibc serves buffers above 128 KiB (a batch of 1024 × 128 activations is 512 KiB) with a
/// fresh `mmap` each, paid in page faults. Measured with `rebalance bench`: 1.7–2.1× the
/// training throughput at batch 1024, 1.2× at 256–512, the same at 128 (docs/performance.md, "The allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = rebalance::commands::parse();
    if let Err(error) = rebalance::commands::run(cli) {
        rebalance::say!("error: {}", rebalance::commands::one_line(&error));
        std::process::exit(1);
    }
}
