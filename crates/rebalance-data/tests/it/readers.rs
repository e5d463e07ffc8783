//! The CSV, IDX and CIFAR-10 readers on small files written by the tests, and their errors.
use std::fmt::{Debug, Display};
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use rebalance_data::{LabelMap, read_cifar10, read_csv_pair, read_idx};
use rebalance_testing::{cifar_batch, idx};

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// The error of reading `train` and `test` as a CSV pair with the label column `label`.
fn csv_error(train: &Path, test: &Path) -> String {
    read_csv_pair(train, test, "label").unwrap_err().to_string()
}

/// `content` written to `dir/bad.csv`; its path.
fn write_bad(dir: &Path, content: &[u8]) -> PathBuf {
    let bad = dir.join("bad.csv");
    write(&bad, content);
    bad
}

/// The reader's error `err` is `file`'s path, then `expected`.
#[track_caller]
fn assert_names_file(err: String, file: &Path, expected: &str) {
    assert_eq!(err, format!("{}: {expected}", file.display()));
}

/// Once `file` holds `bytes`, `read` refuses the folder `dir` with a message that starts with
/// `file`'s path; the rest of the message.
#[track_caller]
fn refusal<T: Debug, E: Display>(
    read: fn(&Path) -> Result<T, E>,
    dir: &Path,
    file: &Path,
    bytes: &[u8],
) -> String {
    write(file, bytes);
    let err = read(dir).unwrap_err().to_string();
    let path = format!("{}: ", file.display());
    match err.strip_prefix(&path) {
        Some(rest) => rest.to_string(),
        None => panic!("{err:?} does not start with {path:?}"),
    }
}

/// A temporary folder holding a readable `good.csv`, to read bad CSV files against.
struct BesideGood {
    dir: tempfile::TempDir,
    good: PathBuf,
}

impl BesideGood {
    /// A new folder whose `good.csv` holds `content`.
    fn new(content: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.csv");
        write(&good, content);
        Self { dir, good }
    }

    /// The path of `name` in the folder.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `content`, read as the training file with `good.csv` as the test file, is refused with
    /// its path and then `expected`; the bad file's path.
    #[track_caller]
    fn assert_refused_as_train(&self, content: &[u8], expected: &str) -> PathBuf {
        let bad = write_bad(self.dir.path(), content);
        assert_names_file(csv_error(&bad, &self.good), &bad, expected);
        bad
    }

    /// As [`Self::assert_refused_as_train`], and as the test file beside `good.csv` too.
    #[track_caller]
    fn assert_refused_either_way(&self, content: &[u8], expected: &str) {
        let bad = self.assert_refused_as_train(content, expected);
        assert_names_file(csv_error(&self.good, &bad), &bad, expected);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn csv_with_integer_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write(&train, b"a,label,b\n1.5,0,2\n-1,2,0.25\n3,1,4\n");
    write(&test, b"a,label,b\n0,1,0\n");
    let (tr, te, map) = read_csv_pair(&train, &test, "label").unwrap();
    assert_eq!(map, LabelMap::Integer);
    assert_eq!(tr.feature_names, ["a", "b"]);
    assert_eq!(tr.samples.features(), &[1.5, 2.0, -1.0, 0.25, 3.0, 4.0]);
    assert_eq!(tr.samples.labels(), &[0, 2, 1]);
    assert_eq!(te.samples.labels(), &[1]);
}

#[test]
fn csv_with_string_labels_maps_them_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write(
        &train,
        b"x,species\n1,setosa\n2,virginica\n3,versicolor\n4,setosa\n",
    );
    write(&test, b"x,species\n5,virginica\n");
    let (tr, te, map) = read_csv_pair(&train, &test, "species").unwrap();
    assert_eq!(
        map,
        LabelMap::Names(vec![
            "setosa".into(),
            "versicolor".into(),
            "virginica".into()
        ])
    );
    assert_eq!(tr.samples.labels(), &[0, 2, 1, 0]);
    assert_eq!(te.samples.labels(), &[2]);
    assert_eq!(map.class_names(3), ["setosa", "versicolor", "virginica"]);
}

