"""Tables as users have them: columns chosen before cells are parsed, text labels, text
columns one-hot encoded (on request or detected), missing cells refused, imputed or dropped,
and the same encoding applied by ``jaxlin predict``."""

import csv
import re

import numpy as np
import pytest

import jaxlin
from jaxlin import cli, model_io, tables


def _write(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


@pytest.fixture
def shop(tmp_path):
    """300 rows: an id, a number with missing cells, a text colour, a text label."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300):
        age, colour = int(rng.integers(18, 80)), str(rng.choice(["red", "green", "blue"]))
        income = "" if i % 37 == 0 else f"{rng.normal(50, 10):.2f}"
        label = "yes" if (age > 45) != (colour == "red") else "no"
        rows.append([i, age, income, colour, label])
    return _write(tmp_path / "shop.csv", ["id", "age", "income", "colour", "label"], rows)


def test_text_labels_and_a_detected_text_column(shop, capsys):
    t = tables.load_labelled(shop, "label", ["id"], impute="mean")
    assert t.class_names == ["no", "yes"]
    assert t.feature_names == ["age", "income", "colour=blue", "colour=green", "colour=red"]
    assert any("column 'colour' is text: one-hot encoded as 3 columns" in n for n in t.notices)
    onehot = t.X[:, 2:]
    assert np.all(onehot.sum(axis=1) == 1)  # one category per row


def test_a_text_column_of_distinct_values_is_said_to_look_like_an_identifier(tmp_path, shop):
    rows = [[f"cust{i:04d}", i % 7, "yes" if i % 3 else "no"] for i in range(40)]
    path = _write(tmp_path / "ids.csv", ["customer", "x", "label"], rows)
    t = tables.load_labelled(path, "label")
    said = [n for n in t.notices if "'customer'" in n]
    assert said and "values are all different, like an identifier's" in said[0]
    assert "--drop customer" in said[0]
    colour = [n for n in tables.load_labelled(shop, "label", ["id"], impute="mean").notices]
    assert not any("identifier" in n for n in colour)  # three colours seen many times


def test_mixed_text_and_numbers_and_missing_cells_name_the_fix(tmp_path, shop):
    mixed = _write(tmp_path / "mixed.csv", ["a", "b", "y"], [[1, 2, 0], [3, "abc", 1]])
    with pytest.raises(
        ValueError,
        match=r"non-numeric value 'abc' at row 3, column 2 \('b'\); "
        "pass --categorical b",
    ):
        tables.load_labelled(mixed)
    with pytest.raises(
        ValueError,
        match=r"missing value \(an empty cell\) at row 2, column 3 "
        r"\('income'\); pass --impute mean",
    ):
        tables.load_labelled(shop, "label", ["id"])
    with pytest.raises(ValueError, match="--categorical: no column 'nope'"):
        tables.load_labelled(shop, "label", categorical=["nope"])
    t = tables.load_labelled(mixed, categorical=["b"])
    assert t.feature_names == ["a", "b=2", "b=abc"]


def test_impute_mean_uses_the_training_rows_only(shop):
    t = tables.load_labelled(shop, "label", ["id"], impute="mean")
    split = tables.training_split(t.X, t.y, seed=0)
    raw = t.X[np.isin(np.arange(len(t.y)), _train_rows(len(t.y)))]
    np.testing.assert_allclose(split.fill[1], np.nanmean(raw[:, 1]))
    assert not np.isnan(split.X_train).any() and not np.isnan(split.X_test).any()


def _train_rows(n):
    from jaxlin import data

    return data.shuffled_rows(n, seed=0)[: int(round(2 / 3 * n))]


def test_drop_rows_and_feature_selection(shop):
    t = tables.load_labelled(shop, "label", impute="drop-rows", features=["age", "income"])
    assert t.feature_names == ["age", "income"] and len(t.y) == 300 - 9  # rows 0, 37, …, 296
    assert any("dropped 9 of 300 rows" in n for n in t.notices)


def test_train_and_predict_apply_the_same_encoding(tmp_path, shop, capsys):
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "train",
                "--data",
                shop,
                "--target",
                "label",
                "--drop",
                "id",
                "--impute",
                "mean",
                "--save",
                model,
                "--quiet",
            ]
        )
        == 0
    )
    m = model_io.load(model)
    assert m.class_names == ["no", "yes"] and m.encoding is not None
    new = _write(
        tmp_path / "new.csv",
        ["id", "colour", "age", "income", "extra"],
        [[1, "red", 30, "", "x"], [2, "purple", 60, 40, "y"], [3, "blue", 60, 55, "z"]],
    )
    assert cli.main(["predict", "--model", model, "--data", new]) == 0
    out = capsys.readouterr()
    rows = out.out.splitlines()
    assert rows[0] == "row,prediction,p_no,p_yes" and len(rows) == 4
    assert {r.split(",")[1] for r in rows[1:]} <= {"no", "yes"}
    assert "unseen in training" in out.err and "ignoring 2 column(s)" in out.err
    # the prediction equals the model applied to the encoding done by hand
    enc = tables.Encoding.from_json(m.encoding)
    x = np.array([[30, enc.fill[1], 0, 0, 1]])  # age, income (filled), blue, green, red
    assert rows[1].split(",")[1] == m.class_names[int(m.predict_codes(x)[0])] == m.predict(x)[0]


def test_predict_takes_drop_and_bundled_names(tmp_path, capsys):
    model = str(tmp_path / "k.npz")
    assert cli.main(["train", "--save", model, "--quiet"]) == 0
    assert cli.main(["predict", "--model", model, "--data", "kidcreative"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 674
    from jaxlin import datasets

    d = datasets.load("kidcreative")
    with_id = _write(
        tmp_path / "k.csv",
        ["Obs No."] + d.feature_names,
        [[i, *row] for i, row in enumerate(d.X[:5])],
    )
    assert cli.main(["predict", "--model", model, "--data", with_id, "--drop", "Obs No."]) == 0
    assert "dropping Obs No." in capsys.readouterr().err


def test_fit_takes_text_labels_and_predicts_them():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = np.array(["cat", "dog", "emu"])[np.argmax(X, axis=1)]
    r = jaxlin.fit(X, y, "softmax_cross_entropy", optimizer="lbfgs", l2=1e-3)
    assert list(r.classes) == ["cat", "dog", "emu"]
    assert np.mean(r.predict(X) == y) > 0.95
    with pytest.raises(ValueError, match="y_val: label 'fox' is not among the training classes"):
        jaxlin.fit(X, y, "softmax_cross_entropy", validation_data=(X[:2], ["cat", "fox"]))


@pytest.mark.parametrize(
    "source,options,message",
    [
        ("kidcreative", ["--target", "Buy"], r"--target: applies to CSV files, not to the bundled"),
        (
            "a.svm",
            ["--categorical", "f1"],
            r"--categorical: applies to CSV files, not to an svmlight",
        ),
        ("a.svm", ["--target", "y", "--impute", "mean"], r"--target/--impute: apply to CSV files"),
        ("a.npy", ["--features", "a"], r"--features: applies to CSV files, not to a \.npy file"),
        # an IDX option for another source was ignored silently
        ("kidcreative", ["--labels", "l.gz"], r"--labels: applies to IDX image files, not to"),
        ("a.npy", ["--labels", "l.gz"], r"--labels: applies to IDX image files, not to"),
    ],
)
def test_column_options_for_a_source_without_columns_are_refused(
    tmp_path, capsys, source, options, message
):
    """Options that choose or fill CSV columns would be ignored silently for a source
    without them (training on other data than asked): they are named instead."""
    from jaxlin import data

    if source == "a.svm":
        data.write_svmlight(np.eye(4), np.array([0, 1, 0, 1]), tmp_path / source)
    elif source == "a.npy":
        np.save(tmp_path / source, np.c_[np.eye(4), [0, 1, 0, 1]])
    path = source if source == "kidcreative" else str(tmp_path / source)
    assert cli.main(["train", "--data", path, *options]) == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize("kind", ["csv", "npy", "stream"])
def test_dropping_the_target_column_is_refused(tmp_path, kind):
    """Unchecked, the CSV run trained on the target anyway (the drop was ignored)."""
    from jaxlin import data, stream

    path = _write(tmp_path / "s.csv", ["a", "b", "label"], [[1, 2, 0], [3, 4, 1], [5, 6, 0]])
    with pytest.raises(ValueError, match=r"drop: '(label|c2)' is the target column"):
        if kind == "csv":
            tables.read_csv_table(path, "label", ["label"])
        elif kind == "npy":
            np.save(tmp_path / "s.npy", np.eye(3))
            data.read_npy(str(tmp_path / "s.npy"), target="c2", drop=["c2"])
        else:
            stream.fit_stream(path, target="label", drop=["label"])


@pytest.mark.parametrize("command", ["train", "predict", "convert", "stream"])
def test_a_folder_given_as_a_file_is_named(tmp_path, capsys, command):
    argv = {
        "train": ["train", "--data", str(tmp_path)],
        "predict": ["predict", "--model", str(tmp_path), "--data", "kidcreative"],
        "convert": ["convert", str(tmp_path), str(tmp_path / "x.npy")],
        "stream": ["train", "--data", str(tmp_path), "--stream"],
    }[command]
    assert cli.main(argv) == 2
    assert f"{tmp_path} is a folder, not a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        ({"features": ["a", "a"]}, r"--features: column 'a' is named twice"),
        ({"features": ["b", "label"]}, r"--features: 'label' is the target column"),
        ({"categorical": ["label"]}, r"--categorical: 'label' is the target column"),
        ({"features": ["a"], "drop": ["a"]}, r"--features and --drop both name column 'a'"),
        ({"categorical": ["a"], "drop": ["a"]}, r"--categorical: column 'a' is dropped"),
        ({"categorical": ["b"], "features": ["a"]}, r"column 'b' is not among --features"),
    ],
)
def test_column_options_that_contradict_each_other_are_refused(tmp_path, options, message):
    """Each of these once trained without a word, one option silently winning: the target
    left out of the features, a dropped or unchosen column's encoding ignored, a feature
    named twice trained as two identical columns."""
    path = _write(tmp_path / "s.csv", ["a", "b", "label"], [[1, 2, 0], [3, 4, 1], [5, 6, 0]])
    with pytest.raises(ValueError, match=message):
        tables.read_csv_table(path, "label", **options)


def test_consistent_column_options_still_choose_their_columns(tmp_path):
    path = _write(tmp_path / "s.csv", ["a", "b", "c", "label"], [[1, "x", 3, 0], [4, "y", 6, 1]])
    X, _, encoding, _ = tables.read_csv_table(
        path, "label", drop=["c", "c"], features=["a", "b"], categorical=["b"]
    )
    assert encoding.feature_names == ["a", "b=x", "b=y"]
    np.testing.assert_array_equal(X, [[1, 1, 0], [4, 0, 1]])
