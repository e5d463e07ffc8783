//! MNIST-style IDX files and CIFAR-10 binary batches.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::{DataError, Samples};

/// Reads a whole file, gunzipping it when its name ends in `.gz`.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::new();
    let result = if path.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(file).read_to_end(&mut bytes)
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes)
    };
    result.map_err(|e| DataError::io(path, e))?;
    Ok(bytes)
}

/// `dir/name`, or `dir/name.gz` when only that exists.
fn locate(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if !plain.exists() && gz.exists() {
        gz
    } else {
        plain
    }
}

/// The dimensions and payload of an IDX file of unsigned bytes.
fn parse_idx(path: &Path, bytes: &[u8], rank: u8) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    if bytes.len() < 4 {
        return Err(DataError::format(
            path,
            "",
            format!("{} bytes, too short for an IDX header", bytes.len()),
        ));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let expected = 0x0000_0800 | u32::from(rank);
    if magic != expected {
        return Err(DataError::format(
            path,
            "",
            format!(
                "magic number 0x{magic:08x}, expected 0x{expected:08x} (unsigned bytes, {rank} dimensions)"
            ),
        ));
    }
    let header = 4 + 4 * usize::from(rank);
    if bytes.len() < header {
        return Err(DataError::format(
            path,
            "",
            format!("truncated header: {} bytes", bytes.len()),
        ));
    }
    let dims: Vec<usize> = (0..usize::from(rank))
        .map(|d| {
            let o = 4 + 4 * d;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let Some(size) = dims.iter().try_fold(1usize, |size, &d| size.checked_mul(d)) else {
        return Err(DataError::format(
            path,
            "",
            format!("dimensions {dims:?} describe more bytes than memory can address"),
        ));
    };
    let payload = &bytes[header..];
    if payload.len() != size {
        return Err(DataError::format(
            path,
            "",
            format!(
                "truncated or oversized: dimensions {dims:?} need {size} bytes of data, found {}",
                payload.len()
            ),
        ));
    }
    Ok((dims, payload.to_vec()))
}

/// Reads one IDX split (`{prefix}-images-idx3-ubyte[.gz]`, `{prefix}-labels-idx1-ubyte[.gz]`),
/// pixels scaled to `[0, 1]`; returns the samples and the image shape `[1, rows, cols]`.
fn read_idx_split(dir: &Path, prefix: &str) -> Result<(Samples, Vec<usize>), DataError> {
    let images_path = locate(dir, &format!("{prefix}-images-idx3-ubyte"));
    let labels_path = locate(dir, &format!("{prefix}-labels-idx1-ubyte"));
    let (dims, pixels) = parse_idx(&images_path, &read_maybe_gz(&images_path)?, 3)?;
    let (label_dims, labels) = parse_idx(&labels_path, &read_maybe_gz(&labels_path)?, 1)?;
    if label_dims[0] != dims[0] {
        return Err(DataError::format(
            &labels_path,
            "",
            format!(
                "{} labels for {} images in {}",
                label_dims[0],
                dims[0],
                images_path.display()
            ),
        ));
    }
    if dims[0] == 0 {
        return Err(DataError::format(
            &images_path,
            "",
            "no samples: the file holds 0 images",
        ));
    }
    if dims[1] == 0 || dims[2] == 0 {
        return Err(DataError::format(
            &images_path,
            "",
            format!(
                "images of {}×{} pixels; both sides must be >= 1",
                dims[1], dims[2]
            ),
        ));
    }
    let features = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let labels = labels.iter().map(|&l| usize::from(l)).collect();
    let samples = Samples::new(features, labels, dims[1] * dims[2])?;
    Ok((samples, vec![1, dims[1], dims[2]]))
}

/// MNIST or Fashion-MNIST from `dir`: `train-*` and `t10k-*` IDX files, optionally gzipped.
/// Nothing is downloaded. Returns the training split, the test split and the image shape.
///
/// # Errors
/// A missing file, a wrong magic number, a truncated file, image and label counts that differ,
/// a file of no images, test images of another size than the training images.
pub fn read_idx(dir: &Path) -> Result<(Samples, Samples, Vec<usize>), DataError> {
    let (train, shape) = read_idx_split(dir, "train")?;
    let (test, test_shape) = read_idx_split(dir, "t10k")?;
    if test_shape != shape {
        let side = |s: &[usize]| format!("{}×{}", s[1], s[2]);
        return Err(DataError::format(
            locate(dir, "t10k-images-idx3-ubyte"),
            "",
            format!(
                "images of {} pixels, but the training images ({}) are {}; both splits must \
                 have one size",
                side(&test_shape),
                locate(dir, "train-images-idx3-ubyte").display(),
                side(&shape)
            ),
        ));
    }
    Ok((train, test, shape))
}

const CIFAR_IMAGE: usize = 3 * 32 * 32;

fn read_cifar_file(path: &Path, into: &mut Samples) -> Result<(), DataError> {
    let bytes = read_maybe_gz(path)?;
    if bytes.is_empty() {
        return Err(DataError::format(
            path,
            "",
            "no samples: the file is empty (a batch holds 3073-byte records)",
        ));
    }
    if bytes.len() % (CIFAR_IMAGE + 1) != 0 {
        return Err(DataError::format(
            path,
            format!("record {}: ", bytes.len() / (CIFAR_IMAGE + 1)),
            format!(
                "truncated: {} bytes is not a whole number of 3073-byte records",
                bytes.len()
            ),
        ));
    }
    for (record, chunk) in bytes.chunks_exact(CIFAR_IMAGE + 1).enumerate() {
        let label = usize::from(chunk[0]);
        if label >= 10 {
            return Err(DataError::format(
                path,
                format!("record {record}: "),
                format!("label {label}, expected 0..10"),
            ));
        }
        into.labels.push(label);
        into.features
            .extend(chunk[1..].iter().map(|&p| f32::from(p) / 255.0));
    }
    Ok(())
}

/// CIFAR-10 in its binary form from `dir` (or `dir/cifar-10-batches-bin`): `data_batch_1.bin`
/// to `data_batch_5.bin` and `test_batch.bin`, images `[3, 32, 32]` scaled to `[0, 1]`.
/// Nothing is downloaded.
///
/// # Errors
/// A missing or empty file, a truncated record, a label outside `0..10`.
pub fn read_cifar10(dir: &Path) -> Result<(Samples, Samples, Vec<usize>), DataError> {
    let nested = dir.join("cifar-10-batches-bin");
    let dir = if !dir.join("test_batch.bin").exists() && nested.exists() {
        nested
    } else {
        dir.to_path_buf()
    };
    let mut train = Samples {
        features: Vec::new(),
        labels: Vec::new(),
        dim: CIFAR_IMAGE,
    };
    for batch in 1..=5 {
        read_cifar_file(
            &locate(&dir, &format!("data_batch_{batch}.bin")),
            &mut train,
        )?;
    }
    let mut test = Samples {
        features: Vec::new(),
        labels: Vec::new(),
        dim: CIFAR_IMAGE,
    };
    read_cifar_file(&locate(&dir, "test_batch.bin"), &mut test)?;
    Ok((train, test, vec![3, 32, 32]))
}