#[test]
fn csv_errors_name_file_line_and_value() {
    let csv = BesideGood::new(b"a,label\n1,0\n");
    let check = |content: &[u8], expected: &str| {
        csv.assert_refused_as_train(content, expected);
    };
    check(
        b"a,label\n1,0\n2,1,9\n",
        "line 3: a row of 3 fields where the header has 2",
    );
    check(
        b"a,label\n1,0\nabc,1\n",
        "line 3: feature \"a\" is \"abc\", not a number",
    );
    check(
        b"a,class\n1,0\n",
        "line 1: no label column \"label\"; the columns are a, class",
    );
    // Issue 27, item 10: bytes that are not UTF-8, and an empty file, said plainly.
    check(
        b"a,lab\xe9l\n1,0\n",
        "line 1: field 2 is not UTF-8 text (its bytes from 3 on are not); save the file as UTF-8",
    );
    check(
        b"",
        "the file is empty; a CSV file starts with a header row of column names",
    );

    let missing = csv.path("missing.csv");
    let err = csv_error(&missing, &csv.good);
    assert!(
        err.starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );

    let train = csv.path("named.csv");
    let test = csv.path("named_test.csv");
    write(&train, b"a,label\n1,cat\n");
    write(&test, b"a,label\n1,cat\n2,dog\n");
    let err = csv_error(&train, &test);
    assert_names_file(
        err,
        &test,
        "line 3: label \"dog\" does not occur in the training file",
    );
}

#[test]
fn idx_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<u8> = (0..3 * 2 * 2).map(|i| (i * 20) as u8).collect();
    write(
        &dir.path().join("train-images-idx3-ubyte"),
        &idx(&[3, 2, 2], &images),
    );
    write(
        &dir.path().join("train-labels-idx1-ubyte"),
        &idx(&[3], &[7, 0, 7]),
    );
    // The test split gzipped.
    write(
        &dir.path().join("t10k-images-idx3-ubyte.gz"),
        &gzip(&idx(&[1, 2, 2], &[255, 0, 0, 255])),
    );
    write(
        &dir.path().join("t10k-labels-idx1-ubyte.gz"),
        &gzip(&idx(&[1], &[3])),
    );
    let (train, test, shape) = read_idx(dir.path()).unwrap();
    assert_eq!(shape, [1, 2, 2]);
    assert_eq!(train.len(), 3);
    assert_eq!(train.labels(), &[7, 0, 7]);
    assert_eq!(
        train.row(1),
        &[80.0 / 255.0, 100.0 / 255.0, 120.0 / 255.0, 140.0 / 255.0]
    );
    assert_eq!(test.row(0), &[1.0, 0.0, 0.0, 1.0]);
    assert_eq!(test.labels(), &[3]);
}

#[test]
fn idx_errors() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("train-images-idx3-ubyte");
    write(
        &dir.path().join("train-labels-idx1-ubyte"),
        &idx(&[1], &[0]),
    );

    let mut wrong_magic = idx(&[1, 2, 2], &[0; 4]);
    wrong_magic[2] = 0x0D;
    assert_eq!(
        refusal(read_idx, dir.path(), &images, &wrong_magic),
        "magic number 0x00000d03, expected 0x00000803 (unsigned bytes, 3 dimensions)"
    );

    assert_eq!(
        refusal(read_idx, dir.path(), &images, &idx(&[1, 2, 2], &[0; 3])),
        "truncated or oversized: dimensions [1, 2, 2] need 4 bytes of data, found 3"
    );

    std::fs::remove_file(&images).unwrap();
    let err = read_idx(dir.path()).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: ", images.display())), "{err}");
}

