"""Every built-in road's factorization survives a pickle round trip and solves the same
(the many-right-hand-sides Dask road ships factorizations to workers this way)."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import hybridsolve
from _helpers import backward_error

N = 40


def _cases():
    rng = np.random.default_rng(7)
    g = rng.standard_normal((N, N)) + N * np.eye(N)
    d = rng.random(N) + 1.0
    tri = sp.diags([np.full(N - 1, -1.0), np.full(N, 4.0), np.full(N - 1, -1.5)],
                   [-1, 0, 1])
    band = sp.diags([np.full(N - 3, 0.5), np.full(N, 6.0), np.full(N - 2, -1.0)],
                    [-3, 0, 2])
    rand = sp.random(N, N, density=0.1, random_state=3, format="csr") + 10 * sp.eye(N)
    spd = sp.diags([np.full(N - 1, -1.0), np.full(N, 4.0), np.full(N - 1, -1.0)],
                   [-1, 0, 1])
    return {
        "lu": (g, None),
        "cholesky": (g @ g.T, None),
        "triangular": (np.triu(g), None),
        "diagonal": (np.diag(d), None),
        "tridiagonal": (tri.toarray(), None),
        "banded": (band.toarray(), None),
        "woodbury": (hybridsolve.DiagonalPlusLowRank(d, rng.random((N, 2)),
                                                     rng.random((2, N))), None),
        "small": (g[:5, :5], None),
        "complex lu": (g + 1j * rng.standard_normal((N, N)), None),
        "sparse lu": (sp.csc_array(rand), None),
        "sparse lu (csr)": (sp.csr_array(rand + sp.random(N, N, density=0.05,
                                                             random_state=4)), None),
        "sparse banded": (sp.csr_array(band), None),
        "sparse tridiagonal": (sp.csr_array(tri), None),
        "sparse diagonal": (sp.csr_array(sp.diags(d)), None),
        "sparse triangular": (sp.csr_array(np.triu(g)), "sparse_triangular"),
        "sparse cholesky": (sp.csc_array(spd), "sparse_cholesky"),
        "complex sparse lu": (sp.csc_array(rand * (1 + 1j)), None),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("trans", [0, 1, 2])
def test_pickle_round_trip(name, trans):
    a, method = CASES[name]
    try:
        fac = hybridsolve.factorize(a, method=method)
    except ValueError as exc:                 # an optional backend not installed
        pytest.skip(str(exc))
    n = a.shape[0]
    rng = np.random.default_rng(1)
    b = rng.standard_normal((n, 3))
    again = pickle.loads(pickle.dumps(fac))
    assert type(again) is type(fac) and again.kind == fac.kind
    x1, x2 = fac.solve(b, trans), again.solve(b, trans)
    dense = a.toarray() if hasattr(a, "toarray") else a
    op = {0: dense, 1: dense.T, 2: dense.conj().T}[trans]
    tol = 100 * n * np.finfo(float).eps
    assert backward_error(op, x2, b) < tol
    assert np.linalg.norm(x1 - x2) <= tol * np.linalg.norm(x1) * max(1.0, 1 / fac.rcond)


@pytest.mark.parametrize("name", ["lu", "cholesky", "banded", "sparse lu", "woodbury"])
def test_unpickled_from_read_only_buffers(name):
    """distributed ships arrays as read-only protocol-5 buffers: still solvable."""
    a, method = CASES[name]
    fac = hybridsolve.factorize(a, method=method)
    buffers = []
    data = pickle.dumps(fac, protocol=5, buffer_callback=buffers.append)
    again = pickle.loads(data, buffers=[bytes(b.raw()) for b in buffers])
    b = np.ones(a.shape[0])
    np.testing.assert_allclose(again.solve(b), fac.solve(b), rtol=1e-12)
