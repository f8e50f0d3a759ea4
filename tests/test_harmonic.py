"""Unit tests of gendiff.harmonic (chapter 1) and the chapter's config: closed forms, shapes, errors."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from gendiff import data, harmonic, jacobian, models, runtime
from gendiff.configs import ch01


def test_optimal_calpha_slope_values():
    np.testing.assert_allclose(harmonic.optimal_calpha_slope([1, 2, 3, 5]), [0.5, 2 / 3, 0.75, 5 / 6])
    assert harmonic.optimal_calpha_slope(4) == pytest.approx(0.8)


def test_optimal_calpha_slope_rejects_nonpositive_alpha():
    with pytest.raises(ValueError, match="alpha"):
        harmonic.optimal_calpha_slope(0)


def test_manifold_optimal_psnr_disks():
    # paper §5: +31.1 dB for 80×80 disks (d = 6400, k = 5); +20.6 dB at 24×24
    assert harmonic.manifold_optimal_psnr(0.0, 5, 6400) == pytest.approx(31.07, abs=0.01)
    assert harmonic.manifold_optimal_psnr(10.0, 5, 576) == pytest.approx(30.61, abs=0.01)
    with pytest.raises(ValueError):
        harmonic.manifold_optimal_psnr(0.0, 10, 5)


def test_oracle_shrinkage_is_within_factor_two_of_min_rule():
    c = torch.randn(500, generator=runtime.generator(0)).abs() * torch.logspace(0, -3, 500)
    for s in (1e-3, 1e-2, 1e-1):
        lam, mse = harmonic.oracle_shrinkage(c, s)
        assert ((lam >= 0) & (lam <= 1)).all()
        ref = torch.minimum(c.double() ** 2, torch.tensor(s**2)).sum()
        assert 0.5 * ref <= mse <= ref


def test_power_law_oracle_rate_gives_alpha_over_alpha_plus_one():
    sig = np.geomspace(1e-3, 1e-2, 6)
    for a in (1.0, 2.0, 4.0):
        mse = harmonic.power_law_oracle_mse(a, sig)
        slope = np.polyfit(-20 * np.log10(sig), -10 * np.log10(mse), 1)[0]
        assert slope == pytest.approx(a / (a + 1), abs=0.03)


def test_tangent_overlap_identities():
    g = runtime.generator(1)
    d, m = 40, 5
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    T = Q[:, :m].T                                   # (m, d) orthonormal rows
    assert torch.allclose(harmonic.tangent_overlap(Q[:, :m], T), torch.ones(m), atol=1e-6)
    assert torch.allclose(harmonic.tangent_overlap(Q[:, m:], T), torch.zeros(d - m), atol=1e-6)
    # all d basis vectors: the overlaps sum to m (= tr P_T)
    assert harmonic.tangent_overlap(Q, T).sum().item() == pytest.approx(m, abs=1e-5)


def test_tangent_overlap_shape_error():
    with pytest.raises(ValueError, match="rows"):
        harmonic.tangent_overlap(torch.zeros(10, 3), torch.zeros(5, 11))


class _Linear(torch.nn.Module):
    """D(y) = A y with a fixed symmetric A: a homogeneous 'denoiser' with known eigenpairs."""

    def __init__(self, A):
        super().__init__()
        self.A = A

    def forward(self, y, sigma=None):
        return (y.flatten(1) @ self.A.T).reshape(y.shape)


def test_shrinkage_analysis_recovers_known_spectrum_and_eq4():
    g = runtime.generator(2)
    d = 16
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    lam_true = torch.linspace(1.2, 0.0, d)
    D = _Linear(Q @ torch.diag(lam_true) @ Q.T)
    x = torch.rand(3, 1, 4, 4, generator=g)
    res = harmonic.shrinkage_analysis(D, x, 0.1, generator=g)
    torch.testing.assert_close(res.lam, lam_true.expand(3, d), atol=1e-5, rtol=0)
    # paper eq. 4: f(y) = Σ_k λ_k ⟨y, e_k⟩ e_k
    recon = torch.einsum("bk,bk,bdk->bd", res.lam, res.coef_y, res.E)
    torch.testing.assert_close(recon, res.f.flatten(1), atol=1e-5, rtol=0)
    torch.testing.assert_close(res.trace, lam_true.sum().expand(3), atol=1e-4, rtol=0)
    assert (res.n_above(0.5) == (lam_true > 0.5).sum()).all()


def test_shrinkage_analysis_bias_free_unet_is_homogeneous():
    net = models.BiasFreeUNet(1, 4, 2).eval()
    x = torch.rand(2, 1, 8, 8, generator=runtime.generator(3))
    res = harmonic.shrinkage_analysis(net, x, 0.2, generator=runtime.generator(4))
    assert res.lam.shape == (2, 64) and res.E.shape == (2, 64, 64)
    assert float(res.homogeneity.max()) < 1e-4


def test_jacobian_trace_exact_for_scaled_identity():
    D = lambda y, sigma=None: 0.7 * y  # noqa: E731 -- Rademacher probes give ⟨ε, 0.7ε⟩ = 0.7 d exactly
    y = torch.randn(3, 1, 4, 4, generator=runtime.generator(5))
    tr = harmonic.jacobian_trace(D, y, n_probes=2, generator=runtime.generator(6))
    torch.testing.assert_close(tr, torch.full((3,), 0.7 * 16, dtype=torch.float64))


def test_paired_samples_same_seed_same_model_identical():
    # a damped identity-like denoiser: the sampler reaches σ_final in a few dozen steps
    D = lambda y, sigma=None: 0.5 + 0.5 * (y - 0.5)  # noqa: E731
    xa, xb, sa, sb = harmonic.paired_samples(D, D, 4, (1, 8, 8), mean_a=0.5, seed=3, device="cpu")
    assert torch.equal(xa, xb) and sa == sb
    stats = harmonic.similarity_stats(xa, xb, xa, xb)
    torch.testing.assert_close(stats["cos_ab"], torch.ones(4, dtype=torch.float64))
    assert torch.equal(stats["idx_a"], torch.arange(4))


def test_train_test_curves_identical_sets_agree():
    D = lambda y, sigma=None: 0.9 * y  # noqa: E731
    x = torch.rand(16, 1, 4, 4, generator=runtime.generator(7))
    tr, te = harmonic.train_test_curves(D, x, x.clone(), [0.05, 0.2], seed=1)
    np.testing.assert_allclose(tr, te)
    assert harmonic.mean_gap(D, x, x.clone(), [0.05, 0.2]) == pytest.approx(0.0)


def test_profiles_side_by_side_and_full_is_larger():
    ci, full = ch01.PROFILES["ci"], ch01.PROFILES["full"]
    assert dataclasses.fields(ci) == dataclasses.fields(full)
    assert full.size > ci.size and full.width >= ci.width and max(full.n_train) > max(ci.n_train)
    assert full.run_full_only and not ci.run_full_only
    for c in (ci, full):
        assert c.size % 2**c.blocks == 0 and c.disk_size % 2**c.disk_blocks == 0
        assert 2 * max(c.n_train) + c.n_test > 0


def test_config_rejects_inconsistent_fields():
    ci = ch01.PROFILES["ci"]
    with pytest.raises(ValueError, match="contour_alpha"):
        dataclasses.replace(ci, contour_alpha=3.0)
    with pytest.raises(ValueError, match="spectrum_steps"):
        dataclasses.replace(ci, spectrum_steps=ci.steps)
    with pytest.raises(ValueError, match="n_train"):
        dataclasses.replace(ci, n_train=(16, 4))


def test_training_sizes_cap_the_largest_to_the_pool():
    full = ch01.PROFILES["full"]                                   # N = 1 … 10⁵, n_test = 512
    assert ch01.training_sizes(full, 2 * 100_000 + 512) == full.n_train
    # a de-duplicated CelebA (≈198.6k faces) keeps N ≈ 10⁵ as the paper does (its split: 99,325)
    assert ch01.training_sizes(full, 198_600) == (1, 10, 100, 1000, 10_000, 99_044)
    assert ch01.training_sizes(full, 2 * 50 + 512) == (1, 10, 50)
    with pytest.raises(ValueError, match="BOOK_CELEBA.*fewer than two"):
        ch01.training_sizes(full, 2 + 512)                          # only N = 1 fits


def test_smoke_full_profile_builds_and_steps():
    counts = ch01.smoke_full()
    assert counts["rich"] > 1_000_000          # width-64 2-block UNet (paper Table 1: 1.8 M at 40×40)
    assert {"disk", "shuffled", "patches"} <= set(counts)
    assert all(math.isfinite(v) and v > 0 for v in counts.values())


def _write_pngs(folder, n, size=50, seed=0):
    """``n`` random grey PNGs (independent noise: no near-duplicates) of ``size``×``size`` in ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(folder / f"face{i:03d}.png")


