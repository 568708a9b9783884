import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from sk_l2rw.datasets import make_imbalance_pair, make_noisy_labels, split_trusted

Y3 = np.repeat([0, 1, 2], 100)


# make_noisy_labels -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["uniform", "pair", "background"])
@pytest.mark.parametrize("noise_rate", [0.0, 0.1, 0.25, 0.5])
def test_exact_noise_rate(kind, noise_rate):
    y_noisy, mask = make_noisy_labels(Y3, noise_rate=noise_rate, kind=kind, random_state=0)
    assert mask.dtype == bool and mask.shape == Y3.shape
    assert mask.sum() == round(noise_rate * Y3.size)
    assert np.all(y_noisy[mask] != Y3[mask])
    assert np.all(y_noisy[~mask] == Y3[~mask])
    assert y_noisy.dtype == Y3.dtype


def test_uniform_reaches_every_other_class():
    y = np.repeat(np.arange(5), 400)
    y_noisy, mask = make_noisy_labels(y, noise_rate=0.5, random_state=0)
    for c in range(5):
        flipped_to = set(y_noisy[mask & (y == c)].tolist())
        assert flipped_to == set(range(5)) - {c}


def test_pair_maps_to_next_class():
    y = np.array([3, 7, 11] * 20)
    y_noisy, mask = make_noisy_labels(y, noise_rate=0.6, kind="pair", random_state=0)
    following = {3: 7, 7: 11, 11: 3}
    assert all(following[t] == n for t, n in zip(y[mask], y_noisy[mask], strict=True))


@pytest.mark.parametrize("background_class, expected", [(None, 0), (2, 2)])
def test_background_goes_to_one_class(background_class, expected):
    y_noisy, mask = make_noisy_labels(
        Y3,
        noise_rate=0.3,
        kind="background",
        background_class=background_class,
        random_state=0,
    )
    assert mask.sum() == 90
    assert set(y_noisy[mask].tolist()) == {expected}
    assert not np.any(mask[Y3 == expected])  # background rows are never changed


def test_background_too_much_noise():
    with pytest.raises(ValueError, match="only 200 rows are not of the background"):
        make_noisy_labels(Y3, noise_rate=0.7, kind="background")


def test_background_class_not_in_y():
    with pytest.raises(ValueError, match="background_class=5 is not a label"):
        make_noisy_labels(Y3, noise_rate=0.1, kind="background", background_class=5)


def test_string_labels():
    y = np.array(["cat", "dog", "emu"] * 30)
    y_noisy, mask = make_noisy_labels(y, noise_rate=0.3, random_state=0)
    assert y_noisy.dtype == y.dtype
    assert set(y_noisy.tolist()) <= {"cat", "dog", "emu"}
    assert mask.sum() == 27 and np.all(y_noisy[mask] != y[mask])
    y_pair, _ = make_noisy_labels(["dog", "cat"], noise_rate=0.9, kind="pair")
    assert y_pair.tolist() == ["cat", "dog"]
    y_bg, mask = make_noisy_labels(
        y, noise_rate=0.2, kind="background", background_class="emu", random_state=0
    )
    assert set(y_bg[mask].tolist()) == {"emu"}


@pytest.mark.parametrize("kind", ["uniform", "pair", "background", "matrix"])
def test_reproducible_with_random_state(kind):
    params = (
        dict(kind=kind, transition_matrix=np.full((3, 3), 1 / 3))
        if kind == "matrix"
        else dict(kind=kind, noise_rate=0.3)
    )
    a = make_noisy_labels(Y3, random_state=0, **params)
    b = make_noisy_labels(Y3, random_state=0, **params)
    c = make_noisy_labels(Y3, random_state=1, **params)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_matrix_rate_within_sampling_error():
    T = np.array([[0.6, 0.3, 0.1], [0.0, 0.9, 0.1], [0.25, 0.25, 0.5]])
    y = np.repeat([0, 1, 2], [10_000, 6_000, 4_000])
    y_noisy, mask = make_noisy_labels(y, kind="matrix", transition_matrix=T, random_state=0)
    np.testing.assert_array_equal(mask, y_noisy != y)
    p_flip = 1 - np.diag(T)[y]
    expected, sigma = p_flip.mean(), np.sqrt(np.sum(p_flip * (1 - p_flip))) / y.size
    assert abs(mask.mean() - expected) < 4 * sigma
    assert not np.any(y_noisy[y == 1] == 0)  # T[1, 0] == 0 is never drawn
    observed = np.mean(y_noisy[y == 0] == 1)
    assert abs(observed - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 10_000)


def test_matrix_identity_changes_nothing():
    y_noisy, mask = make_noisy_labels(Y3, kind="matrix", transition_matrix=np.eye(3))
    np.testing.assert_array_equal(y_noisy, Y3)
    assert not mask.any()


