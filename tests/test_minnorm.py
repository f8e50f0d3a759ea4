"""Unit tests for gendiff.minnorm: closed-form identities, shapes, determinism, clear errors."""
import numpy as np
import pytest
import torch

from gendiff import minnorm as mm

X1 = np.array([-2.0, -0.9, 0.0, 1.2, 2.0])
RHO = 0.1
RNG = np.random.default_rng(0)


def _ball(X, r, n=200):
    X = np.asarray(X, float)
    d = X.shape[1]
    z = RNG.standard_normal((len(X), n, d))
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return X[:, None] + z * r * RNG.uniform(0, 1, (len(X), n, 1)) ** (1 / d)


def test_1d_flat_on_balls():
    y = X1[:, None] + RNG.uniform(-RHO, RHO, (5, 100))
    assert np.abs(mm.minnorm_1d(y, X1, RHO) - X1[:, None]).max() <= 1e-12


def test_1d_midpoints_fixed_and_contraction():
    mids = (X1[1:] + X1[:-1]) / 2
    np.testing.assert_allclose(mm.minnorm_1d(mids, X1, RHO), mids, atol=1e-12)
    y = np.linspace(-3, 3, 10_001)
    assert (mm.contraction_violation(mm.minnorm_1d(y, X1, RHO), y, X1) > 1e-12).sum() == 0


def test_1d_cost_formula_and_limit():
    assert mm.repr_cost_1d(X1, RHO) == pytest.approx(10.0825396825, rel=1e-9)
    assert mm.repr_cost_1d(X1, 1e-9) == pytest.approx(2 * (len(X1) - 1), rel=1e-8)
    y = np.linspace(-3, 3, 101)
    np.testing.assert_allclose(mm.minnorm_1d(y, X1, 1e-9), np.clip(y, -2, 2), atol=1e-8)


def test_1d_rejects_overlapping_balls():
    with pytest.raises(ValueError, match="smallest gap"):
        mm.minnorm_1d(0.0, X1, 0.45)


def test_interval_variant_matches_rho_version():
    x, lo, hi = mm.clipped_intervals(X1, RHO)
    y = np.linspace(-3, 3, 1001)
    np.testing.assert_allclose(mm.minnorm_1d(y, X1, lo=lo, hi=hi), mm.minnorm_1d(y, X1, RHO), atol=1e-15)


def test_emmse_limits():
    y = np.array([-1.5, 0.55, 1.7])
    np.testing.assert_allclose(mm.emmse(y, X1, 1e-4), mm.nearest_point(y, X1))
    np.testing.assert_allclose(mm.emmse(y, X1, 1e4), np.full(3, X1.mean()), atol=1e-6)


@pytest.mark.parametrize("which", ["obtuse", "regular", "subspace", "rays", "face_anchor"])
def test_multivariate_flat_on_balls(which):
    X_obt = np.array([[0.0, 0.0], [1.0, 0.0], [-0.5, 0.8]])
    X_equ = mm.equilateral_triangle()
    if which == "obtuse":
        X, h = X_obt, lambda Y: mm.minnorm_obtuse_simplex(Y, X_obt[0], X_obt[1:], RHO)
    elif which == "regular":
        X, h = X_equ, lambda Y: mm.minnorm_regular_simplex(Y, X_equ, RHO)
    elif which == "face_anchor":
        X, h = X_obt, lambda Y: mm.face_aligned_simplex(Y, X_obt, RHO, p=np.array([0.3, -0.7]))
    elif which == "subspace":
        Q = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
        X = X_equ @ Q[:2] + 0.3
        h = lambda Y: mm.minnorm_subspace(Y, X, RHO, lambda Z, Zx, r: mm.minnorm_regular_simplex(Z, Zx, r))
    else:
        rays = [(np.array([1.0, 0]), [1.0, 2.0]), (np.array([0, 1.0]), [1.5]), (np.array([-1.0, -1.0]), [0.8])]
        X = np.vstack([np.zeros(2)] + [u / np.linalg.norm(u) * t for u, ts in rays for t in ts])
        h = lambda Y: mm.minnorm_rays(Y, np.zeros(2), rays, RHO)
    Y = _ball(X, RHO)
    out = h(Y.reshape(-1, X.shape[1])).reshape(Y.shape)
    assert np.abs(out - X[:, None]).max() <= 1e-12


