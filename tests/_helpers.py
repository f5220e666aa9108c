"""Helpers shared by the test modules (pytest puts this folder on sys.path)."""
import numpy as np
import scipy.sparse as sp


def eps(dtype):
    """Machine epsilon of a dtype (a complex dtype: of its real part)."""
    return np.finfo(np.dtype(dtype)).eps


def backward_error(a, x, b):
    """Normwise backward error ||A x - b||_1 / (||A||_1 ||x||_1 + ||b||_1), computed in
    complex128 whatever the dtypes; ``a`` may be a scipy.sparse matrix, ``x`` and ``b``
    1-D or 2-D."""
    if sp.issparse(a):
        a = a.toarray()
    a = np.asarray(a, dtype=np.complex128)
    x = np.asarray(x, dtype=np.complex128).reshape(a.shape[1], -1)
    b = np.asarray(b, dtype=np.complex128).reshape(a.shape[0], -1)
    r = np.linalg.norm(a @ x - b, 1)
    return r / (np.linalg.norm(a, 1) * np.linalg.norm(x, 1) + np.linalg.norm(b, 1))


def rand(rng, shape, dtype):
    """Standard normal entries of ``dtype`` (complex: independent real and imaginary
    parts)."""
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def hermitian_part(m):
    """(M + M^H) / 2: exactly Hermitian (exactly symmetric for real M) with an exactly
    real diagonal, bit for bit, whatever rounding produced M -- a product such as
    X @ X^H from BLAS need not be (some CPUs' kernels leave ~1e-17 imaginary parts on
    the diagonal or differ across the triangles).  Works for scipy.sparse too."""
    return (m + m.conj().T) / 2


def same_error_type(ours, ref):
    """Do our exception type and scipy's agree?  The same class, except where scipy lets
    numpy's ``DTypePromotionError`` (a TypeError) through and ours says TypeError."""
    if ours is ref:
        return True
    return issubclass(ref, np.exceptions.DTypePromotionError) and ours is TypeError


def assert_interrupt_stops(run, sample, sample_fraction, delay):
    """A real SIGINT-style interrupt (``_thread.interrupt_main``) fired ``delay`` s
    into the long call ``run()`` raises KeyboardInterrupt out of it, and -- where
    ``run`` would clearly have outlasted the interrupt (its time estimated from
    ``sample()``, that fraction of the work) -- before it finished."""
    import _thread
    import threading
    import time

    import pytest
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("interrupt_main reaches the main thread only")
    t0 = time.perf_counter()
    sample()
    estimate = (time.perf_counter() - t0) / sample_fraction
    done = {"finished": False}
    timer = threading.Timer(delay, _thread.interrupt_main)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        timer.start()
        run()
        done["finished"] = True
        deadline = time.perf_counter() + 30          # (the interrupt is still due)
        while time.perf_counter() < deadline:
            time.sleep(0.01)
    timer.join(5)
    elapsed = time.perf_counter() - t0
    if estimate > 4 * elapsed:
        assert not done["finished"], "the batch ran to its end despite the interrupt"
