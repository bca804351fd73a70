"""ZLPR losses against a brute-force float64 formula (plain loops over classes), with gradients."""
import numpy as np
import pytest

from kexue.core.tfquiet import import_keras

keras = import_keras()
import tensorflow as tf

from kexue.losses.zlpr import (
    ZLPR,
    multi_hot,
    zlpr_loss,
    zlpr_probabilities,
    zlpr_soft_loss,
    zlpr_sparse_loss,
)

INF = np.inf


def brute(t, s):
    """log(1 + Σ t e^{-s}) + log(1 + Σ (1-t) e^{s}) per row and its gradient, skipping -inf classes."""
    t, s = np.asarray(t, np.float64), np.asarray(s, np.float64)
    loss, grad = np.zeros(s.shape[:-1]), np.zeros(s.shape)
    for row in np.ndindex(*s.shape[:-1]):
        a = b = 1.0
        for i in range(s.shape[-1]):
            if s[row][i] != -INF:
                a += t[row][i] * np.exp(-s[row][i])
                b += (1 - t[row][i]) * np.exp(s[row][i])
        loss[row] = np.log(a) + np.log(b)
        for i in range(s.shape[-1]):
            if s[row][i] != -INF:
                grad[row][i] = -t[row][i] * np.exp(-s[row][i]) / a + (1 - t[row][i]) * np.exp(s[row][i]) / b
    return loss, grad


def tf_loss_grad(fn, y, s):
    s = tf.constant(s)
    with tf.GradientTape() as tape:
        tape.watch(s)
        loss = fn(tf.constant(y), s)
    return loss.numpy(), tape.gradient(loss, s).numpy()


def to_sparse(y, k=None):
    """Dense 0/1 rows -> positive indices padded with -1."""
    k = k or max(1, int(y.sum(-1).max()))
    out = np.full((*y.shape[:-1], k), -1, "int32")
    for row in np.ndindex(*y.shape[:-1]):
        idx = np.flatnonzero(y[row])
        out[row][:len(idx)] = idx
    return out


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    s = (rng.normal(size=(6, 7)) * 4).astype("float32")
    y = (rng.random((6, 7)) < 0.3).astype("float32")
    y[0], y[1] = 0, 1                                           # all-negative and all-positive rows
    return y, s


def test_brute_force_gradient_is_the_derivative_of_its_loss(batch):
    s = batch[1]
    t = np.random.default_rng(1).random(s.shape)
    _, g = brute(t, s)
    eps = 1e-6
    for i in range(s.shape[1]):
        d = np.zeros(s.shape)
        d[:, i] = eps
        assert np.allclose((brute(t, s + d)[0] - brute(t, s - d)[0]) / (2 * eps), g[:, i], atol=1e-6)


@pytest.mark.parametrize("version", ["hard", "sparse"])
def test_hard_and_sparse_match_brute_force(batch, version):
    y, s = batch
    fn, labels = (zlpr_loss, y) if version == "hard" else (zlpr_sparse_loss, to_sparse(y))
    loss, grad = tf_loss_grad(fn, labels, s)
    ref_loss, ref_grad = brute(y, s)
    assert loss.dtype == np.float32 and loss.shape == (6,)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-5)
    assert ref_loss[0] == pytest.approx(np.log1p(np.exp(s[0].astype(float)).sum()), rel=1e-9)  # all negative
    assert ref_loss[1] == pytest.approx(np.log1p(np.exp(-s[1].astype(float)).sum()), rel=1e-9)  # all positive


def test_soft_matches_brute_force_with_exact_zeros_and_ones(batch):
    _, s = batch
    t = np.random.default_rng(2).random(s.shape).astype("float32")
    t[:, :2] = 0.0
    t[:, 2:4] = 1.0
    loss, grad = tf_loss_grad(zlpr_soft_loss, t, s)
    ref_loss, ref_grad = brute(t, s)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-5)
    tt = tf.constant(t)  # the labels' own gradient stays finite where t is 0 or 1 (mixup through a graph)
    with tf.GradientTape() as tape:
        tape.watch(tt)
        gt = tape.gradient(zlpr_soft_loss(tt, tf.constant(s)), tt)
    assert np.isfinite(gt.numpy()).all()


def test_soft_with_hard_targets_is_the_hard_loss(batch):
    y, s = batch
    assert np.array_equal(zlpr_soft_loss(y, s).numpy(), zlpr_loss(y, s).numpy())
    assert np.array_equal(tf_loss_grad(zlpr_soft_loss, y, s)[1], tf_loss_grad(zlpr_loss, y, s)[1])


def test_sparse_equals_dense_on_the_same_labels():
    rng = np.random.default_rng(3)
    s = (rng.normal(size=(2, 3, 9)) * 3).astype("float32")  # two leading axes
    y = (rng.random(s.shape) < 0.3).astype("float32")
    idx = to_sparse(y, k=int(y.sum(-1).max()) + 2)       # every row padded
    np.testing.assert_array_equal(multi_hot(idx, 9).numpy(), y)
    np.testing.assert_allclose(zlpr_sparse_loss(idx, s).numpy(), zlpr_loss(y, s).numpy(), rtol=1e-6)
    dup = np.array([[2, 2, 0, -1]])  # a repeated index counts once, as in the dense matrix
    np.testing.assert_allclose(zlpr_sparse_loss(dup, s[0, :1]), zlpr_loss(multi_hot(dup, 9), s[0, :1]), rtol=1e-6)


