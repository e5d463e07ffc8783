//! Multi-label CSV files in both layouts, and their errors.
use super::*;

#[test]
fn csv_with_one_column_per_label() {
    let f = files(
        "id_x,toxic,y,obscene,insult\n1,1,2,0,1\n3,0,4,0,0\n5,1,6,1,0\n",
        "id_x,toxic,y,obscene,insult\n7,0,8,1,1\n",
    );
    let data = csv(&f.train, &f.test, columns(&["toxic", "obscene", "insult"]))
        .read()
        .unwrap();
    // The labels keep the order given; every other column is a feature.
    assert_eq!(data.class_names, ["toxic", "obscene", "insult"]);
    assert_eq!(data.num_classes, 3);
    assert_eq!(data.feature_shape, [2]);
    assert_eq!(data.train.features(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(data.train.label_sets(), &[vec![0, 2], vec![], vec![0, 1]]);
    assert_eq!(data.test.label_sets(), &[vec![1, 2]]);
    assert_eq!(data.train.label_counts(3), [2, 1, 1]);
    assert!(data.validation.is_none());
}

#[test]
fn csv_with_a_label_list_sorts_the_names() {
    let f = files(
        "a,tags,b\n1,sport|news,2\n3,,4\n5, weather | sport |sport,6\n",
        "a,tags,b\n7,news,8\n9,,10\n",
    );
    let data = csv(&f.train, &f.test, list("tags", "|")).read().unwrap();
    assert_eq!(data.class_names, ["news", "sport", "weather"]);
    // Names are trimmed, a repeated name counts once, an empty field is no label.
    assert_eq!(data.train.label_sets(), &[vec![0, 1], vec![], vec![1, 2]]);
    assert_eq!(data.test.label_sets(), &[vec![0], vec![]]);
    assert_eq!(data.train.features(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // A separator of several characters.
    let f = files("x,tags\n1,a;;b\n2,b\n", "x,tags\n3,a\n");
    let data = csv(&f.train, &f.test, list("tags", ";;")).read().unwrap();
    assert_eq!(data.class_names, ["a", "b"]);
    assert_eq!(data.train.label_counts(2), [1, 2]);
}

/// The error of reading the files `train` and `test` (written by [`files`], which are
/// returned beside it) with `layout`.
fn read_error(train: &str, test: &str, layout: LabelLayout) -> (String, Files) {
    let f = files(train, test);
    let err = csv(&f.train, &f.test, layout)
        .read()
        .unwrap_err()
        .to_string();
    (err, f)
}

/// The error of reading `train` (with a good test file) as one line: the file's path, then
/// `expected`.
fn train_error(train: &str, layout: LabelLayout, expected: &str) {
    let header = train.lines().next().unwrap();
    // The test file is read second: an error here is the training file's.
    let (err, f) = read_error(train, &format!("{header}\n"), layout);
    assert!(!err.contains('\n'), "{err}");
    assert_eq!(err, format!("{}: {expected}", f.train.display()));
}

#[test]
fn a_label_column_holds_0_or_1() {
    let layout = || columns(&["toxic", "obscene"]);
    train_error(
        "x,toxic,obscene\n1,0,1\n2,2,0\n",
        layout(),
        "line 3, column 2: label \"toxic\" is \"2\"; a label column holds 0 or 1",
    );
    train_error(
        "x,toxic,obscene\n1,0,yes\n",
        layout(),
        "line 2, column 3: label \"obscene\" is \"yes\"; a label column holds 0 or 1",
    );
    train_error(
        "x,toxic,obscene\n1,0,\n",
        layout(),
        "line 2, column 3: label \"obscene\" is \"\"; a label column holds 0 or 1",
    );
}

#[test]
fn an_unknown_column_lists_the_columns() {
    train_error(
        "x,toxic\n1,0\n",
        columns(&["toxic", "threat"]),
        "line 1: no label column \"threat\"; the columns are x, toxic",
    );
    train_error(
        "x,labels\n1,a\n",
        list("tags", "|"),
        "line 1: no label column \"tags\"; the columns are x, labels",
    );
    train_error(
        "toxic,threat\n1,0\n",
        columns(&["toxic", "threat"]),
        "line 1: no feature column beside the label columns",
    );
}

#[test]
fn a_label_list_with_an_empty_name() {
    for (field, shown) in [("a||b", "a||b"), ("a|", "a|"), ("|a", "|a"), (" | ", "|")] {
        train_error(
            &format!("x,tags\n1,a\n2,{field}\n"),
            list("tags", "|"),
            &format!(
                "line 3, column 2: label list {shown:?} (column \"tags\") has an empty name; \
                 names are separated by \"|\", an empty field means no label"
            ),
        );
    }
    assert_eq!(
        read_error("x,tags\n1,a\n", "x,tags\n1,a\n", list("tags", "")).0,
        "label_separator = \"\": must be a non-empty string, such as \"|\""
    );
}

#[test]
fn non_finite_and_non_numeric_features() {
    for (value, shown) in [("inf", "inf"), ("NaN", "NaN"), ("1e39", "1e39")] {
        train_error(
            &format!("x,toxic\n1,0\n{value},1\n"),
            columns(&["toxic"]),
            &format!(
                "line 3, column 1: feature \"x\" is {shown:?}, not a finite number within \
                 f32's range (±3.4028235e38)"
            ),
        );
    }
    train_error(
        "x,tags\nabc,a\n",
        list("tags", "|"),
        "line 2: feature \"x\" is \"abc\", not a number",
    );
    train_error(
        "x,tags\n1,a,3\n",
        list("tags", "|"),
        "line 2: a row of 3 fields where the header has 2",
    );
    train_error(
        "x,tags\n",
        list("tags", "|"),
        "no samples: the file has a header and no rows",
    );
}

#[test]
fn the_test_file_must_match_the_training_file() {
    let (err, f) = read_error("x,tags\n1,a\n", "x,tags\n2,b\n", list("tags", "|"));
    assert_eq!(
        err,
        format!(
            "{}: line 2: label \"b\" does not occur in the training file {}",
            f.test.display(),
            f.train.display()
        )
    );
    let (err, f) = read_error("x,tags\n1,a\n", "z,tags\n2,a\n", list("tags", "|"));
    assert_eq!(
        err,
        format!(
            "{}: line 1: feature columns [\"z\"] differ from the training file's [\"x\"]",
            f.test.display()
        )
    );
}

#[test]
fn a_label_without_a_training_positive_names_the_policies() {
    let f = files("x,toxic,threat\n1,1,0\n2,0,0\n", "x,toxic,threat\n3,0,1\n");
    let reader = csv(&f.train, &f.test, columns(&["toxic", "threat"]));
    let err = reader.read().unwrap_err();
    assert!(matches!(&err, DataError::EmptyLabel { label, .. } if label == "threat"));
    assert_eq!(
        err.to_string(),
        format!(
            "label \"threat\" has no positive training sample in {}, so its weight is \
             undefined; remove the label, or choose the zero-count policy \"zero-weight\" \
             (the label weighs 0) or \"add-one\" (every label's count taken as n + 1)",
            f.train.display()
        )
    );
    // Either policy named accepts it.
    for zero_count in [ZeroCountPolicy::ZeroWeight, ZeroCountPolicy::AddOne] {
        let data = MultiLabelCsv {
            zero_count,
            ..reader.clone()
        }
        .read()
        .unwrap();
        assert_eq!(data.train.label_counts(2), [1, 0]);
        assert_eq!(data.train_label_counts(zero_count).unwrap(), [1, 0]);
    }
    // The same check on the data itself.
    let data = MultiLabelCsv {
        zero_count: ZeroCountPolicy::ZeroWeight,
        ..reader
    }
    .read()
    .unwrap();
    assert_eq!(
        data.train_label_counts(ZeroCountPolicy::Error)
            .unwrap_err()
            .to_string(),
        "label \"threat\" has no positive training sample, so its weight is undefined; remove \
         the label, or choose the zero-count policy \"zero-weight\" (the label weighs 0) or \
         \"add-one\" (every label's count taken as n + 1)"
    );
    // A label list names only labels that occur, so only an empty file of labels fails.
    let (err, f) = read_error("x,tags\n1,\n", "x,tags\n2,\n", list("tags", "|"));
    assert_eq!(
        err,
        format!(
            "{}: no row names a label; a multi-label file needs at least one",
            f.train.display()
        )
    );
}