def test_costs_and_ordering():
    X_obt = np.array([[0.0, 0.0], [1.0, 0.0], [-0.5, 0.8]])
    X_equ = mm.equilateral_triangle()
    assert mm.cost_obtuse(X_obt[0], X_obt[1:], RHO) == pytest.approx(5.038, abs=1e-3)
    assert mm.cost_regular(X_equ, RHO) == pytest.approx(6 / 1.3, rel=1e-12)
    assert mm.cost_regular(X_equ, RHO) / mm.cost_face_aligned(X_equ, RHO, p=X_equ[0]) == pytest.approx(np.sqrt(3) / 2)
    assert mm.cost_obtuse(X_obt[0], X_obt[1:], RHO) < mm.best_face_anchor(X_obt, RHO)[1]


def test_rejects_acute_for_edge_construction():
    with pytest.raises(ValueError, match="non-acute"):
        mm.minnorm_obtuse_simplex(np.zeros((1, 2)), *np.split(mm.equilateral_triangle(), [1]), RHO)


def test_facet_geometry_regular():
    nu, H, _ = mm.facet_geometry(mm.equilateral_triangle())
    np.testing.assert_allclose(H, 1.5)
    np.testing.assert_allclose(np.linalg.norm(nu, axis=1), 1)


def test_sample_ball_radius_and_shape():
    x = torch.zeros(3, 4, 5)
    y = mm.sample_ball(x, 7, 0.5, torch.Generator().manual_seed(0))
    assert y.shape == (3, 4, 7, 5)
    assert float(y.norm(dim=-1).max()) <= 0.5 + 1e-6


def test_shallow_net_shapes_costs_and_groups():
    net = mm.ShallowDenoiser(3, 8, groups=2, generator=torch.Generator().manual_seed(0))
    y = torch.randn(2, 5, 3)
    assert net(y).shape == (2, 5, 3)
    # path cost ≤ weight cost (AM-GM), equality after balancing
    assert torch.all(net.path_cost() <= net.cost() + 1e-6)
    with pytest.raises(ValueError, match="groups"):
        net(torch.randn(5, 3))