@pytest.mark.parametrize(
    "params, err, match",
    [
        (dict(noise_rate=1.0), ValueError, "'noise_rate' parameter"),
        (dict(noise_rate=-0.1), ValueError, "'noise_rate' parameter"),
        (dict(noise_rate="0.1"), TypeError, "'noise_rate' parameter"),
        (dict(noise_rate=0.1, kind="flip"), ValueError, "'kind' parameter"),
        (dict(), ValueError, "noise_rate is required when kind='uniform'"),
        (
            dict(noise_rate=0.1, kind="matrix", transition_matrix=np.eye(3)),
            ValueError,
            "noise_rate must be None when kind='matrix'",
        ),
        (dict(kind="matrix"), ValueError, "transition_matrix is required"),
        (
            dict(noise_rate=0.1, transition_matrix=np.eye(3)),
            ValueError,
            "transition_matrix must be None when kind='uniform'",
        ),
        (
            dict(kind="matrix", transition_matrix=np.eye(2)),
            ValueError,
            r"transition_matrix must have shape .* \(3, 3\)",
        ),
        (
            dict(kind="matrix", transition_matrix=np.full((3, 3), 0.5)),
            ValueError,
            "Each row of transition_matrix must sum to 1",
        ),
        (
            dict(kind="matrix", transition_matrix=[[1.5, -0.5, 0]] * 3),
            ValueError,
            "finite, non-negative",
        ),
        (
            dict(noise_rate=0.1, background_class=0),
            ValueError,
            "background_class must be None when kind='uniform'",
        ),
        (dict(noise_rate=0.1, random_state="x"), ValueError, "'random_state'"),
    ],
)
def test_make_noisy_labels_errors(params, err, match):
    with pytest.raises(err, match=match):
        make_noisy_labels(Y3, **params)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(10), "at least 2 classes"),
        ([], "at least 2 classes"),
        (np.zeros((5, 2)), "y must be 1-D"),
        (np.linspace(0, 1, 10), "Unknown label type"),
    ],
)
def test_make_noisy_labels_bad_y(y, match):
    with pytest.raises(ValueError, match=match):
        make_noisy_labels(y, noise_rate=0.1)