def test_rich_dataset_full_profile_loads_user_face_folder(tmp_path, monkeypatch):
    """The ``full`` path of §1–§3: ``$BOOK_CELEBA`` names a folder, loaded by ``data.image_folder``."""
    _write_pngs(tmp_path / "faces", 6)
    monkeypatch.setenv("BOOK_CELEBA", str(tmp_path / "faces"))
    monkeypatch.setenv("BOOK_PROFILE", "full")
    cfg = ch01.PROFILES["full"]
    assert cfg.faces_dir() == str(tmp_path / "faces")
    x, name = ch01.rich_dataset(cfg, 4, generator=runtime.generator(0))
    assert name == "faces from $BOOK_CELEBA"
    assert x.shape == (4, 1, cfg.size, cfg.size) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.std()) > 0.1
    x_all, _ = ch01.rich_dataset(cfg, 100, generator=runtime.generator(0), size=16)   # n' = folder size
    assert x_all.shape == (6, 1, 16, 16)
    # the `ci` profile ignores the folder (Cα images)
    monkeypatch.setenv("BOOK_PROFILE", "ci")
    _, name_ci = ch01.rich_dataset(ch01.PROFILES["ci"], 4, generator=runtime.generator(0))
    assert name_ci.startswith("Cα")


def test_rich_dataset_full_profile_face_folder_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "full")
    cfg = ch01.PROFILES["full"]
    monkeypatch.setenv("BOOK_CELEBA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"BOOK_CELEBA.*does not exist"):
        ch01.rich_dataset(cfg, 4, generator=runtime.generator(0))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    monkeypatch.setenv("BOOK_CELEBA", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"BOOK_CELEBA.*holds no images"):
        ch01.rich_dataset(cfg, 4, generator=runtime.generator(0))
    monkeypatch.setenv("BOOK_CELEBA", "  ")                  # blank: no folder, Cα images
    assert cfg.faces_dir() is None


def test_highfreq_share_smooth_checkerboard_and_white():
    n = 16
    i = torch.arange(n, dtype=torch.float64)
    smooth = torch.cos(2 * math.pi * i / n)[:, None] * torch.ones(n)[None, :]          # |k| = 1
    checker = (-1.0) ** (i[:, None] + i[None, :])                                    # |k| = n/2
    E = torch.stack([smooth.flatten(), checker.flatten()], 1)
    E = E / E.norm(dim=0)
    hf = harmonic.highfreq_share(E, n)
    torch.testing.assert_close(hf, torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-10, rtol=0)
    assert harmonic.highfreq_share_white(n) == pytest.approx(1 - 49 / 256)
    # an orthonormal basis of R^d splits the energy exactly like white noise (Parseval)
    Q, _ = torch.linalg.qr(torch.randn(n * n, n * n, generator=runtime.generator(8), dtype=torch.float64))
    assert float(harmonic.highfreq_share(Q, n).mean()) == pytest.approx(harmonic.highfreq_share_white(n), abs=1e-9)
    with pytest.raises(ValueError, match="rows"):
        harmonic.highfreq_share(torch.zeros(10, 2), n)


def test_edge_band_finds_a_step_edge():
    x = torch.zeros(1, 1, 8, 8)
    x[..., 4:, :] = 1.0                                   # horizontal edge between rows 3 and 4
    m = harmonic.edge_band(x).reshape(8, 8)
    assert m[3].all() and m[4].all() and m.sum() == 16
    m2 = harmonic.edge_band(x, width=2).reshape(8, 8)
    assert m2[2:6].all() and m2.sum() == 32
    with pytest.raises(ValueError, match="images"):
        harmonic.edge_band(torch.zeros(8, 8))


def test_band_energy_ratio_controls():
    g = runtime.generator(9)
    d = 64
    mask = torch.zeros(1, d, dtype=torch.bool)
    mask[0, :16] = True                                   # area 1/4
    on = torch.zeros(1, d, 2)
    on[0, :16, 0] = 1 / 4                                 # unit vector living on the mask
    on[0, 16:32, 1] = 1 / 4                               # unit vector off the mask
    torch.testing.assert_close(harmonic.band_energy_ratio(on, mask),
                               torch.tensor([[4.0, 0.0]], dtype=torch.float64))
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    # a full orthonormal basis puts exactly the mask's share of its energy on the mask
    assert float(harmonic.band_energy_ratio(Q[None], mask).mean()) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="disagree"):
        harmonic.band_energy_ratio(Q[None], mask[:, :10])