#[test]
fn cifar10_batches() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&nested).unwrap();
    for b in 1..=5u8 {
        write(
            &nested.join(format!("data_batch_{b}.bin")),
            &cifar_batch(&[(b, 51 * b), (0, 0)]),
        );
    }
    write(&nested.join("test_batch.bin"), &cifar_batch(&[(9, 255)]));
    let (train, test, shape) = read_cifar10(dir.path()).unwrap();
    assert_eq!(shape, [3, 32, 32]);
    assert_eq!(train.len(), 10);
    assert_eq!(train.labels(), &[1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
    assert_eq!(train.row(0)[0], 51.0 / 255.0);
    assert_eq!(test.labels(), &[9]);
    assert!(test.row(0).iter().all(|&v| v == 1.0));

    // A truncated batch names its record.
    let mut truncated = cifar_batch(&[(1, 1), (2, 2)]);
    truncated.truncate(3073 + 100);
    let file = nested.join("data_batch_3.bin");
    assert_eq!(
        refusal(read_cifar10, dir.path(), &file, &truncated),
        "record 1: truncated: 3173 bytes is not a whole number of 3073-byte records"
    );
    assert_eq!(
        refusal(read_cifar10, dir.path(), &file, &cifar_batch(&[(12, 0)])),
        "record 0: label 12, expected 0..10"
    );
}

#[test]
fn csv_values_headers_and_labels_that_would_mislead_training_are_errors() {
    let csv = BesideGood::new(b"a,b,label\n1,2,0\n");
    let check = |content: &[u8], expected: &str| csv.assert_refused_either_way(content, expected);
    for value in ["NaN", "inf", "-inf", "1e39"] {
        check(
            format!("a,b,label\n1,2,0\n3,{value},1\n").as_bytes(),
            &format!(
                "line 3, column 2: feature \"b\" is \"{value}\", not a finite number within \
                 f32's range (±3.4028235e38)"
            ),
        );
    }
    check(
        b"a,label,label\n1,0,0\n",
        "line 1, column 3: column \"label\" appears twice (also column 2); column names must differ",
    );
    check(
        b"label\n0\n",
        "line 1: no feature column beside the label column \"label\"",
    );
    check(
        b"a,b,label\n",
        "no samples: the file has a header and no rows",
    );
    check(
        b"a,b,label\n1,2,0\n1,2,\n",
        "line 3, column 3: the label (\"label\") is empty",
    );
    // `0.0` among integer labels: not a fourth class name, a value to point at.
    let bad = csv.path("float_label.csv");
    write(&bad, b"a,b,label\n1,2,1\n1,2,0.0\n");
    let err = csv_error(&csv.good, &bad);
    assert_eq!(
        err,
        format!(
            "{}: line 3: label \"0.0\" is not a non-negative integer, as other labels are \
             (\"0\" at {}, line 2); class labels are all integers 0, 1, ... or all names",
            bad.display(),
            csv.good.display()
        )
    );
    // A binary file: its bytes are quoted escaped, never raw.
    let bad = csv.path("binary.csv");
    write(&bad, b"\x01\x02\x1b[2J,x\n1,2\n");
    let err = csv_error(&bad, &csv.good);
    assert!(err.contains("\\u{1}\\u{2}\\u{1b}[2J"), "{err}");
    assert!(!err.chars().any(char::is_control), "{err:?}");
}

#[test]
fn empty_and_mismatched_image_splits_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    write(&path("train-images-idx3-ubyte"), &idx(&[1, 4, 4], &[0; 16]));
    write(&path("train-labels-idx1-ubyte"), &idx(&[1], &[0]));
    write(&path("t10k-images-idx3-ubyte"), &idx(&[1, 2, 2], &[0; 4]));
    write(&path("t10k-labels-idx1-ubyte"), &idx(&[1], &[0]));
    let err = read_idx(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: images of 2×2 pixels, but the training images ({}) are 4×4; both splits must \
             have one size",
            path("t10k-images-idx3-ubyte").display(),
            path("train-images-idx3-ubyte").display()
        )
    );
    write(&path("t10k-labels-idx1-ubyte"), &idx(&[0], &[]));
    let images = path("t10k-images-idx3-ubyte");
    assert_eq!(
        refusal(read_idx, dir.path(), &images, &idx(&[0, 4, 4], &[])),
        "no samples: the file holds 0 images"
    );

    for b in 1..=5u8 {
        write(
            &path(&format!("data_batch_{b}.bin")),
            &cifar_batch(&[(b, 1)]),
        );
    }
    assert_eq!(
        refusal(read_cifar10, dir.path(), &path("test_batch.bin"), b""),
        "no samples: the file is empty (a batch holds 3073-byte records)"
    );
}

#[test]
fn idx_dimensions_beyond_memory_are_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("train-images-idx3-ubyte");
    let dimensions = idx(&[u32::MAX, u32::MAX, u32::MAX], &[]);
    assert_eq!(
        refusal(read_idx, dir.path(), &images, &dimensions),
        "dimensions [4294967295, 4294967295, 4294967295] describe more bytes than memory can \
         address"
    );
}
