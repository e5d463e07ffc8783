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