def test_shuffle_control_undoes_the_permutation_of_eigenvectors():
    """A 'shuffled' network that is the plain one conjugated by the permutation has the plain network's
    PSNR curve (in distribution) and, un-permuted, the plain network's eigenvectors."""
    Q, _ = torch.linalg.qr(torch.randn(64, 64, generator=runtime.generator(2)))
    S = Q @ torch.diag(torch.linspace(1.0, 0.05, 64)) @ Q.T          # a linear shrinkage, distinct λ

    def plain(y, sigma=None):
        return (y.flatten(1) @ S).reshape(y.shape)

    x = data.calpha_images(6, 8, 2.0, generator=runtime.generator(0))
    perm = torch.randperm(64, generator=runtime.generator(1))
    inv = torch.argsort(perm)

    def shuffled(y, sigma=None):                      # P ∘ f ∘ P⁻¹ on flattened pixels
        z = y.flatten(1)[:, inv].reshape(y.shape)
        return plain(z).flatten(1)[:, perm].reshape(y.shape)

    sc = harmonic.shuffle_control(plain, shuffled, x, perm, [0.05, 0.1, 0.2, 0.5], slope_range=(0, 30),
                                  eig_sigma=0.2, k=3, seed=4)
    assert sc.vectors.shape == (3, 1, 8, 8) and sc.lam.shape == (3,)
    assert np.all(np.abs(sc.psnr_plain - sc.psnr_shuffled) < 1.5)
    ys = data.shuffle_pixels(x, perm=perm)[0][:1] + 0.2 * torch.randn((1, 1, 8, 8), generator=runtime.generator(5))
    y = ys.flatten(1)[:, inv].reshape(ys.shape)        # the same noisy image, un-shuffled
    lam_p, E_p = jacobian.top_eigs(plain, y, k=3)
    torch.testing.assert_close(sc.lam, lam_p, rtol=1e-5, atol=1e-6)
    overlap = (sc.vectors.flatten(1).double() @ E_p.double()).abs().diagonal()
    assert torch.all(overlap > 0.999), overlap