def test_training_is_deterministic_and_groups_independent():
    X = torch.tensor(np.stack([X1, X1])[:, :, None], dtype=torch.float32)
    cfg = mm.MinNormTrainConfig(K=8, M=4, steps=20, endpoints=True, init_bias="data")
    a, _ = mm.train_minnorm(X, [False, True], cfg, cache=False, progress=False)
    b, _ = mm.train_minnorm(X, [False, True], cfg, cache=False, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    with pytest.raises(ValueError, match="groups"):
        mm.train_minnorm(X, [False], cfg, cache=False, progress=False)


def test_alignment_and_span_energy():
    dirs = np.eye(2)
    assert np.allclose(mm.alignment(np.array([[3.0, 0.0], [0.0, -1.0]]), dirs), 1)
    D = mm.digits_simplex()
    _, U = mm.affine_basis(D)
    assert U.shape == (64, 3)
    np.testing.assert_allclose(mm.span_energy(U.T, D), 1)
    assert mm.random_span_energy(D) == pytest.approx(3 / 64, rel=0.15)


def test_smoke_full():
    from gendiff.configs.ch02 import smoke_full
    out = smoke_full()
    assert set(out) == {"1d", "tri", "digits", "gen", "gen_trained"}


def test_ray_cost_is_sum_of_1d_costs():
    rays = [(np.array([1.0, 0]), [1.0, 2.0]), (np.array([0, 1.0]), [1.5])]
    expect = mm.repr_cost_1d([0, 1.0, 2.0], RHO) + mm.repr_cost_1d([0, 1.5], RHO)
    assert mm.cost_rays(rays, RHO) == pytest.approx(expect, rel=1e-12)


# ---- clear errors for bad input ------------------------------------------------------------------------

X_OBT = np.array([[0.0, 0.0], [1.0, 0.0], [-0.5, 0.8]])


def test_cost_obtuse_rejects_too_large_rho_and_acute_data():
    with pytest.raises(ValueError, match="must exceed 2ρ"):
        mm.cost_obtuse(X_OBT[0], X_OBT[1:], 0.6)
    with pytest.raises(ValueError, match="non-acute"):
        mm.cost_obtuse(*np.split(mm.equilateral_triangle(), [1]), RHO)


@pytest.mark.parametrize("fn", [lambda X, r: mm.cost_face_aligned(X, r), lambda X, r: mm.cost_regular(X, r),
                                lambda X, r: mm.best_face_anchor(X, r),
                                lambda X, r: mm.face_aligned_simplex(np.zeros((1, 2)), X, r)])
def test_face_aligned_rejects_rho_beyond_the_altitude(fn):
    with pytest.raises(ValueError, match="altitude"):
        fn(mm.equilateral_triangle(), 0.8)            # H = 1.5 < 2ρ = 1.6


@pytest.mark.parametrize("rho", [float("nan"), -0.1, float("inf")])
def test_nan_or_negative_rho_is_an_error(rho):
    with pytest.raises(ValueError, match="rho"):
        mm.repr_cost_1d(X1, rho)
    with pytest.raises(ValueError, match="rho"):
        mm.minnorm_1d(0.0, X1, rho)
    with pytest.raises(ValueError, match="rho"):
        mm.sample_ball(torch.zeros(2, 3), 4, rho)


@pytest.mark.parametrize("sigma", [0.0, -0.1, float("nan")])
def test_emmse_and_generalisation_need_positive_sigma(sigma):
    with pytest.raises(ValueError, match="σ"):
        mm.emmse(np.array([0.1]), X1, sigma)
    with pytest.raises(ValueError, match="σ"):
        mm.mse_generalization([0.01, sigma], n_sets=2, n_test=10)


# ---- the measurements behind the chapter's explanation of the trained-cost deficit ------------------------

def test_secant_cost_is_the_closed_form_cost_at_the_ball_edges_and_a_lower_bound():
    knots = np.stack([X1 - RHO, X1 + RHO], 1).ravel()
    assert mm.secant_cost_1d(knots, np.repeat(X1, 2)) == pytest.approx(mm.repr_cost_1d(X1, RHO), rel=1e-12)
    # a function that misses x_n at the edges by ε (tilted towards the identity) has a smaller bound
    v = np.repeat(X1, 2) + np.tile([-0.005, 0.005], len(X1))
    assert mm.secant_cost_1d(knots, v) < mm.repr_cost_1d(X1, RHO)
    # lower bound: the grid TV of h' for a smooth-ish h through those values is at least the secant cost
    y = np.linspace(knots[0], knots[-1], 20_001)
    h = np.interp(y, knots, v) + 1e-3 * np.sin(40 * y)
    tv = np.abs(np.diff(np.diff(h) / np.diff(y))).sum()
    assert tv >= mm.secant_cost_1d(knots, np.interp(knots, y, h)) - 1e-9
    with pytest.raises(ValueError, match="increasing"):
        mm.secant_cost_1d([0.0, 0.0, 1.0], [0, 1, 2])


def test_sample_hull_cost_tends_to_the_closed_form_and_is_below_it():
    g = torch.Generator().manual_seed(0)
    for X, kind, R in [(X_OBT, "edge", mm.cost_obtuse(X_OBT[0], X_OBT[1:], RHO)),
                       (mm.equilateral_triangle(), "face", mm.cost_regular(mm.equilateral_triangle(), RHO))]:
        few = mm.sample_ball(torch.tensor(X), 30, RHO, g).numpy()
        many = mm.sample_ball(torch.tensor(X), 20_000, RHO, g).numpy()
        assert mm.sample_hull_cost(X, few, kind) < mm.sample_hull_cost(X, many, kind) <= R + 1e-12
        assert mm.sample_hull_cost(X, many, kind) == pytest.approx(R, rel=5e-3)
    with pytest.raises(ValueError, match="kind"):
        mm.sample_hull_cost(X_OBT, few, "vertex")


def test_ch02_config_requires_the_checked_sigmas():
    from dataclasses import replace

    from gendiff.configs.ch02 import PROFILES
    for cfg in PROFILES.values():                   # both profiles satisfy it
        assert all(any(np.isclose(g, s) for g in cfg.gen_sigmas) for s in cfg.REQUIRED_SIGMAS)
    with pytest.raises(ValueError, match="must include"):
        replace(PROFILES["ci"], gen_sigmas=(0.001, 0.01, 0.1))
    with pytest.raises(ValueError, match="> 0"):
        replace(PROFILES["ci"], gen_sigmas=(0.0, 0.003, 0.01, 0.1))


def test_trained_generalization_shapes_and_errors():
    from gendiff.minnorm_gen import trained_generalization
    cfg = mm.MinNormTrainConfig(K=8, M=4, steps=30, endpoints=True, init_bias="data")
    out = trained_generalization((0.003, 0.01), cfg, n_sets=2, n_points=5, n_test=50, cache=False)
    for k in ("trained", "closed", "emmse", "ratio_trained", "ratio_closed", "path_cost"):
        assert out[k].shape == (2, 2) and np.all(np.isfinite(out[k]))
    np.testing.assert_allclose(out["ratio_closed"], out["emmse"] / out["closed"])
    np.testing.assert_allclose(out["ratio_trained"], out["emmse"] / out["trained"])
    assert np.all(out["closed"] < out["emmse"])      # h* beats eMMSE at these σ on every set (closed form)
    with pytest.raises(ValueError, match="σ"):
        trained_generalization((0.0,), cfg, n_sets=1, cache=False)
    with pytest.raises(ValueError, match="n_sets"):
        trained_generalization((0.01,), cfg, n_sets=0, cache=False)


def test_ch02_config_requires_the_trained_sigmas():
    from dataclasses import replace

    from gendiff.configs.ch02 import PROFILES
    with pytest.raises(ValueError, match="gen_train_sigmas"):
        replace(PROFILES["ci"], gen_train_sigmas=(0.01, 0.1))


def test_min_cost_with_residual_is_R_at_zero_and_a_lower_bound():
    assert mm.min_cost_with_residual_1d(X1, RHO, 0.0) == pytest.approx(mm.repr_cost_1d(X1, RHO), rel=1e-12)
    knots = np.stack([X1 - RHO, X1 + RHO], 1).ravel()
    rng = np.random.default_rng(3)
    for r in (1e-3, 1e-2, 0.05):
        bound = mm.min_cost_with_residual_1d(X1, RHO, r)
        assert bound < mm.repr_cost_1d(X1, RHO)
        for _ in range(200):        # any values within r of the targets cost at least the bound
            v = np.repeat(X1, 2) + rng.uniform(-r, r, knots.size)
            assert mm.secant_cost_1d(knots, v) >= bound - 1e-12
    with pytest.raises(ValueError, match="residual"):
        mm.min_cost_with_residual_1d(X1, RHO, -1.0)


def test_in_span_alignment_projects_and_has_a_random_baseline():
    D = mm.digits_simplex()
    dirs = np.vstack([mm.edge_dirs(D), mm.facet_normals(D)])
    _, U = mm.affine_basis(D)
    off = np.random.default_rng(0).standard_normal(64)
    off -= U @ (U.T @ off)                           # a direction orthogonal to the span
    a, base = mm.in_span_alignment(mm.edge_dirs(D) + 3 * off, D, dirs)
    np.testing.assert_allclose(a, 1.0)               # the off-span part is removed before the cosine
    assert 0.5 < base < 1.0


def test_eval_helpers_on_the_closed_form():
    """minnorm_eval: the 1D identities hold for h*_ρ itself, its ball-edge residual is 0, and the
    config tables list every training recipe."""
    y = np.linspace(-2.6, 2.6, 2001)
    ident = mm.identities_1d(X1, RHO, y, np.random.default_rng(0))
    assert ident["ball"] <= 1e-12 and ident["mid"] <= 1e-12 and ident["viol"] == 0
    assert abs(ident["tv_cost"] / ident["cost"] - 1) < 1e-3
    assert mm.edge_residual(lambda Y: mm.minnorm_1d(Y, X1, RHO), X1, RHO) <= 1e-12
    assert mm.seed_stats([1.0, 3.0, 2.0]) == (2.0, 2.0)
    X = mm.equilateral_triangle(1.0)
    err = mm.ball_error(lambda Y: mm.minnorm_regular_simplex(Y, X, RHO), X, RHO,
                        np.random.default_rng(0))
    assert err <= 1e-12
    from gendiff.configs.ch02 import PROFILES
    scalars, recipes = mm.config_tables(PROFILES["ci"])
    assert list(recipes.index) == ["one_d", "tri", "digits"] and "seeds" in scalars


# ---- subspace and rays: competitors and trained-net metrics (gendiff.minnorm_lifted) -------------------

RAYS3 = [(np.array([1.0, 0, 0]), [1.0, 2.0]), (np.array([0, 1.0, 0]), [1.5]),
         (np.array([-1.0, -1.0, -1.0]), [0.8])]
X_RAY3 = np.vstack([np.zeros(3)] + [u / np.linalg.norm(u) * t for u, ts in RAYS3 for t in ts])


def _plane_triangle():
    Q = np.linalg.qr(np.random.default_rng(5).standard_normal((3, 3)))[0]
    return mm.equilateral_triangle() @ Q[:2] + np.array([0.3, -0.2, 0.5]), Q[2]


def test_barycentric_subspace_interpolates_ignores_normal_and_costs_more():
    X, nrm = _plane_triangle()
    hb = lambda Y: mm.barycentric_subspace(Y, X, RHO, vertex=0)
    hs = lambda Y: mm.minnorm_subspace(Y, X, RHO, mm.minnorm_regular_simplex)
    Y = _ball(X, RHO)
    assert np.abs(hb(Y.reshape(-1, 3)).reshape(Y.shape) - X[:, None]).max() <= 1e-12
    Yt = RNG.standard_normal((500, 3))
    np.testing.assert_allclose(hb(Yt + RNG.normal(0, 1, (500, 1)) * nrm), hb(Yt), atol=1e-12)
    # a different interpolant inside the plane, at the 2D barycentric cost (√3/2 · that of h*)
    assert np.abs(hb(Yt) - hs(Yt)).max() > 0.05
    X2 = mm.equilateral_triangle()
    assert mm.cost_barycentric_subspace(X, RHO) == pytest.approx(
        mm.cost_face_aligned(X2, RHO, p=X2[0]), rel=1e-12)


def test_rays_face_aligned_interpolates_and_costs_more_than_rays():
    hf = lambda Y: mm.rays_face_aligned(Y, np.zeros(3), RAYS3, RHO)
    Y = _ball(X_RAY3, RHO)
    assert np.abs(hf(Y.reshape(-1, 3)).reshape(Y.shape) - X_RAY3[:, None]).max() <= 1e-12
    # its cost: face-aligned on {apex, first points} (anchor at the apex) plus the ray's outer gap
    S = X_RAY3[[0, 1, 3, 4]]
    expect = mm.cost_face_aligned(S, RHO, p=S[0]) + 2 * 1.0 / (1.0 - 2 * RHO)
    assert mm.cost_rays_face_aligned(np.zeros(3), RAYS3, RHO) == pytest.approx(expect, rel=1e-12)
    assert mm.cost_rays_face_aligned(np.zeros(3), RAYS3, RHO) > mm.cost_rays(RAYS3, RHO)
    Yt = mm.hull_test_points(X_RAY3, RHO, 2000, np.random.default_rng(0))
    assert np.abs(hf(Yt) - mm.minnorm_rays(Yt, np.zeros(3), RAYS3, RHO)).max() > 0.1
    nu = mm.ray_facet_normals(np.zeros(3), RAYS3)     # normals of the facets through the apex
    assert nu.shape == (3, 3)
    np.testing.assert_allclose(np.abs(nu[2]), [0, 0, 1], atol=1e-12)   # facet {0, e1, 1.5 e2}


def test_rays_face_aligned_rejects_acute_or_dependent_rays():
    with pytest.raises(ValueError, match="non-acute"):
        mm.rays_face_aligned(np.zeros((1, 2)), np.zeros(2), [([1.0, 0], [1.0]), ([1.0, 1.0], [1.0])], RHO)
    with pytest.raises(ValueError, match="independent"):
        mm.cost_rays_face_aligned(np.zeros(3), [([1.0, 0, 0], [1.0]), ([0, 1.0, 0], [1.0]),
                                                ([-1.0, -1.0, 0], [1.0])], RHO)


class _FnNet:
    """A stand-in for a trained module: numpy_fn(g) returns the g-th function."""

    def __init__(self, fns):
        self.fns = fns

    def numpy_fn(self, g):
        return self.fns[g]


def test_lifted_metrics_on_known_functions():
    X, _ = _plane_triangle()
    hs = lambda Y: mm.minnorm_subspace(Y, X, RHO, mm.minnorm_regular_simplex)
    hb = lambda Y: mm.barycentric_subspace(Y, X, RHO)
    xbar, U = mm.affine_basis(X)
    passthru = lambda Y: hs(Y) + (Y - xbar) - ((Y - xbar) @ U) @ U.T
    Y = mm.hull_test_points(X, RHO, 3000, np.random.default_rng(1))
    assert Y.shape == (3000, 3)
    rows, ref = mm.lifted_metrics(_FnNet([hs, hb, passthru]), [0, 1, 2], X, hs, hb, Y)
    assert rows[0]["mean"] == 0 and rows[0]["orth"] <= 1e-12 and ref["star_orth"] <= 1e-12
    assert rows[1]["mean"] == pytest.approx(2 * ref["half"]) and rows[1]["comp"] == 0
    assert rows[2]["orth"] == pytest.approx(2 * ref["half_orth"])
    assert rows[2]["mean"] == pytest.approx(2 * ref["half_orth"])   # the pass-through competitor


def test_train_minnorm_in_three_dimensions():
    X = torch.tensor(np.stack([X_RAY3] * 2), dtype=torch.float32)
    cfg = mm.MinNormTrainConfig(K=8, M=4, steps=5, init_bias="data")
    net, info = mm.train_minnorm(X, [False, False], cfg, cache=False, progress=False)
    assert info["Y_fixed"].shape == (2, 5, 4, 3) and info["path_cost"].shape == (2,)
    assert net.numpy_fn(1)(X_RAY3).shape == (5, 3)
    rows, _ = mm.lifted_metrics(net, [0, 1], X_RAY3, lambda Y: Y, lambda Y: Y, X_RAY3,
                                dirs=(np.eye(3), mm.ray_facet_normals(np.zeros(3), RAYS3)))
    assert all(0 <= r["align"] <= 1 and 0 <= r["align_comp"] <= 1 for r in rows)
