"""Implicit gradients of bilevel problems whose inner problem is a maximisation (BARFI).

The inner learner maximises ``J_phi(theta)`` (the return of a policy ``theta`` on the
reward blended by ``phi``); the outer problem maximises the primary return
``J(theta*(phi))``. At an inner optimum ``grad_theta J_phi = 0``, so by the implicit
function theorem::

    dJ/dphi = -(d2 J_phi / dphi dtheta) H^-1 grad_theta J,   H = d2 J_phi / dtheta2

``H`` is negative definite at a maximum. ``H^-1 v`` is applied with a Neumann series,
``H^-1 v = -alpha * sum_k (I + alpha H)^k v``, which converges when every eigenvalue of
``-H`` lies in ``(0, 2 / alpha)``; the first-order variant takes ``H^-1 = -I``. Only
Hessian-vector products are formed (double backward), never ``H`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError

HVP = Callable[[torch.Tensor], torch.Tensor]
MODES = ("neumann", "first-order")


def flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate tensors into one flat vector."""
    return torch.cat([t.reshape(-1) for t in tensors])


def flat_grad(
    y: torch.Tensor,
    params: Sequence[torch.Tensor],
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> torch.Tensor:
    """The gradient of scalar ``y`` with respect to ``params``, flattened (zeros where
    ``y`` does not depend on a parameter)."""
    grads = torch.autograd.grad(
        y, list(params), create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )
    return flat(
        [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params, strict=True)]
    )


def _check_finite(t: torch.Tensor, what: str) -> None:
    if not torch.isfinite(t).all():
        raise ParameterError(
            f"{what} is not finite (NaN or inf); check the rewards and the policy for "
            "NaN, or lower the learning rates."
        )


def neumann_inverse_hvp(hvp: HVP, v: torch.Tensor, alpha: float, steps: int) -> torch.Tensor:
    """``H^-1 v`` for a negative-definite ``H`` known through ``hvp(w) = H w``.

    ``-alpha * sum_{k=0}^{steps} (I + alpha H)^k v``. Raises :class:`ParameterError` if
    the terms grow (``alpha`` too large for this Hessian: ``alpha * |lambda_max(H)|``
    must stay below 2).

    Example:
        >>> import torch
        >>> H = torch.tensor([[-2.0, 0.0], [0.0, -0.5]])
        >>> neumann_inverse_hvp(lambda w: H @ w, torch.tensor([1.0, 1.0]), 0.4, 200)
        tensor([-0.5000, -2.0000])
    """
    if not alpha > 0:
        raise ParameterError(f"Neumann step alpha must be > 0, got {alpha!r}.")
    check_int(steps, "Neumann steps", 0)
    _check_finite(v, "the vector of the inverse-Hessian product")
    term, total = v, v.clone()
    start = float(v.norm())
    for _ in range(steps):
        term = term + alpha * hvp(term)
        size = float(term.norm())
        if not size <= 1e3 * max(start, 1e-12):  # also catches NaN
            raise ParameterError(
                f"the Neumann series diverges: its terms grew from {start:.3g} to {size:.3g} "
                f"with alpha={alpha}; lower the Neumann step alpha (it needs alpha < "
                "2 / |largest Hessian eigenvalue|) or use the first-order variant."
            )
        total = total + term
    return -alpha * total


def spectral_radius(hvp: HVP, dim: int, iters: int = 20, seed: int = 0) -> float:
    """The largest ``|eigenvalue|`` of a symmetric ``H`` known through ``hvp``, by power
    iteration from a seeded random start.

    Example:
        >>> import torch
        >>> H = torch.diag(torch.tensor([-3.0, -1.0, 0.5]))
        >>> round(spectral_radius(lambda w: H @ w, 3, iters=100), 3)
        3.0
    """
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(dim, generator=g)
    w /= w.norm()
    size = 0.0
    for _ in range(iters):
        hw = hvp(w)
        size = float(hw.norm())
        if not size > 0:  # H w = 0 (or NaN): nothing to iterate on
            return size
        w = hw / size
    return size


def implicit_gradient(
    inner_grad: torch.Tensor,
    theta: Sequence[torch.Tensor],
    phi: Sequence[torch.Tensor],
    outer_grad: torch.Tensor,
    mode: str = "neumann",
    alpha: float | None = None,
    steps: int = 5,
) -> torch.Tensor:
    """``dJ/dphi`` of the outer return through the inner learner's optimum.

    Args:
        inner_grad: ``grad_theta J_phi(theta)``, flat, built with ``create_graph=True``
            so it can be differentiated again in ``theta`` and ``phi``.
        theta: The inner parameters (the policy's).
        phi: The outer parameters (the blend's and the discount's).
        outer_grad: ``grad_theta J(theta)`` of the primary return, flat (no graph).
        mode: ``"neumann"`` (H^-1 by a ``steps``-term Neumann series with step
            ``alpha``) or ``"first-order"`` (H^-1 = -I).
        alpha: Neumann step; None takes ``1 / spectral_radius(H)`` (power iteration),
            which keeps every factor ``|1 + alpha lambda|`` of a concave direction below 1
            whatever the scale of the rewards.
        steps: Neumann terms after the first.

    Returns:
        The gradient, flat over ``phi``.

    Example:
        >>> import torch
        >>> theta, phi = torch.zeros(1, requires_grad=True), torch.ones(1, requires_grad=True)
        >>> inner = -(theta - 2 * phi).pow(2).sum()  # theta*(phi) = 2 phi
        >>> g = flat_grad(inner, [theta], create_graph=True)
        >>> # J(theta) = theta: dJ/dphi = d theta*/d phi = 2 (H = -2)
        >>> grad = implicit_gradient(g, [theta], [phi], torch.ones(1), alpha=0.25, steps=30)
        >>> round(float(grad), 4)
        2.0
    """
    if mode not in MODES:
        raise ParameterError(f"implicit gradient mode must be one of {MODES}, got {mode!r}.")
    _check_finite(inner_grad.detach(), "the inner policy gradient")
    _check_finite(outer_grad, "the primary-return gradient")
    if mode == "first-order":
        u = -outer_grad
    else:

        def hvp(w: torch.Tensor) -> torch.Tensor:
            return flat_grad(inner_grad @ w, theta, retain_graph=True).detach()

        if alpha is None:
            radius = spectral_radius(hvp, len(outer_grad))
            _check_finite(torch.tensor(radius), "the Hessian's spectral radius")
            alpha = 1.0 / radius if radius > 0 else 1.0
        u = neumann_inverse_hvp(hvp, outer_grad.detach(), alpha, steps)
    grad = -flat_grad(inner_grad @ u.detach(), phi, retain_graph=True)
    _check_finite(grad, "the implicit gradient")
    return grad


__all__ = [
    "MODES",
    "flat",
    "flat_grad",
    "implicit_gradient",
    "neumann_inverse_hvp",
    "spectral_radius",
]