def test_calpha_render_soft_matches_hard_images_up_to_the_boundary():
    x, dr = data.calpha_images(6, 16, 4.0, generator=runtime.generator(1), return_draws=True)
    torch.testing.assert_close(data.calpha_render(dr, 4.0).float()[:, None], x)
    soft = data.calpha_render(dr, 4.0, soft=True).float()[:, None]
    # they differ only within a pixel of each column's boundary row (plus the 2×2 blur)
    c = torch.fft.ifft(torch.fft.fft(dr.u) * data.calpha._freq_1d(16) ** -4.0).real
    row = (torch.round(16 * c) + 8).clamp(0, 16)                   # (6, 16) boundary row per column
    nxt = torch.cat([row[:, 1:], row[:, -1:]], 1)                  # the 2×2 blur also reads column j + 1
    lo, hi = torch.minimum(row, nxt), torch.maximum(row, nxt)
    rows = torch.arange(16).view(1, 16, 1)
    near = (rows >= lo[:, None, :] - 2) & (rows <= hi[:, None, :] + 1)
    assert ((soft - x).abs()[:, 0][~near] < 1e-6).all()
    assert (soft - x).abs().max() < 0.5


def test_calpha_oracle_is_a_wiener_shrinkage_that_follows_the_contour():
    x, dr = data.calpha_images(3, 16, 4.0, generator=runtime.generator(2), return_draws=True)
    lam, E = harmonic.calpha_oracle(dr, 4.0, 0.1)
    assert lam.shape == (3, 256) and E.shape == (3, 256, 256)
    assert (lam >= 0).all() and (lam < 1).all() and (lam.diff(dim=1) <= 1e-6).all()      # descending in [0, 1)
    torch.testing.assert_close(E.transpose(1, 2) @ E, torch.eye(256).expand(3, -1, -1), atol=1e-4, rtol=0)
    # σ only rescales the shrinkage: λ/(1−λ) = c/σ² with c the local covariance's eigenvalue
    lam2, _ = harmonic.calpha_oracle(dr, 4.0, 0.2)
    keep = lam[:, :10]
    torch.testing.assert_close(lam2[:, :10] / (1 - lam2[:, :10]), keep / (1 - keep) / 4, rtol=1e-3, atol=1e-4)
    # its leading eigenvectors live on the contour (edge-band ratio well above a random basis's 1)
    r = harmonic.band_energy_ratio(E[:, :, :5], harmonic.edge_band(x))
    assert float(r.mean()) > 2


