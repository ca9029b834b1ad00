//! D13/D14 and N5: pathwise gradients of `rsample`, their unbiasedness (including the implicit
//! reparameterization of Gamma, Beta, Dirichlet and StudentT), log_prob gradients against
//! finite differences, and finite values/gradients at difficult points.

use burn::tensor::{backend::AutodiffBackend, Tensor};
use ppl_dist::sampling::{with_sampling, Sampling};
use ppl_dist::{
    Bernoulli, Beta, Categorical, Cauchy, Dirichlet, Distribution, Exponential, Gamma, Gumbel, HalfNormal, Laplace,
    LogNormal, Logistic, Normal, RngKey, StudentT, Uniform,
};

use crate::common::{backend_suite, grad, host, is_f64, t1, t2};

backend_suite!(
    normal_rsample_gradient_is_exact,
    location_scale_rsample_gradients_match_finite_differences,
    implicit_reparameterization_gradients_are_unbiased,
    implicit_reparameterization_gradients_are_unbiased_in_device_mode,
    pathwise_gradient_of_e_z_plus_z2_is_unbiased,
    log_prob_gradients_match_finite_differences,
    values_and_gradients_are_finite_at_difficult_points,
    bernoulli_logits_density_matches_the_two_branch_formula,
    normal_with_a_number_as_scale_matches_the_tensor_scale,
);

fn normal_rsample_gradient_is_exact<B: AutodiffBackend>(dev: &B::Device) {
    // D13 closed form: d z/d loc = 1, d z/d scale = ε, with ε from the same key.
    let n = 64;
    let loc = vec![0.3; n];
    let scale = vec![1.7; n];
    let g_loc = grad::<B>(&loc, dev, |l| {
        Normal::new(l, t1::<B>(&scale, dev))
            .unwrap()
            .rsample(&mut RngKey::new(5))
            .unwrap()
    });
    assert!(g_loc.iter().all(|g| *g == 1.0), "d z/d loc must be exactly 1");
    let g_scale = grad::<B>(&scale, dev, |s| {
        Normal::new(t1::<B>(&loc, dev), s)
            .unwrap()
            .rsample(&mut RngKey::new(5))
            .unwrap()
    });
    let eps = RngKey::new(5).standard_normal(n);
    let tol = if is_f64::<B>() { 1e-12 } else { 1e-6 };
    for (g, e) in g_scale.iter().zip(&eps) {
        assert!((g - e).abs() <= tol * e.abs().max(1.0), "d z/d scale = {g}, ε = {e}");
    }
}

