"""The jaxlin command: the report, JSON, plots, save/predict, and every user mistake."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from jaxlin import cli, model_io


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_train_prints_the_full_report(capsys):
    code, out, err = run(capsys, "train")
    assert code == 0 and err == ""
    for part in [
        "kidcreative",
        "449 train / 224 test",
        "logistic",
        "binary_cross_entropy",
        "lbfgs",
        "stopped:",
        "objective",
        "accuracy",
        "class-prior baseline",
        "precision",
        "recall",
        "F1",
        "FPR",
        "confusion matrix",
        "time",
    ]:
        assert part in out, part


def test_json_on_stdout_keeps_stdout_pure_json_and_names_the_device(capsys):
    import jax

    code, out, err = run(capsys, "train", "--json", "-")
    rep = json.loads(out)  # the text report went to stderr
    assert code == 0 and "accuracy" in err and "devices" in err
    dev = jax.devices()[0]
    assert rep["training"]["platform"] == dev.platform
    assert rep["training"]["device_kind"] == dev.device_kind


def test_json_report_has_metrics_history_and_settings(capsys, tmp_path):
    path = tmp_path / "r.json"
    code, _, _ = run(capsys, "train", "--json", str(path), "--quiet")
    rep = json.loads(path.read_text())
    assert code == 0
    assert rep["settings"]["model"] == "logistic" and rep["settings"]["seed"] == 0
    te = rep["test"]
    assert te["tp"] + te["tn"] + te["fp"] + te["fn"] == rep["data"]["n_test"] == 224
    assert te["precision"] == pytest.approx(te["tp"] / (te["tp"] + te["fp"]), rel=1e-6)
    assert np.sum(te["confusion_matrix"]) == 224
    assert len(rep["history"]["objective"]) == rep["training"]["epochs"]
    # the baseline and the accuracy, recomputed from the same split and the saved model
    from jaxlin import data, datasets

    d = datasets.load("kidcreative")
    split = data.train_test_split(d.X, d.y, seed=0)
    assert te["baseline"] == pytest.approx(np.bincount(split.y_test).max() / 224, rel=1e-12)


def test_a_diverged_runs_report_keeps_its_columns_apart(capsys, tmp_path):
    # a diverged objective (about 4e31) was printed with four decimals, 37 characters in a
    # column of 10: the train and test values ran together into one number
    path = tmp_path / "r.json"
    argv = ["train", "--data", "spambase", "--optimizer", "gd", "--lr", "1e6"]
    with warnings.catch_warnings():  # the report says it, not a Python warning
        warnings.simplefilter("error")
        code, out, _ = run(capsys, *argv, "--no-standardize", "--epochs", "20", "--json", str(path))
    rep = json.loads(path.read_text())
    assert code == 0 and "stopped: diverged" in out
    table = out.split("train      test", 1)[1]
    row = next(line for line in table.splitlines() if line.strip().startswith("objective "))
    cells = row.split()[1:]
    assert len(cells) == 2, row
    for cell, part in zip(cells, ("train", "test")):
        assert float(cell) == pytest.approx(rep[part]["objective"], rel=5e-3)


def test_the_report_agrees_with_the_fit_it_reports(capsys, tmp_path):
    """The report's training objective is the fit's last history entry, and its test
    accuracy that of the saved model, both recomputed here."""
    path, model_path = tmp_path / "r.json", tmp_path / "m.npz"
    code, _, _ = run(capsys, "train", "--json", str(path), "--save", str(model_path), "--quiet")
    rep = json.loads(path.read_text())
    assert code == 0
    J = rep["history"]["objective"]
    assert len(J) == rep["training"]["epochs"]
    assert rep["train"]["objective"] == pytest.approx(J[-1], rel=1e-5)
    from jaxlin import data, datasets

    d = datasets.load("kidcreative")
    split = data.train_test_split(d.X, d.y, seed=0)
    pred = model_io.load(model_path).predict_codes(split.X_test)
    assert rep["test"]["accuracy"] == pytest.approx(np.mean(pred == split.y_test), rel=1e-6)


def test_a_model_trained_on_dense_rows_predicts_sparse_rows_without_densifying(capsys, tmp_path):
    """The saved model centres its features; on a sparse X the centring moves into the
    weights, and the scores equal those of the same rows dense (also from an svmlight file)."""
    import scipy.sparse as sp

    from jaxlin import data, datasets

    model_path = tmp_path / "m.npz"
    assert run(capsys, "train", "--save", str(model_path), "--quiet")[0] == 0
    model = model_io.load(model_path)
    assert np.any(model.mean != 0)
    X = datasets.load("kidcreative").X
    dense = model.decision_function(X)
    np.testing.assert_allclose(
        model.decision_function(sp.csr_matrix(X)), dense, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        model.predict_proba(sp.csc_matrix(X)), model.predict_proba(X), atol=1e-9
    )
    svm = tmp_path / "k.svm"
    data.write_svmlight(X, np.zeros(len(X)), svm)
    code, out, _ = run(capsys, "predict", "--model", str(model_path), "--data", str(svm))
    assert code == 0
    names = np.array(model.class_names)[model.predict_codes(X)]
    assert [r.split(",")[1] for r in out.splitlines()[1:]] == names.tolist()
    assert model.predict(X).tolist() == names.tolist()  # the names are the labels (text)


def test_save_then_predict_round_trip(capsys, tmp_path):
    model_path = tmp_path / "m.npz"
    code, _, _ = run(capsys, "train", "--save", str(model_path), "--quiet")
    assert code == 0 and model_path.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".jaxlin-")] == []  # no temp left
    model = model_io.load(model_path)
    assert model.n_features == 16 and model.class_names == ["no", "buy"]
    csv_in = os.path.join(os.path.dirname(cli.__file__), "data", "kidcreative.csv")
    out_path = tmp_path / "pred.csv"
    code, out, _ = run(
        capsys, "predict", "--model", str(model_path), "--data", csv_in, "--output", str(out_path)
    )
    assert code == 0
    rows = out_path.read_text().splitlines()
    assert rows[0] == "row,prediction,p_no,p_buy" and len(rows) == 674
    from jaxlin import datasets

    d = datasets.load("kidcreative")
    expected = np.array(model.class_names)[model.predict_codes(d.X)]
    assert [r.split(",")[1] for r in rows[1:]] == expected.tolist()


def test_predict_reads_decimal_commas_as_their_point_twin(capsys, tmp_path):
    """A semicolon file of decimal commas (a spreadsheet in a locale that writes 1,5)
    predicts what the same numbers written with points predict."""
    from jaxlin import datasets

    model_path = tmp_path / "m.npz"
    assert run(capsys, "train", "--save", str(model_path), "--quiet")[0] == 0
    d = datasets.load("kidcreative")
    header = ";".join(model_io.load(model_path).feature_names)
    body = "\n".join(";".join(str(float(v)) for v in row) for row in d.X[:40] * 0.75)
    outputs = []
    for name, text in [("p.csv", body), ("c.csv", body.replace(".", ","))]:
        (tmp_path / name).write_text(header + "\n" + text + "\n")
        out = tmp_path / f"{name}.out"
        args = ["predict", "--model", str(model_path), "--data", str(tmp_path / name)]
        assert run(capsys, *args, "--output", str(out))[0] == 0
        outputs.append(out.read_text())
    assert outputs[1] == outputs[0] and len(outputs[0].splitlines()) == 41
    assert "," in body.replace(".", ",") and "." in body


def test_a_one_feature_model_predicts_a_csv_of_that_column_alone(capsys, tmp_path):
    # predict read the file as a training table: "need a header with at least 2 columns"
    rng = np.random.default_rng(0)
    a = rng.normal(size=60)
    (tmp_path / "t.csv").write_text("a,y\n" + "".join(f"{v:.4f},{int(v > 0)}\n" for v in a))
    (tmp_path / "p.csv").write_text("a\n-2\n2\n")
    model = tmp_path / "m.npz"
    assert run(capsys, "train", "--data", str(tmp_path / "t.csv"), "--save", str(model))[0] == 0
    code, out, _ = run(capsys, "predict", "--model", str(model), "--data", str(tmp_path / "p.csv"))
    assert code == 0
    assert [r.split(",")[:2] for r in out.splitlines()[1:]] == [["0", "0"], ["1", "1"]]
    code, _, err = run(  # a --drop typo, for a model that encodes its columns too
        capsys, "predict", "--model", str(model), "--data", str(tmp_path / "p.csv"), "--drop", "z"
    )
    assert code == 2 and "--drop: no column 'z'" in err
    # dropping the model's own column said "dropping a" and then read it all the same
    code, _, err = run(
        capsys, "predict", "--model", str(model), "--data", str(tmp_path / "p.csv"), "--drop", "a"
    )
    assert code == 2 and "--drop: the model reads the column 'a' by name" in err
    (tmp_path / "s.csv").write_text("a;b\n-2;7\n2;7\n")  # another separator, found by its header
    code, out2, _ = run(capsys, "predict", "--model", str(model), "--data", str(tmp_path / "s.csv"))
    assert code == 0 and out2.splitlines()[1:] and out2.splitlines()[1:] == out.splitlines()[1:]


def test_predict_drop_applies_where_columns_are_read_by_name(capsys, tmp_path):
    """``--drop`` on an svmlight file or a bundled dataset (read by position) did nothing;
    on a ``.npy`` with column names it names a typo and refuses a column the model uses."""
    from jaxlin import datasets, stream, svmlight

    model = str(tmp_path / "m.npz")
    assert run(capsys, "train", "--data", "spambase", "--save", model, "--quiet")[0] == 0
    d = datasets.load("spambase")
    svm = tmp_path / "s.svm"
    svmlight.write(d.X[:20], d.y[:20], svm)
    for data in (str(svm), "spambase"):
        code, _, err = run(capsys, "predict", "--model", model, "--data", data, "--drop", "x0")
        assert (
            code == 2
            and f"--drop: applies to a CSV or .npy file read by column name, not to {data}" in err
        )
    table = tmp_path / "t.csv"
    names = model_io.load(model).feature_names
    np.savetxt(
        table, np.c_[d.X[:20], d.y[:20]], delimiter=",", header=",".join([*names, "y"]), comments=""
    )
    npy = tmp_path / "t.npy"
    stream.convert_csv(table, npy)
    for drop, words in [
        ("zz", "--drop: no column 'zz'"),
        (names[0], f"reads the column {names[0]!r}"),
    ]:
        code, _, err = run(capsys, "predict", "--model", model, "--data", str(npy), "--drop", drop)
        assert code == 2 and words in err
    code, out, err = run(capsys, "predict", "--model", model, "--data", str(npy), "--drop", "y")
    assert code == 0 and len(out.splitlines()) == 21 and "dropping y (--drop)" in err


def test_predictions_quote_class_names_holding_commas_or_quotes(capsys, tmp_path):
    # the names came back unquoted: a comma split a name across two columns
    import csv

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    names = np.where(X[:, 0] > 0, "yes, sure", 'no "way"')
    with open(tmp_path / "d.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "label"])
        w.writerows([[f"{a:.3f}", f"{b:.3f}", n] for (a, b), n in zip(X, names)])
    model, out = tmp_path / "m.npz", tmp_path / "p.csv"
    assert (
        run(capsys, "train", "--data", str(tmp_path / "d.csv"), "--save", str(model), "--quiet")[0]
        == 0
    )
    args = [
        "predict",
        "--model",
        str(model),
        "--data",
        str(tmp_path / "d.csv"),
        "--output",
        str(out),
    ]
    assert run(capsys, *args)[0] == 0
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "prediction", 'p_no "way"', "p_yes, sure"]
    assert {len(r) for r in rows} == {4} and len(rows) == 61
    assert {r[1] for r in rows[1:]} <= {"yes, sure", 'no "way"'}


def test_plots_are_written(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--plot", str(tmp_path / "fig"), "--quiet")
    assert code == 0
    for name in ("objective.png", "confusion_matrix.png", "roc.png"):
        data = (tmp_path / "fig" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_two_feature_csv_gets_a_decision_boundary(capsys, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 150)
    X = np.array([[0, 0], [3, 1], [1, 3]])[y] + rng.normal(size=(150, 2))
    p = tmp_path / "blobs.csv"
    np.savetxt(p, np.c_[X, y], delimiter=",", header="u,v,cls", comments="")
    code, out, _ = run(
        capsys, "train", "--data", str(p), "--model", "softmax", "--plot", str(tmp_path / "fig")
    )
    assert code == 0 and "3 classes" in out and "macro f1" in out
    assert (tmp_path / "fig" / "decision_boundary.png").stat().st_size > 10_000


def test_a_sparse_two_feature_file_gets_a_decision_boundary_and_outputs_go_in_its_folder(
    capsys, tmp_path
):
    """An svmlight file of two features plots its regions (the sparse rows failed as
    ``np.asarray``: 'setting an array element with a sequence'); ``--save`` and ``--json``
    may name files in the ``--plot`` folder, which is made before they are checked."""
    from jaxlin import svmlight

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])[y] * rng.uniform(0.5, 2.0, (120, 1))
    p = tmp_path / "two.svm"
    svmlight.write(X, y, p)
    fig = tmp_path / "fig"
    argv = ["train", "--data", str(p), "--plot", str(fig), "--quiet"]
    code, _, err = run(capsys, *argv, "--json", str(fig / "r.json"), "--save", str(fig / "m.npz"))
    assert code == 0, err
    assert (fig / "decision_boundary.png").stat().st_size > 10_000
    assert json.loads((fig / "r.json").read_text())["data"]["n_features"] == 2
    assert model_io.load(fig / "m.npz").n_features == 2


def test_an_undefined_metric_is_null_in_the_json_and_one_line_on_stderr(capsys, tmp_path):
    """A test split of one class has no ROC area: ``null`` in the JSON (``NaN`` is not JSON;
    the run failed at the end), and the warning is one line, as the errors are."""
    p = tmp_path / "tiny.csv"
    p.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    path = tmp_path / "r.json"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code, out, err = run(
            capsys, "train", "--data", str(p), "--epochs", "3", "--json", str(path)
        )
    assert code == 0, err
    test = json.loads(path.read_text())["test"]
    assert test["n"] == 1 and test["roc_auc"] is None
    assert "ROC AUC" in out and "n/a" in out
    assert err.strip().splitlines() == [
        "jaxlin train: warning: y_true: only one class is present, so the ROC curve's other "
        "rate is undefined (NaN), and so is its area"
    ]


def test_mnist_softmax_defaults_reach_90_percent(capsys, tmp_path):
    path = tmp_path / "r.json"
    code, _, _ = run(
        capsys, "train", "--data", "mnist", "--model", "softmax", "--json", str(path), "--quiet"
    )
    assert code == 0
    assert json.loads(path.read_text())["test"]["accuracy"] >= 0.90


@pytest.mark.parametrize("model", ["linear", "perceptron", "ovr", "svm", "squared-hinge"])
def test_every_model_trains(capsys, tmp_path, model):
    path = tmp_path / "r.json"
    code, _, err = run(
        capsys, "train", "--model", model, "--json", str(path), "--quiet", "--epochs", "30"
    )
    assert code == 0, err
    rep = json.loads(path.read_text())
    assert rep["test"]["accuracy"] > rep["test"]["baseline"]  # better than the prior


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "adam"])
def test_every_optimizer_trains(capsys, tmp_path, optimizer):
    path = tmp_path / "r.json"
    code, _, err = run(
        capsys, "train", "--optimizer", optimizer, "--epochs", "30", "--json", str(path), "--quiet"
    )
    assert code == 0, err
    rep = json.loads(path.read_text())
    J = [v for v in rep["history"]["objective"] if v is not None]
    # from W = 0 (J = ln 2 + 0) the objective falls, and the model beats the class prior
    assert J[-1] < 0.75 * np.log(2) and rep["test"]["accuracy"] > rep["test"]["baseline"] + 0.02


def test_datasets_command(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    assert "kidcreative" in out and "673" in out and "4601" in out and "10000" in out


# ------------------------------------------------------------------ bad input


@pytest.fixture
def files(tmp_path):
    f = {}

    def w(name, text):
        p = tmp_path / name
        p.write_text(text)
        f[name] = str(p)

    w("ok.csv", "id,a,b,y\n" + "".join(f"{i},{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(30)))
    w("three.csv", "a,b,y\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 3}\n" for i in range(30)))
    w("nonnum.csv", "a,b,y\n1,2,0\n3,abc,1\n")
    w("nan.csv", "a,b,y\n1,2,0\n3,nan,1\n")
    w("inf.csv", "a,b,y\n1,2,0\n3,inf,1\n")
    w("empty.csv", "")
    w("header.csv", "a,b,y\n")
    w("ragged.csv", "a,b,y\n1,2,0\n3,1\n")
    w("single.csv", "a,b,y\n1,2,1\n3,4,1\n5,6,1\n")
    w("blank.csv", "a,b,y\n1,,0\n3,4,1\n")
    w(
        "price.csv",
        "a,b,y\n" + "".join(f"{i % 7},{i % 5},{i * 0.37 + 0.1:.2f}\n" for i in range(30)),
    )
    w("void.csv", "a,b,y\n" + "".join(f"{i % 7},,{i % 2}\n" for i in range(30)))
    w("twice.csv", "a,b,a,y\n" + "".join(f"{i % 7},{i % 5},{i % 3},{i % 2}\n" for i in range(30)))
    w("decimal.csv", 'a,b,y\n"1,5",2,0\n3,4,1\n')  # a comma file's numbers have points
    w("column.csv", "y\n0\n1\n")
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    f["garbage.csv"] = str(tmp_path / "garbage.csv")
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    f["trunc.npz"] = str(tmp_path / "trunc.npz")
    f["dir"] = str(tmp_path)
    return f


BAD = [
    (["train", "--data", "/no/such/file.csv"], "no such file"),
    (["train", "--data", "iris"], "no such file or bundled dataset: 'iris'"),
    (["train", "--data", "{garbage.csv}"], "garbage.csv"),
    (["train", "--data", "{nonnum.csv}"], "non-numeric value 'abc' at row 3, column 2 ('b')"),
    (
        ["train", "--data", "{blank.csv}"],
        "missing value (an empty cell) at row 2, column 2 ('b'); pass --impute mean",
    ),
    (["train", "--data", "{nan.csv}"], "missing value ('nan') at row 3, column 2 ('b')"),
    # a CSV's numbers are read as text first: a measurement trained as 30 classes
    (["train", "--data", "{price.csv}"], "--target: the column has 30 distinct non-integer"),
    # an empty column cannot be imputed: its --drop is named
    (["train", "--data", "{void.csv}"], "column 2 ('b') holds no value at all; --drop b"),
    (
        ["train", "--data", "{void.csv}", "--impute", "mean"],
        "--impute mean: column 'b' has no value in the training rows; --drop b",
    ),
    (["train", "--data", "{inf.csv}"], "NaN or infinite value 'inf' at row 3, column 2 ('b')"),
    (["train", "--data", "{empty.csv}"], "the file is empty"),
    (["train", "--data", "{header.csv}"], "no data rows"),
    (["train", "--data", "{ragged.csv}"], "row 3 has 2 cells, the header has 3"),
    (
        ["train", "--data", "{twice.csv}"],
        "column name 'a' appears twice in the header (columns 1 and 3)",
    ),
    (["train", "--data", "{twice.csv}", "--stream"], "column name 'a' appears twice"),
    (
        ["train", "--data", "{decimal.csv}"],
        "non-numeric value '1,5' at row 2, column 1 ('a') (a decimal comma: write 1.5 for 1,5)",
    ),
    (["train", "--data", "{decimal.csv}", "--stream"], "(a decimal comma: write 1.5 for 1,5)"),
    (["train", "--data", "{column.csv}"], "need a header with at least 2 columns, got ['y']"),
    (["train", "--format", "svmlight"], "--format: applies to files, not to the bundled dataset"),
    (["train", "--data", "{ok.csv}", "--target", "nope"], "--target: no column 'nope'"),
    (["train", "--data", "{ok.csv}", "--drop", "zzz"], "--drop: no column 'zzz'"),
    (["train", "--data", "{single.csv}"], "single class"),
    (
        ["train", "--data", "{three.csv}", "--model", "logistic"],
        "--model: 'logistic' is a binary model but the labels have 3 classes; use softmax, ovr "
        "or svm (the classes: 0, 1, 2)",
    ),
    (
        ["train", "--data", "{three.csv}", "--model", "perceptron", "--optimizer", "perceptron"],
        None,
    ),  # allowed: multi-class perceptron falls back to SGD — checked below as success
    (["train", "--model", "tree"], "unknown model 'tree'"),
    (["train", "--optimizer", "newtonian"], "unknown optimizer 'newtonian'"),
    (["train", "--lr", "0"], "--lr: must be a positive number"),
    (["train", "--lr", "-0.5"], "--lr: must be a positive number"),
    # a rate the solver never uses would change nothing (the default model's L-BFGS)
    (["train", "--lr", "0.5"], "--lr: the 'lbfgs' optimiser takes no learning rate"),
    (["train", "--model", "perceptron", "--lr", "2"], "--lr: the 'perceptron' optimiser takes"),
    (["train", "--optimizer", "sgd", "--batch-size", "0"], "--batch-size: must be a positive"),
    (["train", "--optimizer", "sgd", "--batch-size", "-4"], "--batch-size: must be a positive"),
    (["train", "--epochs", "0"], "--epochs: must be a positive integer"),
    (["train", "--epochs", "ten"], "invalid int value: 'ten'"),
    (["train", "--epochs", str(2**40)], "--epochs: must be at most 2,147,483,647"),
    (
        ["train", "--checkpoint", "{ok.csv}.npz", "--checkpoint-every", str(2**40)],
        "--checkpoint-every: must be at most 2,147,483,647",
    ),
    (["train", "--train-fraction", "1.5"], "--train-fraction: must be between 0 and 1"),
    (["train", "--l2", "-1"], "--l2: must be a non-negative number"),
    (["train", "--l1", "0.1", "--optimizer", "lbfgs"], "lbfgs needs a smooth objective"),
    (["convert", "spambase", "/tmp/o.svm"], "IN: 'spambase' is a bundled dataset, not a file"),
    # an α without the elastic net changed nothing
    (["train", "--l1-ratio", "0.3"], "--l1-ratio: applies with --elastic-net"),
    (
        ["train", "--data", "{ok.csv}", "--l1-ratio", "0.3", "--stream"],
        "--l1-ratio: applies with --elastic-net",
    ),
    # the validation share named by its flag (a train_fraction of 0.010000000000000009 was)
    (
        ["train", "--validation-fraction", "0.999"],
        "--validation-fraction: 0.999 of the 449 training rows leaves no training rows",
    ),
    (["train", "--validation-fraction", "0.001"], "leaves no validation rows"),
    (["train", "--json", "/no/such/dir/r.json"], "--json: no such folder"),
    (["train", "--json", "/"], "--json: / is a folder; give the path of a file to write"),
    (["train", "--save", "/no/such/dir/m.npz"], "--save: no such folder"),  # before training
    (["train", "--save", "/", "--stream"], "--save: / is a folder"),
    (["train", "--plot", "{ok.csv}"], "ok.csv is a file; give a folder to write the figures"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    # a flag of the other way of training was ignored without a word
    (
        ["train", "--data", "{ok.csv}", "--stream", "--features", "a"],
        "--features: not available with --stream (a stream reads every column but --target",
    ),
    (["train", "--data", "{ok.csv}", "--stream", "--train-fraction", "0.5"], "--train-fraction"),
    (["train", "--data", "{ok.csv}", "--stream", "--standardize"], "--standardize: not avail"),
    (["train", "--data", "{ok.csv}", "--stream", "--json", "{ok.csv}.json"], "--json: not av"),
    (["train", "--data", "{ok.csv}", "--stream", "--tol", "0.1"], "--tol: not available when"),
    (["train", "--data", "{ok.csv}", "--stream", "--adaptive-lr"], "--adaptive-lr: the bold"),
    (["train", "--data", "{ok.csv}", "--stream", "--l1", "0.1", "--l2", "1"], "at most one"),
    (["train", "--chunk-rows", "100"], "--chunk-rows: applies with --stream only"),
    (["train", "--n-classes", "3"], "--n-classes: applies with --stream only"),
    (["predict", "--model", "/no/model.npz", "--data", "{ok.csv}"], "--model: no such file"),
    (["predict", "--model", "{trunc.npz}", "--data", "{ok.csv}"], "not a jaxlin model file"),
    (["predict", "--model", "{ok.csv}", "--data", "{ok.csv}"], "--model: "),
    (["predict", "--model", "{model}", "--data", "{ok.csv}"], "the model expects 16 features"),
    (["predict", "--model", "{model}", "--data", "/no/data.csv"], "no such file"),
    (["convert", "{ok.csv}", "/no/dir/d.npy"], "OUT: no such folder: /no/dir"),
    (["convert", "{ok.csv}", "{ok.csv}.txt"], "OUT: the output must end in .npy"),
    (["convert", "/no/data.csv", "{ok.csv}.npy"], "IN: no such file: /no/data.csv"),
    (
        ["predict", "--model", "{model}", "--data", "{ok.csv}", "--output", "/no/dir/p.csv"],
        "--output: no such folder: /no/dir",
    ),
    (
        ["predict", "--model", "/no/model.npz", "--data", "{ok.csv}", "--output", "/"],
        "--output: / is a folder",
    ),  # checked first: before the model is read
]


@pytest.mark.parametrize(
    "argv,message", BAD, ids=[f"{i:02d}-{' '.join(a[:3])}" for i, (a, _) in enumerate(BAD)]
)
def test_user_mistakes_give_one_clear_line(capsys, files, tmp_path, argv, message):
    if any("{model}" in a for a in argv):
        files["model"] = str(tmp_path / "m.npz")
        assert cli.main(["train", "--save", files["model"], "--quiet"]) == 0
        capsys.readouterr()
    for name, path in files.items():
        argv = [a.replace("{" + name + "}", path) for a in argv]
    code, out, err = run(capsys, *argv)
    if message is None:
        assert code == 0, err
        return
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err, err


@pytest.mark.parametrize(
    "name, cell", [("nonnum.csv", "non-numeric value 'abc'"), ("inf.csv", "'inf'")]
)
def test_predict_names_a_bad_cell_without_training_options(capsys, files, tmp_path, name, cell):
    """A saved model fixes its columns: --categorical and --drop are no remedy there."""
    model = str(tmp_path / "ab.npz")
    table = tmp_path / "ab.csv"
    table.write_text("a,b,y\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(30)))
    assert cli.main(["train", "--data", str(table), "--save", model, "--quiet"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "predict", "--model", model, "--data", files[name])
    assert code == 2 and "Traceback" not in err, err
    err = err.strip().splitlines()[-1]  # (after the notice of the column y it ignores)
    assert f"{cell} at row 3, column 2 ('b'); the model reads this column as numbers" in err
    assert "--categorical" not in err and "--drop" not in err


def test_library_raises_the_same_messages(files):
    from jaxlin import data

    with pytest.raises(ValueError, match=r"non-numeric value 'abc' at row 3, column 2"):
        data.read_csv(files["nonnum.csv"])
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.read_csv("/no/such/file.csv")
    with pytest.raises(ValueError, match=r"'a' appears twice in the header \(columns 1 and 3\)"):
        data.read_csv(files["twice.csv"])
    with pytest.raises(ValueError, match=r"'1,5' at row 2, column 1 \('a'\) \(a decimal comma"):
        data.read_csv(files["decimal.csv"])
    with pytest.raises(ValueError, match="not a jaxlin model file"):
        model_io.load(files["trunc.npz"])


@pytest.mark.parametrize(
    "key, value, what",
    [
        ("version", "two", "an integer"),
        ("loss", 3.0, "a text value"),
        ("W", "junk", "finite numbers"),
        ("scale", [np.inf] * 16, "finite numbers"),
        ("feature_names", "x", "a list of names"),
    ],
)
def test_a_model_file_with_a_field_of_another_type_is_named(tmp_path, key, value, what):
    from jaxlin import datasets, fit

    d = datasets.load("kidcreative")
    path = model_io.save(fit(d.X, d.y, epochs=2), tmp_path / "m.npz")
    with np.load(path) as z:
        fields = {k: z[k] for k in z.files}
    np.savez(path, **{**fields, key: np.asarray(value)})
    with pytest.raises(ValueError, match=rf"not a valid jaxlin model \({key}: expected {what}\)"):
        model_io.load(path)


@pytest.mark.parametrize(
    "key, value, what",
    [
        ("version", 0, "has format version 0 \\(versions start at 1\\)"),
        ("loss", "hinges", "loss: unknown loss 'hinges'"),
        ("kind", "logistik", "kind: 'logistik' is neither a model"),
        ("scale", "zeros", "scale: the standardisation's scales must be positive"),
        ("class_names", ["no", "no"], r"class_names: names given twice: \['no'\]"),
        ("class_names", ["a", "b", "c"], r"class_names: 3 names for a model of 1 output"),
        ("encoding", "{columns", "encoding: not a CSV encoding"),
        ("encoding", '{"columns": ["x0"], "categories": {}, "fill": null}', "makes 1 features"),
        ("classes", ["a", "b", "c"], r"classes: expected 2 distinct labels, one per class name"),
        ("classes", [1, 1], r"classes: expected 2 distinct labels"),
        ("classes", [0.0, np.nan], r"classes: expected 2 distinct labels"),
    ],
)
def test_a_model_file_whose_fields_disagree_is_named(tmp_path, key, value, what):
    """A file edited by hand (or by another program) is refused when loaded, naming the
    field, rather than at its first prediction or with a wrong class name."""
    from jaxlin import datasets, fit

    d = datasets.load("kidcreative")
    path = model_io.save(fit(d.X, d.y, epochs=2), tmp_path / "m.npz")
    with np.load(path) as z:
        fields = {k: z[k] for k in z.files}
    if isinstance(value, str) and value == "zeros":
        value = np.zeros(len(fields["feature_names"]))
    np.savez(path, **{**fields, key: np.asarray(value)})
    with pytest.raises(ValueError, match=what):
        model_io.load(path)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["no", "yes"]),
        np.array(["1", "2"]),  # text that reads as numbers stays text
        np.array(["no", "yes"], dtype=object),  # a DataFrame's column
        np.array([False, True]),
        np.array([-1, 1]),
        np.array(["cat", "dog", "eel"]),
    ],
    ids=["text", "numeric-text", "object", "bool", "signed", "three"],
)
def test_a_saved_result_predicts_its_labels_as_before(tmp_path, labels):
    """A result saved and loaded predicts the labels ``fit`` was given, of their own type,
    as the result did (it gave the class indices); ``predict_codes`` gives those."""
    from jaxlin import fit

    X = np.random.default_rng(0).normal(size=(60, 3))
    y = labels[np.argmax(X[:, : len(labels)], axis=1) if len(labels) > 2 else (X[:, 0] > 0) * 1]
    loss = "softmax_cross_entropy" if len(labels) > 2 else "binary_cross_entropy"
    r = fit(X, y, loss, optimizer="lbfgs", epochs=50)
    model = model_io.load(model_io.save(r, tmp_path / "m.npz"))
    predicted = model.predict(X)
    np.testing.assert_array_equal(predicted, r.predict(X))
    assert predicted.dtype.kind == np.asarray(r.predict(X)).dtype.kind or labels.dtype == object
    codes = model.predict_codes(X)
    np.testing.assert_array_equal(np.asarray(model.class_names)[codes], predicted.astype(str))


def test_a_trained_model_predicts_its_class_names_as_labels(capsys, tmp_path):
    """``jaxlin train --save``'s model predicts in Python what ``jaxlin predict`` writes:
    numbers where the CSV's labels were numbers (1 and 2, not the indices 0 and 1)."""
    csv = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, 2, 1)
    csv.write_text("a,b,y\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y)))
    code, _, _ = run(capsys, "train", "--data", str(csv), "--save", str(tmp_path / "m.npz"))
    assert code == 0
    model = model_io.load(tmp_path / "m.npz")
    assert model.class_names == ["1", "2"]
    predicted = model.predict(X)
    assert predicted.dtype.kind == "i" and set(predicted.tolist()) == {1, 2}
    assert np.mean(predicted == y) > 0.9
    np.testing.assert_array_equal(predicted, model.predict_codes(X) + 1)


def test_a_model_of_a_table_that_repeats_a_column_name_saves_and_loads(tmp_path):
    """Feature names may repeat (a DataFrame's may, and ``fit`` takes it): its file loads."""
    import pandas as pd

    from jaxlin import fit

    X = np.random.default_rng(0).normal(size=(40, 2))
    r = fit(pd.DataFrame(X, columns=["a", "a"]), (X[:, 0] > 0).astype(int), epochs=3)
    model = model_io.load(model_io.save(r, tmp_path / "m.npz"))
    assert model.feature_names == ["a", "a"]
    np.testing.assert_array_equal(model.predict(X), r.predict(X))


def test_console_script_has_no_traceback_and_no_progress_bar_when_piped(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "jaxlin")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "jaxlin"]
    bad = subprocess.run(cmd + ["train", "--lr", "-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == "jaxlin train: error: --lr: must be a positive number, got -1.0"
    ok = subprocess.run(
        cmd + ["train", "--optimizer", "gd", "--epochs", "200"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stderr == ""  # piped: no progress bar


def test_progress_bar_callback_reports_epochs(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain bar used without tqdm
    bar = cli._ProgressBar(10)
    for done in (3, 7, 10):
        bar(done, 10)
    bar.close()
    assert "10/10" in capsys.readouterr().err


@pytest.mark.parametrize(
    "given, setting", [("balanced", "balanced"), ("buy=5, no = 1", {"buy": 5.0, "no": 1.0})]
)
def test_class_weighted_training_minimises_the_weighted_objective(capsys, tmp_path, given, setting):
    """The run's last objective is the class-weighted mean cross-entropy plus the L2 term
    (balanced, or the weights given by label), recomputed here in NumPy from the saved
    model on the same training rows (an unweighted fit would report another number), and
    the minority class's recall rises."""
    path, model_path = tmp_path / "r.json", tmp_path / "m.npz"
    argv = ("train", "--class-weight", given, "--json", str(path), "--quiet")
    code, _, _ = run(capsys, *argv, "--save", str(model_path))
    rep = json.loads(path.read_text())
    assert code == 0 and rep["settings"]["class_weight"] == setting
    from jaxlin import data, datasets

    d = datasets.load("kidcreative")
    split = data.train_test_split(d.X, d.y, seed=0)
    model = model_io.load(model_path)
    z = model.decision_function(split.X_train)[:, 0]
    y = split.y_train
    w = len(y) / (2 * np.bincount(y))[y] if given == "balanced" else np.where(y == 1, 5.0, 1.0)
    bce = np.logaddexp(0.0, z) - y * z
    l2 = 1 / (2 * len(y))  # the default: scikit-learn's C = 1
    J = np.sum(w * bce) / np.sum(w) + l2 * np.sum(np.asarray(model.W) ** 2)
    assert rep["history"]["objective"][-1] == pytest.approx(J, rel=1e-5)
    run(capsys, "train", "--json", str(tmp_path / "plain.json"), "--quiet")
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert rep["test"]["recall"] > plain["test"]["recall"]


@pytest.mark.parametrize(
    "given, message",
    [
        ("yes=5", "--class-weight: 'yes' is not a class; the classes are ['no', 'buy']"),
        ("buy", "--class-weight: expected 'balanced' or LABEL=WEIGHT pairs"),
        ("buy=-1", "--class-weight: must be a non-negative number, got -1.0"),
        ("buy=nan", "--class-weight: must be a non-negative number, got nan"),
    ],
)
def test_bad_class_weights_are_named(capsys, given, message):
    code, _, err = run(capsys, "train", "--class-weight", given, "--quiet")
    assert code == 2 and message in err


def test_class_weights_stream_from_the_command_line(capsys, tmp_path):
    """``--stream --class-weight balanced`` (or ``1=8``, the file's numeric label) trains
    what ``fit_stream`` trains with it (the labels counted first), not the unweighted
    model."""
    from jaxlin import stream
    from jaxlin.presets import COMMAND_STREAM_DEFAULTS

    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{int(i % 5 == 0)}\n" for i in range(60)))
    models = []
    for extra in (["--class-weight", "balanced"], [], ["--class-weight", "1=8"]):
        path = str(tmp_path / f"m{len(models)}.npz")
        args = ["train", "--data", str(csv), "--stream", "--save", path, "--quiet", *extra]
        assert run(capsys, *args)[0] == 0
        models.append(model_io.load(path))
    r = stream.fit_stream(str(csv), class_weight="balanced", **COMMAND_STREAM_DEFAULTS)
    np.testing.assert_allclose(models[0].W, np.asarray(r.params.W, np.float64), rtol=1e-6)
    assert np.max(np.abs(models[0].W - models[1].W)) > 1e-3
    r = stream.fit_stream(str(csv), class_weight={1: 8.0}, **COMMAND_STREAM_DEFAULTS)
    np.testing.assert_allclose(models[2].W, np.asarray(r.params.W, np.float64), rtol=1e-6)
    assert np.max(np.abs(models[2].W - models[0].W)) > 1e-3
    for key in ("spam", "inf", "nan"):  # a key that is no number, for numeric labels
        code, _, err = run(
            capsys, "train", "--data", str(csv), "--stream", "--class-weight", f"{key}=2"
        )
        assert code == 2 and f"--class-weight: {key!r} is not a class; the file's labels" in err


def test_training_flags_reach_a_stream(capsys, tmp_path):
    """``--no-intercept``, ``--init`` and ``--elastic-net`` were dropped by ``--stream``
    (it trained with an intercept, from zeros, with the default penalty): each now trains
    what ``fit_stream`` trains with the option."""
    from jaxlin import stream
    from jaxlin.penalties import elastic_net
    from jaxlin.presets import COMMAND_STREAM_DEFAULTS

    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 3},{int(i % 5 < 2)}\n" for i in range(60)))
    p = elastic_net(0.05, 0.3)
    cases = [
        (["--no-intercept"], dict(fit_intercept=False)),
        (["--init", "uniform"], dict(init="uniform")),
        (["--elastic-net", "0.05", "--l1-ratio", "0.3"], dict(l1=p.l1, l2=p.l2)),
    ]
    base = {**COMMAND_STREAM_DEFAULTS, "epochs": 40, "learning_rate": 0.5}
    plain = stream.fit_stream(str(csv), **base)
    for flags, options in cases:
        path = str(tmp_path / "m.npz")
        args = ["train", "--data", str(csv), "--stream", "--save", path, "--quiet", *flags]
        assert run(capsys, *args, "--epochs", "40", "--lr", "0.5")[0] == 0
        model = model_io.load(path)
        r = stream.fit_stream(str(csv), **{**base, **options})
        np.testing.assert_allclose(model.W, np.asarray(r.params.W, np.float64), rtol=1e-5)
        np.testing.assert_allclose(model.b, np.asarray(r.params.b, np.float64), atol=1e-6)
        assert np.max(np.abs(model.W - np.asarray(plain.params.W))) > 1e-3, flags
        assert (model.b == 0).all() == ("--no-intercept" in flags)


def test_a_column_that_counts_the_rows_is_said_to_be_an_identifier(capsys):
    """KidCreative's file holds 'Obs No.' (1, 2, 3, …): trained on as it is, the model
    learns the row order; the command line says so and how to leave it out."""
    csv_in = os.path.join(os.path.dirname(cli.__file__), "data", "kidcreative.csv")
    code, _, err = run(capsys, "train", "--data", csv_in, "--target", "Buy", "--epochs", "2")
    assert code == 0
    assert "column 'Obs No.' counts the rows (1, 2, 3, …): an identifier?" in err
    assert err.count("counts the rows") == 1  # Income and the 0/1 columns do not count
    code, _, err = run(
        capsys, "train", "--data", csv_in, "--target", "Buy", "--drop", "Obs No.", "--epochs", "2"
    )
    assert code == 0 and "counts the rows" not in err


@pytest.mark.parametrize("penalty", [["--l1", "0.01"], ["--elastic-net", "0.02"]])
def test_an_l1_term_without_an_optimizer_trains_with_the_l1_solver(capsys, tmp_path, penalty):
    """The model's default L-BFGS takes no L1 term: without --optimizer the L1 default
    (OWL-QN, L-BFGS's orthant-wise form) trains it — the optimum ``fit`` reaches with it,
    at which the coefficients that are exactly zero have a gradient within ±λ₁."""
    from jaxlin import data, datasets, fit

    path = tmp_path / "r.json"
    code, _, err = run(capsys, "train", *penalty, "--json", str(path), "--quiet")
    assert code == 0, err
    rep = json.loads(path.read_text())
    assert rep["settings"]["optimizer"] == "owlqn"
    d = datasets.load("kidcreative")
    p = data.prepare(d.X, d.y, seed=0)
    l1, l2 = 0.01, (0.0 if penalty[0] == "--l1" else 0.01)  # the elastic net: α = 0.5 of 0.02
    r = fit(p.X_train, p.y_train, optimizer="owlqn", l1=l1, l2=l2, epochs=1000)
    assert rep["train"]["objective"] == pytest.approx(
        float(r.history.objective[int(r.epochs) - 1]), rel=1e-4
    )