# ---- gendiff.memorization (§1–§2 on digits) ------------------------------------------------------------
from gendiff import memorization  # noqa: E402


def test_crossing_interpolates_in_log_n_and_reports_none_as_inf():
    assert memorization.crossing([1, 10, 100], [2.0, 1.0, -1.0]) == pytest.approx(10 ** 1.5)
    assert memorization.crossing([1, 10], [-1.0, 2.0]) == 1.0           # already crossed at the smallest N
    assert memorization.crossing([1, 10], [1.0, 2.0]) == math.inf       # beyond the sweep
    with pytest.raises(ValueError, match="finite"):
        memorization.crossing([1, 10], [1.0, float("nan")])


def test_train_test_gap_of_a_denoiser_that_returns_its_training_image():
    x = data.calpha_images(33, 16, 2.0, generator=runtime.generator(0))
    train, test = x[:1], x[1:]
    copy = lambda y, s=None: train.expand_as(y)                         # the empirical denoiser of N = 1
    r = memorization.train_test_gap(copy, train, test, [0.05, 0.2], seed=1)
    assert np.all(r.train > 150) and np.all(r.gap > 20)                 # exact on train, poor on test
    torch.testing.assert_close(torch.tensor(r.test[0]), torch.tensor(r.test[1]))   # flat: σ does not matter
    same = memorization.train_test_gap(lambda y, s=None: y, x[:16], x[16:32], [0.1], seed=1)
    assert abs(same.gap[0]) < 0.05 and 0 < same.se[0] < 0.5           # identity: same noise draws, same PSNR


