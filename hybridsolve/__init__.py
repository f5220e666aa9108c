"""hybridsolve: a drop-in ``scipy.linalg.solve`` that inspects ``A`` first and takes the
cheapest correct road."""
from hybridsolve._protocol import Factorization, NotApplicable, Solver, Structure

__version__ = "0.1.0"
__all__ = ["Factorization", "NotApplicable", "Solver", "Structure"]
