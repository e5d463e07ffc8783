//! Test fixtures shared by the workspace's test suites (`rebalance-data`'s reader tests, the
//! `rebalance` binary's image tests).
//!
//! The files are written byte by byte from the formats' descriptions, not with code of
//! `rebalance-data`: a reader test then checks the reader against the format, not against a
//! writer that shares its mistakes. This crate is a dev-dependency only and is not published.

/// An IDX file (the MNIST format) of unsigned bytes: the magic number `0x0000_08nn` (`nn` the
/// number of dimensions), each dimension as a big-endian `u32`, then `data` as it is.
///
/// `data` is not checked against the dimensions, so that tests can write truncated files.
pub fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let rank = u8::try_from(dims.len()).expect("an IDX file has at most 255 dimensions");
    let mut bytes = vec![0, 0, 0x08, rank];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// A CIFAR-10 binary batch: for each `(label, fill)` one 3073-byte record, the label byte then
/// a 3×32×32 image whose every byte is `fill`.
///
/// Labels are not checked, so that tests can write out-of-range ones.
pub fn cifar_batch(records: &[(u8, u8)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(records.len() * 3073);
    for &(label, fill) in records {
        bytes.push(label);
        bytes.extend(std::iter::repeat_n(fill, 3 * 32 * 32));
    }
    bytes
}
