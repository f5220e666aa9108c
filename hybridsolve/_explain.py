"""explain(): why a road was taken, and what accuracy to expect."""
from __future__ import annotations

import numpy as np

from hybridsolve import _registry
from hybridsolve._solve import plan, rcond_of

__all__ = ["explain", "Explanation"]


def _flops(cost):
    for unit, scale in (("Gflop", 1e9), ("Mflop", 1e6), ("kflop", 1e3)):
        if cost >= scale:
            return f"{cost / scale:.3g} {unit}"
    return f"{cost:.3g} flop"


class Explanation:
    """The report `explain` returns; ``str()`` (or the REPL) shows it.

    Attributes: ``structure``, ``candidates`` [(cost, solver)], ``rejected``
    [(solver, reason)], ``declined`` [(solver, reason)], ``chosen`` (the Solver),
    ``factorization``, ``rcond``.
    """

    def __init__(self, p):
        self.structure = p.structure
        self.candidates = p.candidates
        self.rejected = p.rejected
        self.declined = p.declined
        self.chosen = p.chosen
        self.factorization = p.factorization
        self.rcond = rcond_of(p.factorization)

    def _structure_lines(self):
        s = self.structure
        yield f"matrix: {s.n} x {s.n} {s.dtype} ({s.format})"
        if s.assume_a is not None:
            yield f"  assume_a={s.assume_a!r} given: inspection limited to what it needs"
        facts = []
        if s.finite is not None:
            facts.append("finite" if s.finite else "NOT finite")
        if s.symmetric is not None:
            facts.append("symmetric" if s.symmetric else "not symmetric")
        if s.dtype.kind == "c" and s.hermitian is not None:
            facts.append("Hermitian" if s.hermitian else "not Hermitian")
        if s.diag_real_positive is not None:
            facts.append("real positive diagonal" if s.diag_real_positive
                         else "diagonal not all real positive")
        if facts:
            yield "  " + ", ".join(facts)
        if s.lower_bandwidth is not None:
            yield (f"  bandwidth: {s.lower_bandwidth} below, {s.upper_bandwidth} above "
                   f"the diagonal")
        if s.nnz is not None and s.n:
            yield f"  nonzeros: {s.nnz} ({100.0 * s.nnz / (s.n * s.n):.3g}% dense)"
        if s.norm1 is not None:
            yield f"  ||A||_1 = {s.norm1:.6g}"
        for note in s.notes:
            yield f"  note: {note}"

    def __str__(self):
        lines = list(self._structure_lines())
        lines.append("candidates (estimated flops, cheapest first):")
        for cost, solver in self.candidates:
            mark = "->" if solver is self.chosen else "  "
            why = next((r for s, r in self.declined if s is solver), None)
            tail = f"  declined: {why}" if why else ""
            lines.append(f"  {mark} {solver.name:<18} {_flops(cost):>14}{tail}")
        for solver, reason in self.rejected:
            lines.append(f"     {solver.name:<18} {'-':>14}  {reason}")
        first = self.candidates[0][1]
        if self.chosen is first:
            why = "the cheapest road that accepts this matrix"
        else:
            why = "the cheaper roads declined it (see above)"
        kind = getattr(self.factorization, "kind", None) or type(self.factorization).__name__
        lines.append(f"chosen: {self.chosen.name} ({kind}): {why}")
        for note in getattr(self.factorization, "notes", ()) or ():
            lines.append(f"  note: {note}")
        s = self.structure
        if (s.format == "dense" and s.assume_a is None
                and _registry.shortcut_open("small", "dense", s.dtype, s.n)):
            who = ("solve() and factorize() hand" if s.dtype.char in "dD"
                   else "factorize() hands")
            lines.append(f"  note: {who} such a matrix (this order and dtype, no hint) "
                         "straight to the small road's kernel, skipping inspection and "
                         "pricing: the registry chooses that road for every matrix of "
                         "this order whatever its structure")
        if self.rcond != self.rcond:
            lines.append("rcond estimate: unknown (this road's factorization does not "
                         "report one; solve() cannot warn about ill-conditioning)")
            return "\n".join(lines)
        eps = np.finfo(getattr(self.factorization, "dtype", s.dtype)).eps
        rc = self.rcond
        if rc == rc and rc > 0:
            kappa = 1.0 / rc
            lines.append(f"rcond estimate: {rc:.3g} (kappa_1(A) ~ {kappa:.3g})")
            lines.append(
                "accuracy to expect: ||dx||/||x|| <~ kappa(A) (||dA||/||A|| + "
                f"||db||/||b||); with data exact to {np.dtype(eps.dtype)} rounding "
                f"(eps = {eps:.3g}) that is about {min(kappa * eps, 1.0):.3g}"
                + (" -- ill-conditioned: solve() warns (rcond < eps)" if rc < eps else ""))
        elif rc == 0:
            lines.append("rcond estimate: 0 -- numerically singular")
        else:
            lines.append("rcond estimate: not available for this road")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))

    def __repr__(self):
        return str(self)


def explain(a, assume_a=None, lower=False, check_finite=True, *, method=None):
    """Report how `solve` would treat ``a``: the structure the inspection found, every
    registered road with its price (or why it cannot take ``a``), the road chosen and why,
    and the reciprocal condition estimate with the perturbation bound it implies
    (relative error <~ kappa(A) (||dA||/||A|| + ||db||/||b||)).

    Returns an `Explanation`; ``print(explain(a))`` shows the report.

    Examples
    --------
    >>> import numpy as np, hybridsolve
    >>> X = np.random.default_rng(0).random((100, 100))
    >>> print(hybridsolve.explain(X @ X.T + np.eye(100)))   # doctest: +ELLIPSIS
    matrix: 100 x 100 float64 (dense)
    ...
    chosen: cholesky (cholesky): the cheapest road that accepts this matrix
    ...
    """
    p = plan(a, assume_a=assume_a, lower=lower, check_finite=check_finite,
             method=method)
    return Explanation(p)