def test_sparse_keeps_the_negatives_when_the_positives_dominate():
    # bert4keras' lse_all + log(1 - exp(lse_pos - lse_all)) returns ~3.9 here; the exact loss is ~6e-9
    s = np.array([[20.0, -20.0, -20.0, -20.0]], "float32")
    loss, grad = tf_loss_grad(zlpr_sparse_loss, np.array([[0, -1]]), s)
    ref_loss, ref_grad = brute([[1, 0, 0, 0]], s)
    assert loss[0] == pytest.approx(ref_loss[0], abs=1e-7)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-8)


@pytest.mark.parametrize("version", ["hard", "soft", "sparse"])
def test_masked_classes_are_the_same_as_dropping_them(batch, version):
    y, s = batch
    t = np.where(y > 0, 0.8, 0.1).astype("float32") if version == "soft" else y
    masked = s.copy()
    drop = [1, 4]                                        # row 1 is all-positive: masks positives too
    masked[:, drop] = -INF
    keep = [i for i in range(s.shape[1]) if i not in drop]
    fn = {"hard": zlpr_loss, "soft": zlpr_soft_loss, "sparse": zlpr_sparse_loss}[version]
    conv = to_sparse if version == "sparse" else (lambda a: a)
    loss, grad = tf_loss_grad(fn, conv(t), masked)
    loss_kept, grad_kept = tf_loss_grad(fn, conv(t[:, keep]), s[:, keep])
    np.testing.assert_allclose(loss, loss_kept, rtol=1e-6)
    np.testing.assert_allclose(grad[:, keep], grad_kept, atol=1e-6)
    assert np.all(grad[:, drop] == 0)


@pytest.mark.parametrize("version", ["hard", "soft", "sparse"])
def test_extreme_logits_give_finite_loss_and_gradients(version):
    s = np.array([[1e4, -1e4, -1e4], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4]], "float32")
    y = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1]], "float32")
    fn = {"hard": zlpr_loss, "soft": zlpr_soft_loss, "sparse": zlpr_sparse_loss}[version]
    loss, grad = tf_loss_grad(fn, to_sparse(y) if version == "sparse" else y, s)
    assert np.isfinite(loss).all() and np.isfinite(grad).all() and np.abs(grad).max() <= 1 + 1e-6
    # right and confident -> 0; a positive at -1e4 and two negatives at +1e4 -> log(1 + e^1e4) + log(1 + 2 e^1e4)
    np.testing.assert_allclose(loss, [0, 2e4 + np.log(2), 0, 0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad[1], [-1, 0.5, 0.5], atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_logits_are_computed_in_float32(batch, dtype):
    y, s = batch
    # an extra confident positive at 1e4 (finite in both dtypes, e^1e4 overflows anything) adds nothing
    half = tf.cast(tf.constant(np.concatenate([s, np.full((6, 1), 1e4, "float32")], 1)), dtype)
    yy = np.concatenate([y, np.ones((6, 1), "float32")], 1)
    ref = brute(y, tf.cast(half[:, :-1], "float32").numpy())
    for fn, labels in [(zlpr_loss, yy), (zlpr_soft_loss, yy), (zlpr_sparse_loss, to_sparse(yy))]:
        with tf.GradientTape() as tape:
            tape.watch(half)
            loss = fn(labels, half)
        grad = tape.gradient(loss, half)
        assert loss.dtype == tf.float32 and grad.dtype == half.dtype
        np.testing.assert_allclose(loss.numpy(), ref[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(tf.cast(grad, "float32").numpy(), np.pad(ref[1], ((0, 0), (0, 1))), atol=1e-2)


def test_soft_loss_minimum_is_read_as_sigmoid_2s():
    t = np.random.default_rng(4).uniform(0.05, 0.95, size=(4, 6)).astype("float32")
    s_star = 0.5 * np.log(t / (1 - t))                   # σ(2s) = t
    _, g = tf_loss_grad(zlpr_soft_loss, t, s_star)
    assert np.abs(g).max() < 1e-5                         # stationary, and the loss is convex: the minimum
    _, g_naive = tf_loss_grad(zlpr_soft_loss, t, 2 * s_star)  # σ(s) = t instead
    assert np.abs(g_naive).max() > 0.05
    np.testing.assert_allclose(zlpr_probabilities(s_star).numpy(), t, rtol=1e-5)
    assert np.array_equal(zlpr_probabilities(np.array([-1.0, 0.0, 2.0])).numpy() > 0.5, [False, False, True])


def test_zlpr_class_reduces_serialises_and_rejects_unknown_labels(batch):
    y, s = batch
    assert float(ZLPR()(y, s)) == pytest.approx(float(np.mean(zlpr_loss(y, s))), rel=1e-6)
    assert float(ZLPR("sparse")(to_sparse(y), s)) == pytest.approx(float(ZLPR()(y, s)), rel=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ZLPR("soft", name="z")))
    assert isinstance(again, ZLPR) and again.labels == "soft" and again.name == "z"
    with pytest.raises(ValueError, match="labels must be one of"):
        ZLPR("dense")


@pytest.mark.parametrize("labels", ["hard", "sparse"])
def test_compiled_model_fits_a_toy_multilabel_problem(tmp_path, labels):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 6)) > 1.0).astype("float32")  # linearly separable, 40% positives
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=ZLPR(labels))
    hist = model.fit(x, y if labels == "hard" else to_sparse(y), batch_size=64, epochs=15, verbose=0)
    pred = model.predict(x, verbose=0) > 0
    assert hist.history["loss"][-1] < 0.3 * hist.history["loss"][0]
    assert (pred == (y > 0)).mean() > 0.97
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, ZLPR) and loaded.loss.labels == labels
