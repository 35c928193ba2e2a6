"""Implicit gradients of bilevel problems (BARFI's outer step), checked against exact ones."""

from __future__ import annotations

import itertools

import pytest
import torch

from rewarddesign.errors import ParameterError
from rewarddesign.methods.barfi.bilevel import flat_grad, implicit_gradient, neumann_inverse_hvp


@pytest.fixture(autouse=True)
def float64():
    """Exact comparisons in double precision; the default dtype is restored after."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def quadratic_problem(seed: int = 0, n: int = 4, m: int = 3):
    """Inner: max_theta -1/2 theta'A theta + theta'B phi (H = -A, negative definite).
    Outer: max J(theta) = -1/2 |theta - c|^2. theta*(phi) = A^-1 B phi."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, n, generator=g)
    A = q @ q.T + 0.5 * torch.eye(n)
    B = torch.randn(n, m, generator=g)
    c = torch.randn(n, generator=g)
    phi0 = torch.randn(m, generator=g)
    return A, B, c, phi0


def inner(theta, phi, A, B):
    return -0.5 * theta @ A @ theta + theta @ B @ phi


def outer(theta, c):
    return -0.5 * (theta - c).pow(2).sum()


def test_implicit_gradient_matches_differentiating_through_the_unrolled_inner_loop():
    A, B, c, phi0 = quadratic_problem()
    lam_max = float(torch.linalg.eigvalsh(A).max())
    eta = 1.0 / lam_max
    # unrolled: 2000 steps of gradient ascent from 0, differentiated end to end
    phi = phi0.clone().requires_grad_(True)
    theta = torch.zeros(len(A), requires_grad=True)
    for _ in range(2000):
        step = torch.autograd.grad(inner(theta, phi, A, B), theta, create_graph=True)[0]
        theta = theta + eta * step
    unrolled = torch.autograd.grad(outer(theta, c), phi)[0]
    # implicit: at the (converged) inner optimum
    theta_star = theta.detach().requires_grad_(True)
    phi = phi0.clone().requires_grad_(True)
    g_inner = flat_grad(inner(theta_star, phi, A, B), [theta_star], create_graph=True)
    g_outer = flat_grad(outer(theta_star, c), [theta_star])
    implicit = implicit_gradient(g_inner, [theta_star], [phi], g_outer, alpha=eta, steps=2000)
    exact = B.T @ torch.linalg.solve(A, c - torch.linalg.solve(A, B @ phi0))
    torch.testing.assert_close(unrolled, exact, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(implicit, unrolled, rtol=1e-6, atol=1e-8)
    # the first-order variant (H^-1 = -I) is another vector, still an ascent direction here
    first = implicit_gradient(g_inner, [theta_star], [phi], g_outer, mode="first-order")
    assert not torch.allclose(first, exact, rtol=1e-2)


def test_neumann_series_converges_to_the_inverse_hessian_vector_product():
    A, *_ = quadratic_problem(seed=1, n=6)
    H = -A
    v = torch.arange(1.0, 7.0)
    exact = torch.linalg.solve(H, v)
    alpha = 1.0 / float(torch.linalg.eigvalsh(A).max())
    errors = [
        float((neumann_inverse_hvp(lambda w: H @ w, v, alpha, k) - exact).norm())
        for k in (5, 50, 500, 5000)
    ]
    assert all(b < a for a, b in itertools.pairwise(errors))  # monotone
    assert errors[-1] < 1e-8 * float(exact.norm())


def test_neumann_divergence_and_non_finite_gradients_are_reported():
    A, *_ = quadratic_problem(seed=2)
    alpha = 3.0 / float(torch.linalg.eigvalsh(A).max())  # alpha * lambda_max = 3 > 2
    with pytest.raises(ParameterError, match=r"Neumann series diverges.*lower the Neumann step"):
        neumann_inverse_hvp(lambda w: -A @ w, torch.ones(4), alpha, 200)
    with pytest.raises(ParameterError, match="alpha must be > 0"):
        neumann_inverse_hvp(lambda w: -A @ w, torch.ones(4), 0.0, 5)
    theta, phi = torch.zeros(2, requires_grad=True), torch.ones(2, requires_grad=True)
    g = flat_grad(-(theta - phi).pow(2).sum(), [theta], create_graph=True)
    with pytest.raises(ParameterError, match="primary-return gradient is not finite"):
        implicit_gradient(g, [theta], [phi], torch.tensor([float("nan"), 0.0]))
    with pytest.raises(ParameterError, match="mode must be one of"):
        implicit_gradient(g, [theta], [phi], torch.ones(2), mode="exact")


# -- a bandit whose auxiliary reward pays for the wrong arm ---------------------------
R_PRIMARY = torch.tensor([1.0, 0.0, 0.3], dtype=torch.float64)
R_AUX = torch.tensor([0.0, 2.0, 0.0], dtype=torch.float64)  # harmful: rewards arm 1, worth nothing
L2 = 0.05  # keeps the inner optimum finite (softmax logits would run off to infinity)


def bandit_inner(theta, phi):
    r_phi = phi[0] + phi[1] * R_PRIMARY + phi[2] * R_AUX
    return torch.softmax(theta, 0) @ r_phi - 0.5 * L2 * theta.pow(2).sum()


def primary(theta):
    return torch.softmax(theta, 0) @ R_PRIMARY


def solve_inner(phi, theta):
    for _ in range(400):
        g = torch.autograd.grad(bandit_inner(theta, phi.detach()), theta)[0]
        theta = (theta + 2.0 * g).detach().requires_grad_(True)
    return theta


@pytest.mark.parametrize("mode", ["neumann", "first-order"])
def test_outer_steps_raise_the_primary_return_despite_a_harmful_auxiliary(mode):
    phi = torch.tensor([0.0, 1.0, 1.0], requires_grad=True)  # the naive blend r_p + r_aux
    theta = solve_inner(phi, torch.zeros(3, requires_grad=True))
    returns = [float(primary(theta.detach()))]
    assert returns[0] < 0.2  # the naive blend's policy prefers the harmful arm
    for _ in range(15):
        g_inner = flat_grad(bandit_inner(theta, phi), [theta], create_graph=True)
        g_outer = flat_grad(primary(theta), [theta])
        grad = implicit_gradient(g_inner, [theta], [phi], g_outer, mode=mode, alpha=2.0, steps=20)
        with torch.no_grad():
            phi += 2.0 * grad
        theta = solve_inner(phi, theta)  # warm start, as BARFI's inner learner continues
        returns.append(float(primary(theta.detach())))
    assert returns[-1] > returns[0] + 0.5, returns
    assert float(phi.detach()[2]) < 1.0  # the harmful auxiliary reward's weight went down
