"""The command line as a new user meets it: .npy data, ignored columns, help, plots."""

import os

import numpy as np
import pytest

from jaxlin import cli, stream

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def kc_npy(tmp_path):
    """KidCreative as `jaxlin convert` writes it: every column, names in the .json."""
    csv = os.path.join(ROOT, "jaxlin", "data", "kidcreative.csv")
    out = str(tmp_path / "kc.npy")
    stream.convert_csv(csv, out)
    return csv, out


def _train_and_save(data, model):
    """``jaxlin train`` on a KidCreative table (its id column dropped), saving the model."""
    args = ["train", "--data", data, "--drop", "Obs No.", "--target", "Buy", "--quiet"]
    return cli.main([*args, "--save", model])


def test_npy_trains_like_the_csv_it_came_from(kc_npy, tmp_path, capsys):
    csv, npy = kc_npy
    model_csv, model_npy = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    assert _train_and_save(csv, model_csv) == 0
    assert _train_and_save(npy, model_npy) == 0
    a, b = np.load(model_csv), np.load(model_npy)
    np.testing.assert_allclose(a["W"], b["W"], rtol=1e-5, atol=1e-6)  # float32 storage
    assert list(a["feature_names"]) == list(b["feature_names"])


def test_predict_reads_npy_and_names_the_columns_it_ignores(kc_npy, tmp_path, capsys):
    csv, npy = kc_npy
    model = str(tmp_path / "m.npz")
    assert _train_and_save(csv, model) == 0
    capsys.readouterr()
    assert cli.main(["predict", "--model", model, "--data", npy]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == (
        "jaxlin predict: ignoring 2 column(s) the model does not use: Obs No., Buy"
    )
    assert cli.main(["predict", "--model", model, "--data", csv]) == 0
    out_csv, err_csv = capsys.readouterr()
    assert out_csv == out and "Obs No., Buy" in err_csv


@pytest.mark.parametrize(
    "content,words",
    [
        (lambda p: np.save(p, np.array([{"a": 1}], dtype=object)), "not a numeric .npy"),
        (lambda p: np.save(p, np.zeros((2, 3, 4))), "expected a 2-D numeric array"),
    ],
)
def test_bad_npy_gets_one_clear_line(tmp_path, capsys, content, words):
    path = str(tmp_path / "bad.npy")
    content(path)
    assert cli.main(["train", "--data", path]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_binary_junk_is_refused_by_predict_in_one_line(tmp_path, capsys):
    model = str(tmp_path / "m.npz")
    assert cli.main(["train", "--quiet", "--save", model]) == 0
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    assert cli.main(["predict", "--model", model, "--data", str(junk)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not UTF-8 text" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "command,needles",
    [
        (
            "train",
            [
                "Train a model",
                "--lr",
                "0.1 for gd",
                "--epochs",
                "1000 for gd",
                "(default: 65536)",
                "(default: kidcreative)",
                "--stream: 0.01",
            ],
        ),
        ("check", ["Exit 0 when all pass", "--loss MODULE:ATTR", "(default: 0)"]),
        ("convert", ["without loading it whole", "(default: 65536)"]),
        ("predict", ["saved by 'jaxlin train --save'"]),
    ],
)
def test_help_describes_and_shows_defaults(command, needles, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in needles:
        assert needle in text, needle


def test_objective_plot_has_integer_epochs_and_a_log_axis_over_decades(tmp_path):
    import matplotlib.pyplot as plt
    from jaxlin import plots

    seen = []
    original = plt.Figure.savefig

    def keep(fig, *a, **k):
        seen.append(fig.axes[0])
        return original(fig, *a, **k)

    plt.Figure.savefig = keep
    try:
        plots.objective_curve({"objective": [10.0, 1.0, 0.1, 0.05]}, str(tmp_path / "a.png"), "")
        plots.objective_curve({"objective": [0.7, 0.6, 0.55]}, str(tmp_path / "b.png"), "")
    finally:
        plt.Figure.savefig = original
    decades, flat = seen
    assert decades.get_yscale() == "log" and flat.get_yscale() == "linear"
    for ax in seen:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