fn location_scale_rsample_gradients_match_finite_differences<B: AutodiffBackend>(dev: &B::Device) {
    // D13 finite differences (NumPyro: eps 1e−3, rtol 0.02, atol 0.03) with a fixed key.
    type Build<B> = fn(Tensor<B, 1>, Tensor<B, 1>) -> Box<dyn Distribution<B, 1>>;
    let cases: [(&str, Build<B>); 7] = [
        ("Normal", |a, b| Box::new(Normal::new(a, b).unwrap())),
        ("LogNormal", |a, b| Box::new(LogNormal::new(a, b).unwrap())),
        ("Laplace", |a, b| Box::new(Laplace::new(a, b).unwrap())),
        ("Cauchy", |a, b| Box::new(Cauchy::new(a, b).unwrap())),
        ("Logistic", |a, b| Box::new(Logistic::new(a, b).unwrap())),
        ("Gumbel", |a, b| Box::new(Gumbel::new(a, b).unwrap())),
        ("Uniform", |a, b| Box::new(Uniform::new(a.clone(), a + b).unwrap())),
    ];
    let (p0, p1) = (vec![0.4; 16], vec![1.3; 16]);
    let h = 1e-3;
    for (name, build) in cases {
        let draw = |a: &[f64], b: &[f64]| {
            host(
                build(t1::<B>(a, dev), t1::<B>(b, dev))
                    .rsample(&mut RngKey::new(8))
                    .unwrap(),
            )
        };
        let g0 = grad::<B>(&p0, dev, |a| {
            build(a, t1::<B>(&p1, dev)).rsample(&mut RngKey::new(8)).unwrap()
        });
        let g1 = grad::<B>(&p1, dev, |b| {
            build(t1::<B>(&p0, dev), b).rsample(&mut RngKey::new(8)).unwrap()
        });
        let shift = |v: &[f64], d: f64| v.iter().map(|x| x + d).collect::<Vec<_>>();
        let fd0: Vec<f64> = draw(&shift(&p0, h), &p1)
            .iter()
            .zip(draw(&shift(&p0, -h), &p1))
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
        let fd1: Vec<f64> = draw(&p0, &shift(&p1, h))
            .iter()
            .zip(draw(&p0, &shift(&p1, -h)))
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
        for i in 0..16 {
            for (g, fd, which) in [(g0[i], fd0[i], 0), (g1[i], fd1[i], 1)] {
                assert!(
                    (g - fd).abs() <= 0.03 + 0.02 * fd.abs(),
                    "{name} param {which}[{i}]: autodiff {g} vs FD {fd}"
                );
            }
        }
    }
    // HalfNormal and Exponential have one parameter.
    let g = grad::<B>(&p1, dev, |s| {
        HalfNormal::new(s).unwrap().rsample(&mut RngKey::new(8)).unwrap()
    });
    let x = host(
        HalfNormal::new(t1::<B>(&p1, dev))
            .unwrap()
            .rsample(&mut RngKey::new(8))
            .unwrap(),
    );
    for i in 0..16 {
        assert!((g[i] - x[i] / p1[i]).abs() < 1e-5, "HalfNormal: d z/d σ = z/σ");
    }
    let g = grad::<B>(&p1, dev, |r| {
        Exponential::new(r).unwrap().rsample(&mut RngKey::new(8)).unwrap()
    });
    let x = host(
        Exponential::new(t1::<B>(&p1, dev))
            .unwrap()
            .rsample(&mut RngKey::new(8))
            .unwrap(),
    );
    for i in 0..16 {
        assert!((g[i] + x[i] / p1[i]).abs() < 1e-5, "Exponential: d z/d λ = −z/λ");
    }
}