def test_paired_stats_drops_non_finite_samples():
    x = data.calpha_images(8, 16, 2.0, generator=runtime.generator(3))

    class Bad(torch.nn.Module):                                          # NaN on the first sample only
        def forward(self, y, s=None):
            out = 0.5 * y + 0.25
            out[0] = float("nan")
            return out

    good = lambda y, s=None: 0.5 * y + 0.25
    p = memorization.paired_stats(Bad(), good, x[:4], x[4:], 5, seed=0, sigma_final=0.3)
    assert p.n_bad == 1 and not bool(p.ok[0]) and len(p.cos_ab) == 4
    assert np.isfinite(p.med_ab) and np.isfinite(p.med_near)


# ---- chapter 1's summaries and figures (gendiff.memorization, harmonic_stats, *_plots) -------------------
def test_sweep_summaries():
    sig = np.array([0.02, 0.05, 0.1, 0.2])
    in_psnr = -20 * np.log10(sig)
    flat = memorization.Gap(train=in_psnr + 3, test=np.full(4, 10.0), se=np.ones(4))
    assert memorization.flatness(flat, in_psnr, [0, 1, 2, 3]) == pytest.approx(0, abs=1e-9)
    ns, pairs_at = (1, 10), {1: range(1), 10: range(3)}
    values = {(n, k, g): n + k for n in ns for k in pairs_at[n] for g in "AB"}
    assert memorization.per_pair(values, ns, pairs_at, 2) == [1, 12]     # pair 0 where only one trained
    assert memorization.seed_spread(lambda n, k: 0.1 * k, ns, pairs_at) == pytest.approx(0.2)
    assert memorization.seed_spread(lambda n, k: k, ns, {1: range(1), 10: range(1)}) is None


def test_negative_tail_and_gap_sizes():
    from gendiff import harmonic_controls, harmonic_stats

    x = data.calpha_images(2, 16, 2.0, generator=runtime.generator(3))
    r = harmonic.shrinkage_analysis(lambda y, s=None: 0.5 * y, x, 0.1, generator=runtime.generator(0))
    t = harmonic_stats.negative_tail(r, 16)
    assert t.share == 1.0 and t.n_neg == 0 and math.isnan(t.hf_neg) and t.neg_energy == 0
    gaps = {(s, n): 8.0 / n / (s / 16) for s in (16, 32) for n in (1, 10, 100)}
    assert harmonic_controls.n_to_generalize(gaps, (16, 32), (1, 10, 100)) == {16: 10, 32: 10}


def test_chapter_figures_fit_the_column():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from gendiff import harmonic_plots, memorization_plots, plots

    plots.use_style()
    ns, sig = (1, 10, 100, 1000), np.array([0.05, 0.1, 0.2])
    gaps = {(n, 0, g): memorization.Gap(sig * 0 + 20, sig * 0 + 15, sig * 0 + 1) for n in ns for g in "AB"}
    x = data.calpha_images(2, 16, 2.0, generator=runtime.generator(3))
    r = harmonic.shrinkage_analysis(lambda y, s=None: 0.5 * y, x, 0.1, generator=runtime.generator(0))
    figs = [memorization_plots.psnr_grid(gaps, ns, -20 * np.log10(sig)),
            memorization_plots.gap_vs_n({k: 5.0 for k in gaps}, {k: 1.0 for k in gaps}, ns),
            harmonic_plots.spectra({"a": r}, {"a": np.ones(3)}, sig, {"a": "k"}, sigma=0.1),
            harmonic_plots.disk_spectra({0.1: r}, {0.1: torch.rand(2, 12)}, sig, sig, 256),
            harmonic_plots.plot_shrinkage(lambda y, s=None: 0.5 * y, x[:1], 0.1)]
    for fig in figs:
        assert fig.get_size_inches()[0] <= plots.FIG_WIDTH + 1e-9
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        assert min(sizes) >= 9, min(sizes)
        plt.close(fig)