@settings(max_examples=150, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=60)
    | st.lists(st.integers(-3, 3), min_size=2, max_size=60),
    noise_rate=st.floats(0, 1, exclude_max=True),
    kind=st.sampled_from(["uniform", "pair", "background"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_noisy_labels_invariants(labels, noise_rate, kind, seed):
    y = np.asarray(labels)
    classes = np.unique(y)
    n_noisy = round(noise_rate * y.size)
    if classes.size < 2:
        with pytest.raises(ValueError, match="at least 2 classes"):
            make_noisy_labels(y, noise_rate=noise_rate, kind=kind)
        return
    if kind == "background" and n_noisy > np.sum(y != classes[0]):
        with pytest.raises(ValueError, match="background class"):
            make_noisy_labels(y, noise_rate=noise_rate, kind=kind)
        return
    y_noisy, mask = make_noisy_labels(y, noise_rate=noise_rate, kind=kind, random_state=seed)
    assert y_noisy.dtype == y.dtype and y_noisy.shape == y.shape
    assert np.isin(y_noisy, classes).all()
    np.testing.assert_array_equal(mask, y_noisy != y)
    assert mask.sum() == n_noisy
    codes, noisy_codes = np.searchsorted(classes, y), np.searchsorted(classes, y_noisy)
    if kind == "pair":
        np.testing.assert_array_equal(noisy_codes[mask], (codes[mask] + 1) % classes.size)
    if kind == "background":
        assert np.all(noisy_codes[mask] == 0)


# make_imbalance_pair ---------------------------------------------------------

X_PAIR = np.arange(300).reshape(-1, 1)
Y_PAIR = np.repeat([4, 9, 7], 100)


@pytest.mark.parametrize("share", [0.5, 0.9, 0.95, 0.99])
def test_imbalance_pair_share(share):
    X, y = make_imbalance_pair(
        X_PAIR, Y_PAIR, majority_class=4, minority_class=9, majority_share=share
    )
    n_maj, n_min = np.sum(y == 4), np.sum(y == 9)
    assert n_maj + n_min == y.size == X.shape[0] and n_min >= 1
    assert n_maj <= 100 and n_min <= 100
    assert abs(n_maj / y.size - share) <= 0.5 / y.size + 1e-12
    assert n_maj == 100  # the majority class is the binding one here
    np.testing.assert_array_equal(Y_PAIR[X.ravel()], y)  # rows stay aligned


def test_imbalance_pair_minority_bound():
    y = np.repeat([0, 1], [100, 5])
    X, y_out = make_imbalance_pair(
        np.zeros((105, 2)), y, majority_class=0, minority_class=1, majority_share=0.8
    )
    # 27 rows is the most with round(0.2 * n) <= 5 minority rows
    assert (np.sum(y_out == 0), np.sum(y_out == 1)) == (22, 5)


@pytest.mark.parametrize("share", [0.5, 0.75, 0.9, 0.97, 0.995])
@pytest.mark.parametrize("n_maj, n_min", [(180, 180), (40, 3), (7, 30)])
def test_imbalance_pair_takes_as_many_rows_as_fit(share, n_maj, n_min):
    y = np.repeat([0, 1], [n_maj, n_min])
    fits = [
        n
        for n in range(1, y.size + 1)
        if round((1 - share) * n) <= n_min and n - round((1 - share) * n) <= n_maj
    ]
    params = dict(majority_class=0, minority_class=1, majority_share=share)
    if round((1 - share) * max(fits)) < 1:
        with pytest.raises(ValueError, match="leaves no row of minority_class"):
            make_imbalance_pair(np.zeros((y.size, 1)), y, **params)
    else:
        _, y_out = make_imbalance_pair(np.zeros((y.size, 1)), y, **params)
        assert y_out.size == max(fits)


def test_imbalance_pair_n_samples_and_shuffle():
    X, y = make_imbalance_pair(
        X_PAIR,
        Y_PAIR,
        majority_class=9,
        minority_class=7,
        majority_share=0.95,
        n_samples=100,
        random_state=0,
    )
    assert (np.sum(y == 9), np.sum(y == 7)) == (95, 5)
    assert not np.all(np.diff(X.ravel()) > 0)  # shuffled
    X2, y2 = make_imbalance_pair(
        X_PAIR,
        Y_PAIR,
        majority_class=9,
        minority_class=7,
        majority_share=0.95,
        n_samples=100,
        random_state=0,
    )
    np.testing.assert_array_equal(X, X2)


def test_imbalance_pair_keeps_sparse_and_strings():
    y = np.repeat(["x", "y"], 20)
    X, y_out = make_imbalance_pair(
        sparse.csr_matrix(np.eye(40)),
        y,
        majority_class="y",
        minority_class="x",
        majority_share=0.8,
    )
    assert sparse.issparse(X) and X.shape == (25, 40)
    assert (np.sum(y_out == "y"), np.sum(y_out == "x")) == (20, 5)


@pytest.mark.parametrize(
    "params, err, match",
    [
        (dict(majority_share=0.4), ValueError, "'majority_share' parameter"),
        (dict(majority_share=1.0), ValueError, "'majority_share' parameter"),
        (dict(majority_share=0.9, n_samples=1), ValueError, "'n_samples' parameter"),
        (dict(majority_share=0.999), ValueError, "leaves no row of minority_class"),
        (
            dict(majority_share=0.999, n_samples=150),
            ValueError,
            "leaves no row of minority_class",
        ),
        (dict(majority_share=0.9, n_samples=201), ValueError, "is more than the 200"),
        (
            dict(majority_share=0.9, n_samples=200),
            ValueError,
            "needs 180 rows of majority_class 4, but y has only 100",
        ),
        (
            dict(majority_share=0.5, majority_class=3),
            ValueError,
            "majority_class=3 is not a label in y",
        ),
        (
            dict(majority_share=0.5, minority_class=4),
            ValueError,
            "must differ",
        ),
    ],
)
def test_imbalance_pair_errors(params, err, match):
    params = dict(majority_class=4, minority_class=9) | params
    with pytest.raises(err, match=match):
        make_imbalance_pair(X_PAIR, Y_PAIR, **params)


def test_imbalance_pair_inconsistent_length():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        make_imbalance_pair(
            X_PAIR[:10], Y_PAIR, majority_class=4, minority_class=9, majority_share=0.9
        )


# split_trusted ---------------------------------------------------------------


def test_split_trusted_per_class():
    y = np.array(["b", "a", "c"] * 10)
    mask = split_trusted(y, n_per_class=3, random_state=0)
    assert mask.dtype == bool and mask.shape == y.shape
    assert {c: int(np.sum(mask & (y == c))) for c in "abc"} == dict(a=3, b=3, c=3)
    np.testing.assert_array_equal(mask, split_trusted(y, n_per_class=3, random_state=0))
    assert not np.array_equal(mask, split_trusted(y, n_per_class=3, random_state=1))


def test_split_trusted_composes_with_noisy_labels():
    y_noisy, _ = make_noisy_labels(Y3, noise_rate=0.5, random_state=0)
    trusted = split_trusted(Y3, n_per_class=5, random_state=0)
    y_fit = np.where(trusted, Y3, y_noisy)
    np.testing.assert_array_equal(y_fit[trusted], Y3[trusted])
    np.testing.assert_array_equal(y_fit[~trusted], y_noisy[~trusted])


@pytest.mark.parametrize(
    "y, n_per_class, match",
    [
        (np.repeat([0, 1], [5, 3]), 3, r"at least 4 rows per class.*\[1\]"),
        (np.zeros(10), 1, "at least 2 classes"),
        (Y3, 0, "'n_per_class' parameter"),
        (Y3, 1.5, "'n_per_class' parameter"),
    ],
)
def test_split_trusted_errors(y, n_per_class, match):
    with pytest.raises((ValueError, TypeError), match=match):
        split_trusted(y, n_per_class=n_per_class)