/// Per-sample gradients `dᵢ` of `Σ zᵢ` w.r.t. a parameter repeated `n` times; returns
/// (mean, standard error).
fn mean_se(d: &[f64]) -> (f64, f64) {
    let n = d.len() as f64;
    let m = d.iter().sum::<f64>() / n;
    let v = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

/// The same checks with the Gamma draws and their implicit gradients computed on the device
/// ([`Sampling::Device`]: Marsaglia–Tsang and `d ln z/dα` in tensor operations), plus a shape
/// above 80, where the device derivative uses the Wilson–Hilferty approximation.
fn implicit_reparameterization_gradients_are_unbiased_in_device_mode<B: AutodiffBackend>(dev: &B::Device) {
    with_sampling(Sampling::Device, || {
        let a = t1::<B>(&[2.0; 8], dev);
        let device = host(
            Gamma::new(a.clone(), 1.0)
                .unwrap()
                .rsample(&mut RngKey::new(1))
                .unwrap(),
        );
        let on_host = with_sampling(Sampling::Host, || {
            host(Gamma::new(a, 1.0).unwrap().rsample(&mut RngKey::new(1)).unwrap())
        });
        assert_ne!(device, on_host, "device mode drew the host's Gamma numbers");
        implicit_reparameterization_gradients_are_unbiased::<B>(dev);
        let (alpha, n) = (150.0, 100_000);
        let d = grad::<B>(&vec![alpha; n], dev, |a| {
            Gamma::new(a, 1.0).unwrap().rsample(&mut RngKey::new(26)).unwrap()
        });
        let (m, se) = mean_se(&d);
        assert!(
            (m - 1.0).abs() < 4.0 * se,
            "Gamma({alpha}, 1) on the device: ∂E[z]/∂α = {m} ± {se}, want 1"
        );
    });
}

fn implicit_reparameterization_gradients_are_unbiased<B: AutodiffBackend>(dev: &B::Device) {
    // The check: ∂E[z]/∂α = 1/β for Gamma(α, β), within 4 standard errors (n = 10⁵).
    let n = 100_000;
    for &(alpha, beta) in &[(0.5, 2.0), (3.0, 0.7), (25.0, 1.0)] {
        let d = grad::<B>(&vec![alpha; n], dev, |a| {
            Gamma::new(a, beta).unwrap().rsample(&mut RngKey::new(21)).unwrap()
        });
        let (m, se) = mean_se(&d);
        assert!(
            (m - 1.0 / beta).abs() < 4.0 * se,
            "Gamma({alpha}, {beta}): ∂E[z]/∂α = {m} ± {se}, want {}",
            1.0 / beta
        );
        let d = grad::<B>(&vec![beta; n], dev, |b| {
            Gamma::new(t1::<B>(&vec![alpha; n], dev), b)
                .unwrap()
                .rsample(&mut RngKey::new(22))
                .unwrap()
        });
        let (m, se) = mean_se(&d);
        let want = -alpha / (beta * beta);
        assert!((m - want).abs() < 4.0 * se, "Gamma: ∂E[z]/∂β = {m} ± {se}, want {want}");
    }
    // Beta(a, b): ∂E[x]/∂a = b/(a + b)².
    for &(a, b) in &[(0.7, 2.0), (4.0, 4.0)] {
        let d = grad::<B>(&vec![a; n], dev, |a| {
            Beta::new(a, b).unwrap().rsample(&mut RngKey::new(23)).unwrap()
        });
        let (m, se) = mean_se(&d);
        let want = b / (a + b).powi(2);
        assert!(
            (m - want).abs() < 4.0 * se,
            "Beta({a}, {b}): ∂E[x]/∂a = {m} ± {se}, want {want}"
        );
    }
    // Dirichlet(α): ∂E[x₀]/∂α₀ = (α₀' − α₀)/α₀'² where α₀' = Σα.
    let rows = 20_000;
    let alpha = [1.5, 0.5, 3.0];
    let a0: f64 = alpha.iter().sum();
    let flat: Vec<f64> = (0..rows).flat_map(|_| alpha).collect();
    let t = t2::<B>(&flat, rows, 3, dev).require_grad();
    let x = Dirichlet::new(t.clone())
        .unwrap()
        .rsample(&mut RngKey::new(24))
        .unwrap();
    let g = host(t.grad(&x.slice([0..rows, 0..1]).sum().backward()).unwrap());
    let d0: Vec<f64> = g.chunks(3).map(|r| r[0]).collect();
    let (m, se) = mean_se(&d0);
    let want = (a0 - alpha[0]) / (a0 * a0);
    assert!(
        (m - want).abs() < 4.0 * se,
        "Dirichlet: ∂E[x₀]/∂α₀ = {m} ± {se}, want {want}"
    );
    // StudentT(ν): E[z²] = ν/(ν − 2), so ∂E[z²]/∂ν = −2/(ν − 2)².
    let nu = 6.0;
    let d = grad::<B>(&vec![nu; n], dev, |v| {
        StudentT::new(v, 0.0, 1.0)
            .unwrap()
            .rsample(&mut RngKey::new(25))
            .unwrap()
            .powi_scalar(2)
    });
    let (m, se) = mean_se(&d);
    let want = -2.0 / ((nu - 2.0) * (nu - 2.0));
    assert!(
        (m - want).abs() < 4.0 * se,
        "StudentT: ∂E[z²]/∂ν = {m} ± {se}, want {want}"
    );
}

fn pathwise_gradient_of_e_z_plus_z2_is_unbiased<B: AutodiffBackend>(dev: &B::Device) {
    // D14 (NumPyro test_pathwise_gradient): for N(μ, σ), E[z + z²] = μ + μ² + σ², so the
    // gradient is (1 + 2μ, 2σ). Per-sample gradients over 10⁶ draws, within 4 standard errors.
    let n = 1_000_000;
    let (mu, sigma) = (0.4, 1.2);
    let f = |z: Tensor<B, 1>| z.clone() + z.powi_scalar(2);
    let d = grad::<B>(&vec![mu; n], dev, |m| {
        f(Normal::new(m, sigma).unwrap().rsample(&mut RngKey::new(31)).unwrap())
    });
    let (m, se) = mean_se(&d);
    assert!((m - (1.0 + 2.0 * mu)).abs() < 4.0 * se, "∂/∂μ = {m} ± {se}");
    let d = grad::<B>(&vec![sigma; n], dev, |s| {
        f(Normal::new(t1::<B>(&vec![mu; n], dev), s)
            .unwrap()
            .rsample(&mut RngKey::new(32))
            .unwrap())
    });
    let (m, se) = mean_se(&d);
    assert!((m - 2.0 * sigma).abs() < 4.0 * se, "∂/∂σ = {m} ± {se}");
}

fn log_prob_gradients_match_finite_differences<B: AutodiffBackend>(dev: &B::Device) {
    // NumPyro test_log_prob_gradient: central differences, eps 1e−3, rtol 0.05, atol 0.01.
    if !is_f64::<B>() {
        return; // f32 central differences at eps 1e−3 are too noisy to be a check; f64 only.
    }
    type Lp<B> = fn(Tensor<B, 1>, &burn::tensor::Device<B>) -> Tensor<B, 1>;
    let cases: [(&str, f64, Lp<B>); 8] = [
        ("Normal.scale", 1.3, |p, d| {
            Normal::new(t1::<B>(&[0.2], d), p).unwrap().log_prob(t1::<B>(&[1.1], d))
        }),
        ("Gamma.concentration", 2.5, |p, d| {
            Gamma::new(p, 1.5).unwrap().log_prob(t1::<B>(&[0.8], d))
        }),
        ("Beta.concentration1", 0.7, |p, d| {
            Beta::new(p, 2.0).unwrap().log_prob(t1::<B>(&[0.3], d))
        }),
        ("StudentT.df", 3.0, |p, d| {
            StudentT::new(p, 0.0, 1.0).unwrap().log_prob(t1::<B>(&[2.0], d))
        }),
        ("Cauchy.scale", 0.8, |p, d| {
            Cauchy::new(t1::<B>(&[0.0], d), p).unwrap().log_prob(t1::<B>(&[1.5], d))
        }),
        ("Gumbel.loc", 0.1, |p, d| {
            Gumbel::new(p, 2.0).unwrap().log_prob(t1::<B>(&[1.0], d))
        }),
        ("Bernoulli.logits", 0.9, |p, d| {
            Bernoulli::from_logits(p).unwrap().log_prob(t1::<B>(&[1.0], d))
        }),
        ("Dirichlet.concentration", 1.7, |p, d| {
            let a = Tensor::cat(vec![p.reshape([1, 1]), t2::<B>(&[0.8, 2.0], 1, 2, d)], 1);
            Dirichlet::new(a)
                .unwrap()
                .log_prob(t2::<B>(&[0.2, 0.3, 0.5], 1, 3, d))
                .reshape([1])
        }),
    ];
    let h = 1e-3;
    for (name, p, f) in cases {
        let g = grad::<B>(&[p], dev, |t| f(t, dev))[0];
        let fd = (host(f(t1::<B>(&[p + h], dev), dev))[0] - host(f(t1::<B>(&[p - h], dev), dev))[0]) / (2.0 * h);
        assert!(
            (g - fd).abs() <= 0.01 + 0.05 * fd.abs(),
            "{name}: autodiff {g} vs FD {fd}"
        );
    }
}

fn values_and_gradients_are_finite_at_difficult_points<B: AutodiffBackend>(dev: &B::Device) {
    // N5: Normal(0, 1) log_prob at x ∈ {−100, −20, −5, 0, 5, 20, 100}: value and both gradients.
    let xs = [-100.0, -20.0, -5.0, 0.0, 5.0, 20.0, 100.0];
    let x = t1::<B>(&xs, dev).require_grad();
    let loc = t1::<B>(&[0.0], dev).require_grad();
    let lp = Normal::new(loc.clone(), 1.0).unwrap().log_prob(x.clone());
    assert!(host(lp.clone()).iter().all(|v| v.is_finite()));
    let g = lp.sum().backward();
    assert!(host(x.grad(&g).unwrap()).iter().all(|v| v.is_finite()));
    assert!(host(loc.grad(&g).unwrap()).iter().all(|v| v.is_finite()));
    // Logits forms at ±100 (D15 too): finite and equal to −softplus(∓l).
    let l = t1::<B>(&[-100.0, 100.0], dev).require_grad();
    let b = Bernoulli::from_logits(l.clone()).unwrap();
    let lp1 = b.log_prob(t1::<B>(&[1.0, 1.0], dev));
    let lp0 = b.log_prob(t1::<B>(&[0.0, 0.0], dev));
    let (v1, v0) = (host(lp1.clone()), host(lp0.clone()));
    // −softplus(−100) = −e^(−100)(1 + O(e^(−100))) ≈ −3.72e−44.
    let tiny = -(-100f64).exp();
    // D15's tolerance, tol32 = 16·ε₃₂·|ref| + 1e−6. The logits form is one `log_sigmoid`: flex
    // and libtorch compute the tail with log1p (−3.7e−44); burn's generic `log_sigmoid` (NdArray,
    // CUDA) computes ln(1 + e^(−100)) = 0. Either is the log-density to the precision that
    // matters (an absolute 4e−44), and neither is −∞ or NaN.
    let close = |a: f64, b: f64| a.is_finite() && (a - b).abs() <= 16.0 * f64::from(f32::EPSILON) * b.abs() + 1e-6;
    assert!(v1[0] == -100.0 && close(v1[1], tiny), "ln σ(±100) = {v1:?}");
    assert!(close(v0[0], tiny) && v0[1] == -100.0, "ln(1 − σ(±100)) = {v0:?}");
    let g = host(l.grad(&(lp1 + lp0).sum().backward()).unwrap());
    assert!(
        g.iter().all(|v| v.is_finite()),
        "Bernoulli logits gradient at ±100: {g:?}"
    );
    // D15: for |l| ≤ 15 the logits form equals −softplus(∓l), and the probs form equals
    // ln p̃, ln(1 − p̃) at its rounded p̃ = σ(l) (both within tol32): the two agree up to the
    // rounding of p, which is why logits are first-class.
    let ls: Vec<f64> = (-15..=15).map(f64::from).collect();
    let ps: Vec<f64> = ls
        .iter()
        .map(|l| crate::common::round::<B>(1.0 / (1.0 + (-l).exp())))
        .collect();
    let softplus = |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p();
    for v in [0.0, 1.0] {
        let a = host(
            Bernoulli::from_logits(t1::<B>(&ls, dev))
                .unwrap()
                .log_prob(t1::<B>(&vec![v; 31], dev)),
        );
        let b = host(
            Bernoulli::new(t1::<B>(&ps, dev))
                .unwrap()
                .log_prob(t1::<B>(&vec![v; 31], dev)),
        );
        for i in 0..31 {
            let exact_logits = if v == 1.0 { -softplus(-ls[i]) } else { -softplus(ls[i]) };
            let exact_probs = if v == 1.0 { ps[i].ln() } else { (-ps[i]).ln_1p() };
            let tol = |r: f64| crate::common::tol32(r.abs() + ls[i].abs());
            assert!(
                (a[i] - exact_logits).abs() <= tol(exact_logits),
                "logits form at l = {}",
                ls[i]
            );
            assert!(
                (b[i] - exact_probs).abs() <= tol(exact_probs),
                "probs form at l = {}",
                ls[i]
            );
        }
    }
    let logits = t2::<B>(&[100.0, -100.0, 0.0], 1, 3, dev).require_grad();
    let c = Categorical::from_logits(logits.clone()).unwrap();
    let lp = c.log_prob(t2::<B>(&[1.0], 1, 1, dev));
    assert_eq!(host(lp.clone())[0], -200.0);
    assert!(host(logits.grad(&lp.sum().backward()).unwrap())
        .iter()
        .all(|v| v.is_finite()));
    // Gamma/Beta samples and their gradients stay finite at tiny concentrations.
    let g = grad::<B>(&[1e-3; 32], dev, |a| {
        Gamma::new(a, 1.0).unwrap().rsample(&mut RngKey::new(40)).unwrap()
    });
    assert!(g.iter().all(|v| v.is_finite()));
    let g = grad::<B>(&[1e-3; 32], dev, |a| {
        Beta::new(a, 1e-3).unwrap().rsample(&mut RngKey::new(41)).unwrap()
    });
    assert!(g.iter().all(|v| v.is_finite()));
}

fn bernoulli_logits_density_matches_the_two_branch_formula<B: AutodiffBackend>(dev: &B::Device) {
    // Issue 16: the logits density is one `log_sigmoid(s·l)`, s = 2x − 1. It must equal the
    // two-branch form −x·softplus(−l) − (1 − x)·softplus(l) it replaced, in value and in its
    // gradient ∂/∂l = x − σ(l), at logits from −30 to 30 (0 included,
    // where a sign-based shortcut would get the gradient wrong). Reference computed in f64 on
    // the host; tolerance tol32 = 16·ε₃₂·Σ|terms| + 1e−6 on f32, 1e−12 relative on f64.
    let ls: Vec<f64> = (-60..=60).map(|i| f64::from(i) * 0.5).collect();
    let softplus = |v: f64| {
        if v > 0.0 {
            v + (-v).exp().ln_1p()
        } else {
            v.exp().ln_1p()
        }
    };
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    for x in [0.0, 1.0] {
        let l = t1::<B>(&ls, dev).require_grad();
        let lp = Bernoulli::from_logits(l.clone())
            .unwrap()
            .log_prob(t1::<B>(&vec![x; ls.len()], dev));
        let got = host(lp.clone());
        let g = host(l.grad(&lp.sum().backward()).unwrap());
        for (i, &li) in ls.iter().enumerate() {
            let want = -x * softplus(-li) - (1.0 - x) * softplus(li);
            let want_g = x - sigmoid(li);
            let (tol, tol_g) = if is_f64::<B>() {
                (1e-12 * want.abs().max(1.0), 1e-12)
            } else {
                (
                    16.0 * f64::from(f32::EPSILON) * (want.abs() + li.abs()) + 1e-6,
                    16.0 * f64::from(f32::EPSILON) + 1e-6,
                )
            };
            assert!(
                (got[i] - want).abs() <= tol,
                "x = {x}, l = {li}: ln p = {}, want {want}",
                got[i]
            );
            assert!(
                (g[i] - want_g).abs() <= tol_g,
                "x = {x}, l = {li}: ∂/∂l = {}, want {want_g}",
                g[i]
            );
        }
    }
}

fn normal_with_a_number_as_scale_matches_the_tensor_scale<B: AutodiffBackend>(dev: &B::Device) {
    // Issue 16: `Normal::new(loc, σ)` with σ a number takes a shorter path (no tensor for σ).
    // For σ = 1 (the digit model's likelihood) density, draws and ∂/∂loc must equal the
    // tensor path bit for bit; for other σ, within f32 rounding of the few terms
    // (tol = 16·ε·Σ|terms|; 1e−12 relative on f64).
    let xs: Vec<f64> = (-20..=20).map(|i| f64::from(i) * 0.37).collect();
    let locs: Vec<f64> = (0..xs.len()).map(|i| (i as f64 * 0.61).sin() * 3.0).collect();
    for s in [1.0, 0.3, 2.5] {
        let eval = |scale_as_number: bool| {
            let loc = t1::<B>(&locs, dev).require_grad();
            let d = if scale_as_number {
                Normal::new(loc.clone(), s).unwrap()
            } else {
                Normal::new(loc.clone(), t1::<B>(&[s], dev)).unwrap()
            };
            let lp = d.log_prob(t1::<B>(&xs, dev));
            let g = host(loc.grad(&lp.clone().sum().backward()).unwrap());
            (host(lp), g, host(d.rsample(&mut RngKey::new(11)).unwrap()))
        };
        let (lp_n, g_n, z_n) = eval(true);
        let (lp_t, g_t, z_t) = eval(false);
        if s == 1.0 {
            assert_eq!(lp_n, lp_t, "σ = 1: densities must be identical");
            assert_eq!(g_n, g_t, "σ = 1: gradients must be identical");
        }
        assert_eq!(z_n, z_t, "σ = {s}: draws must be identical");
        for i in 0..xs.len() {
            let terms = ((xs[i] - locs[i]) / s).powi(2) + s.ln().abs() + 1.0;
            let tol = if is_f64::<B>() {
                1e-12 * terms
            } else {
                16.0 * f64::from(f32::EPSILON) * terms
            };
            assert!(
                (lp_n[i] - lp_t[i]).abs() <= tol,
                "σ = {s}, x = {}: {} vs {}",
                xs[i],
                lp_n[i],
                lp_t[i]
            );
            let tol_g = if is_f64::<B>() {
                1e-12
            } else {
                16.0 * f64::from(f32::EPSILON)
            } * (1.0 + g_t[i].abs());
            assert!(
                (g_n[i] - g_t[i]).abs() <= tol_g,
                "σ = {s}: gradient {} vs {}",
                g_n[i],
                g_t[i]
            );
        }
    }
}
