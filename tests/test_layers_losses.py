import numpy as np
import pytest

from kexue.core.tfquiet import import_keras

keras = import_keras()


def test_halfsum_adds_the_two_channel_halves():
    from kexue.layers import HalfSum
    x = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    out = np.asarray(HalfSum()(x))
    assert out.shape == (2, 3, 2)
    assert np.allclose(out, x[..., :2] + x[..., 2:])


def test_residual_block_shapes_and_shortcut():
    from kexue.layers import residual_dilated_block
    inp = keras.Input((64, 8))
    same = keras.Model(inp, residual_dilated_block(inp, 8, name="same"))
    wider = keras.Model(inp, residual_dilated_block(inp, 16, name="wider"))
    assert same.output_shape == (None, 64, 8) and wider.output_shape == (None, 64, 16)
    assert not any("shortcut" in l.name for l in same.layers)  # identity shortcut when widths match
    assert any("shortcut" in l.name for l in wider.layers)
    convs = [l for l in wider.layers if "conv" in l.name and "shortcut" not in l.name]
    assert [c.dilation_rate[0] for c in convs] == [1, 2, 4] and all(c.filters == 32 for c in convs)


def test_spectra_cnn_matches_the_post():
    from kexue.spectra.cnn import build_model
    model = build_model(2600, 4)
    blocks = sorted({l.name.split("_")[0] for l in model.layers if l.name.startswith("block")})
    assert len(blocks) == 8
    widths = [model.get_layer(f"block{i}_add").output.shape[-1] for i in range(8)]
    assert widths == [16, 16, 32, 32, 64, 64, 128, 128]
    assert len([l for l in model.layers if l.name.startswith("pool")]) == 7
    drop = model.get_layer("step_dropout0")
    assert tuple(drop.noise_shape) == (None, None, 1)  # whole time steps
    assert model.output_shape == (None, 4)
    x = np.random.default_rng(0).normal(size=(3, 2600, 1)).astype("float32")
    p = np.asarray(model(x))
    assert np.allclose(p.sum(1), 1, atol=1e-5)


def test_step_dropout_zeroes_whole_time_steps():
    from kexue.spectra.cnn import build_model
    drop = build_model(64, 2, filters=(4, 4), dropout=0.5).get_layer("step_dropout0")
    out = np.asarray(drop(np.ones((1, 200, 4), "float32"), training=True))[0]
    rows_zero = (out == 0).all(1)
    assert 0.3 < rows_zero.mean() < 0.7
    assert ((out == 0).any(1) == rows_zero).all()  # a step is dropped in every channel or in none


def brute_soft_f1(y, p):
    f1 = []
    for c in range(y.shape[1]):
        tp, fp, fn = (y[:, c] * p[:, c]).sum(), ((1 - y[:, c]) * p[:, c]).sum(), (y[:, c] * (1 - p[:, c])).sum()
        f1.append(2 * tp / (2 * tp + fp + fn + 1e-7))
    return 1 - np.mean(f1)


def test_soft_macro_f1_loss_matches_formula_and_hard_limit():
    from kexue.losses import soft_macro_f1_loss
    rng = np.random.default_rng(0)
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    p = rng.dirichlet(np.ones(3), 32).astype("float32")
    assert float(soft_macro_f1_loss(y, p)) == pytest.approx(brute_soft_f1(y, p), rel=1e-5)
    assert float(soft_macro_f1_loss(y, y)) == pytest.approx(0.0, abs=1e-6)  # perfect predictions


def test_class_shares_configured_or_derived():
    from kexue.spectra.cnn import class_shares
    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    conf = class_shares(["star", "galaxy", "qso"], y, {"star": 0.8, "galaxy": 0.1, "qso": 0.1})
    assert np.allclose(conf, [0.8, 0.1, 0.1])
    derived = class_shares(["a", "b", "c"], y, {"star": 0.8, "galaxy": 0.1, "qso": 0.1})
    assert np.allclose(derived, np.sqrt([90, 9, 1]) / np.sqrt([90, 9, 1]).sum())


def test_normalise_removes_brightness_and_is_finite():
    from kexue.spectra.features import feature_names, normalise, spectral_features
    rng = np.random.default_rng(0)
    x = rng.normal(100, 5, (4, 2600)).astype("float32")
    for method in ("median", "asinh", "zscore", "continuum"):
        assert np.allclose(normalise(x, method), normalise(x * 1000, method), atol=1e-4)
    x[1] = 0.0  # a dead spectrum must not produce NaN
    feats = spectral_features(x)
    assert feats.shape == (4, len(feature_names(10))) and np.isfinite(feats).all()
    with pytest.raises(ValueError, match="unknown scaling"):
        normalise(x, "log")


