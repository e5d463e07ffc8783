//! How much memory a dataset needs, and how much the machine has: a config that cannot fit is
//! refused before anything is allocated, naming the key that made it too large.

/// The memory assumed where `/proc/meminfo` cannot be read (not Linux): 64 GiB.
pub const FALLBACK_MEMORY_BYTES: u64 = 64 << 30;

/// The machine's total memory in bytes: `MemTotal` of `/proc/meminfo`, else
/// [`FALLBACK_MEMORY_BYTES`].
pub fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or(FALLBACK_MEMORY_BYTES, |kib| kib.saturating_mul(1024))
}

/// The machine's total memory where `bytes` exceed it, `None` where they fit.
pub(crate) fn exceeds_memory(bytes: u128) -> Option<u128> {
    let limit = u128::from(total_memory());
    (bytes > limit).then_some(limit)
}

/// What a key that makes the synthetic data too large must be instead (the error's
/// `expected`): the data needs `bytes`, more than the machine's `limit`.
pub(crate) fn synthetic_must_fit(bytes: u128, limit: u128) -> String {
    format!(
        "small enough for the synthetic data to fit in memory: it needs about {}, more than the \
         machine's {}",
        human_bytes(bytes),
        human_bytes(limit)
    )
}

/// `bytes` for messages: `1.5 GiB`, `12.0 MiB`, `512 bytes`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert!(total_memory() > 0);
    }
}