def test_continuum_scaling_keeps_the_lines_and_drops_the_slope():
    """A star's lines on two different continua (a steep blue one, a flat red one): divided by its running
    continuum each spectrum is ~1 away from the lines and dips to the line's depth at its centre, the same for
    both, while the median scaling alone leaves them far apart."""
    from kexue.spectra.features import normalise
    from kexue.spectra.sample import WAVE
    lines = 1 - 0.5 * np.exp(-0.5 * ((WAVE - 4861) / 4) ** 2) - 0.3 * np.exp(-0.5 * ((WAVE - 6563) / 5) ** 2)
    blue, red = 3.0 - 2.5 * (WAVE - 3690) / 5410, 0.5 + 0.5 * (WAVE - 3690) / 5410
    x = np.stack([blue * lines, red * lines]).astype("float32") * 1e4
    c = normalise(x, "continuum")
    far = np.abs(WAVE - 4861) > 60
    far &= np.abs(WAVE - 6563) > 60
    assert np.abs(c[:, far] - 1).max() < 0.02
    for centre, depth in ((4861, 0.5), (6563, 0.7)):
        i = int(np.argmin(np.abs(WAVE - centre)))
        assert np.allclose(c[:, i], depth, atol=0.03)
    assert np.abs(c[0] - c[1]).max() < 0.03
    m = normalise(x, "median")
    assert np.abs(m[0] - m[1]).max() > 1.0


def test_flux_knn_votes_of_the_nearest_spectra_and_gives_absent_classes_nothing():
    """Two shapes, one per class: every spectrum of a shape is predicted as its class; a third class never in
    training gets probability 0 and the rows still sum to 1."""
    from kexue.spectra.flux import SpectraFluxKNN
    from kexue.spectra.sample import WAVE
    rng = np.random.default_rng(0)
    dip = lambda centre: 1 - 0.5 * np.exp(-0.5 * ((WAVE - centre) / 6) ** 2)
    shapes = np.stack([dip(4861), dip(6563)]) * 1e3
    y = rng.integers(0, 2, 60)
    x = (shapes[y] * rng.normal(1, 0.05, (60, 1)) + rng.normal(0, 5, (60, 2600))).astype("float32")
    model = SpectraFluxKNN({"views": {"continuum": 10, "median": 50}, "pca": 5, "neighbours": 5}, None, 0,
                           ["a", "b", "c"])
    model.fit(x[:40], y[:40])
    p = model.predict(x[40:])
    assert p.shape == (20, 3) and (p.argmax(1) == y[40:]).all()
    assert np.allclose(p.sum(1), 1) and (p[:, 2] == 0).all()
    with pytest.raises(SystemExit, match="unknown scaling 'log'"):
        SpectraFluxKNN({"views": {"log": 10}, "pca": 5, "neighbours": 5}, None, 0, ["a", "b"]).fit(x, y)


def test_flux_rf_separates_two_line_shapes_and_gives_absent_classes_nothing():
    """The forest on the binned flux: two line positions, one per class, predicted right; a class never in
    training gets probability 0; the same seed grows the same forest."""
    from kexue.spectra.flux import SpectraFluxForest
    from kexue.spectra.sample import WAVE
    rng = np.random.default_rng(0)
    dip = lambda centre: 1 - 0.5 * np.exp(-0.5 * ((WAVE - centre) / 6) ** 2)
    shapes = np.stack([dip(4861), dip(6563)]) * 1e3
    y = rng.integers(0, 2, 60)
    x = (shapes[y] * rng.normal(1, 0.05, (60, 1)) + rng.normal(0, 5, (60, 2600))).astype("float32")
    params = {"views": {"continuum": 10}, "trees": 50, "max_features": 0.3, "min_leaf": 1, "class_weight": "balanced"}
    fit = lambda: SpectraFluxForest(params, None, 3, ["a", "b", "c"])
    model = fit()
    model.fit(x[:40], y[:40])
    p = model.predict(x[40:])
    assert p.shape == (20, 3) and (p.argmax(1) == y[40:]).all()
    assert np.allclose(p.sum(1), 1) and (p[:, 2] == 0).all()
    again = fit()
    again.fit(x[:40], y[:40])
    assert np.array_equal(again.predict(x[40:]), p)
