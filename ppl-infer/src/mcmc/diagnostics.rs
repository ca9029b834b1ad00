//! Convergence diagnostics of several chains of draws of one scalar: split R-hat, bulk and
//! tail effective sample size, after Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
//! "Rank-normalization, folding, and localization: an improved R-hat", *Bayesian Analysis*
//! 16(2) — the definitions Stan, ArviZ and NumPyro use.
//!
//! Each function takes `chains[c][d]`: draw `d` of chain `c`, every chain the same length.

use statrs::distribution::{ContinuousCDF, Normal as StdNormal};

/// Split every chain into its first and second half (dropping the middle draw of an odd
/// length), so that a chain that drifts looks like two chains that disagree.
fn split(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(chains.len() * 2);
    for c in chains {
        let half = c.len() / 2;
        out.push(c[..half].to_vec());
        out.push(c[c.len() - half..].to_vec());
    }
    out
}

/// Replace every draw by the normal score of its rank in the pooled draws (ties share their
/// average rank): `Φ⁻¹((r − 3/8) / (S + 1/4))` (Blom's offsets).
fn rank_normalize(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut all: Vec<(f64, usize, usize)> = Vec::new();
    for (c, chain) in chains.iter().enumerate() {
        for (d, v) in chain.iter().enumerate() {
            all.push((*v, c, d));
        }
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let s = all.len() as f64;
    let z = StdNormal::new(0.0, 1.0).expect("standard normal");
    let mut out: Vec<Vec<f64>> = chains.iter().map(|c| vec![0.0; c.len()]).collect();
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let score = z.inverse_cdf((rank - 0.375) / (s + 0.25));
        for &(_, c, d) in &all[i..=j] {
            out[c][d] = score;
        }
        i = j + 1;
    }
    out
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The potential scale reduction of (already split) chains: `√(var⁺ / W)`.
fn rhat_of(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len() as f64;
    let n = chains[0].len() as f64;
    if n < 2.0 || m < 2.0 {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let grand = mean(&means);
    let between = n / (m - 1.0) * means.iter().map(|x| (x - grand).powi(2)).sum::<f64>();
    let within = chains
        .iter()
        .zip(&means)
        .map(|(c, mu)| c.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0))
        .sum::<f64>()
        / m;
    if within == 0.0 {
        return if between == 0.0 { 1.0 } else { f64::INFINITY };
    }
    (((n - 1.0) / n * within + between / n) / within).sqrt()
}

/// Rank-normalized split R-hat: the larger of the bulk R-hat (rank-normalized draws) and the
/// tail R-hat (rank-normalized distances from the median). Near 1 (< 1.01) when the chains
/// agree; NaN with fewer than 4 draws per chain.
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 4 {
        return f64::NAN;
    }
    let halves = split(chains);
    let bulk = rhat_of(&rank_normalize(&halves));
    let median = quantile(&halves.concat(), 0.5);
    let folded: Vec<Vec<f64>> = halves
        .iter()
        .map(|c| c.iter().map(|x| (x - median).abs()).collect())
        .collect();
    let tail = rhat_of(&rank_normalize(&folded));
    bulk.max(tail)
}

/// The effective sample size of (already split) chains, with Geyer's initial monotone
/// sequence estimator of the integrated autocorrelation time.
fn ess_of(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    if n < 4 {
        return f64::NAN;
    }
    let nf = n as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    // autocovariance at lag t, divisor n, averaged over chains
    let acov = |t: usize| -> f64 {
        chains
            .iter()
            .zip(&means)
            .map(|(c, mu)| (0..n - t).map(|i| (c[i] - mu) * (c[i + t] - mu)).sum::<f64>() / nf)
            .sum::<f64>()
            / m as f64
    };
    let mean_var = acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        let grand = mean(&means);
        var_plus += means.iter().map(|x| (x - grand).powi(2)).sum::<f64>() / (m as f64 - 1.0);
    }
    if var_plus <= 0.0 {
        return f64::NAN; // a constant: no information about mixing
    }
    let rho_at = |t: usize| 1.0 - (mean_var - acov(t)) / var_plus;
    // Geyer's initial positive sequence, pairs (even, odd) while their sum stays positive;
    // the last pair is left as a bias term (antithetic chains), as in Stan
    let mut rho = vec![0.0; n + 2];
    let (mut even, mut odd) = (1.0, rho_at(1));
    rho[0] = even;
    rho[1] = odd;
    let mut s = 1;
    while s + 4 < n && even + odd > 0.0 {
        even = rho_at(s + 1);
        odd = rho_at(s + 2);
        if even + odd >= 0.0 {
            rho[s + 1] = even;
            rho[s + 2] = odd;
        }
        s += 2;
    }
    let max_s = s;
    if even > 0.0 {
        rho[max_s + 1] = even;
    }
    // Geyer's initial monotone sequence: pair sums never increase
    let mut k = 1;
    while k + 3 <= max_s {
        let prev = rho[k - 1] + rho[k];
        if rho[k + 1] + rho[k + 2] > prev {
            rho[k + 1] = prev / 2.0;
            rho[k + 2] = prev / 2.0;
        }
        k += 2;
    }
    let total = (m * n) as f64;
    let tau = -1.0 + 2.0 * rho[..max_s].iter().sum::<f64>() + rho[max_s + 1];
    (total / tau).min(total * total.log10())
}

/// Bulk effective sample size: the ESS of the rank-normalized split chains (how precisely
/// the centre of the distribution is known; `sd / √ESS` is the Monte-Carlo standard error of
/// the mean).
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 8 {
        return f64::NAN;
    }
    ess_of(&rank_normalize(&split(chains)))
}

/// Tail effective sample size: the smaller ESS of the indicators `x ≤ q₅%` and `x ≤ q₉₅%`
/// over the split chains (how precisely the 5 % and 95 % quantiles are known).
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 8 {
        return f64::NAN;
    }
    let halves = split(chains);
    let pooled = halves.concat();
    [0.05, 0.95]
        .iter()
        .map(|&p| {
            let q = quantile(&pooled, p);
            let ind: Vec<Vec<f64>> = halves
                .iter()
                .map(|c| c.iter().map(|x| f64::from(u8::from(*x <= q))).collect())
                .collect();
            ess_of(&ind)
        })
        .fold(f64::INFINITY, f64::min)
}

/// The `p`-quantile with linear interpolation between order statistics (NumPy's default).
pub fn quantile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let h = p * (v.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic chains (4 × 200) the reference values below were computed from.
    fn data(kind: usize) -> Vec<Vec<f64>> {
        (0..4)
            .map(|c| {
                let c = c as f64;
                (0..200)
                    .map(|d| {
                        let d = d as f64;
                        match kind {
                            0 => (0.37 * d + 1.1 * c).sin() + 0.5 * (1.9 * d * (c + 1.0)).cos() + 0.1 * c,
                            1 => (0.05 * d + c).sin() + 0.3 * (2.3 * d + 0.7 * c).sin(),
                            _ => (1.3 * d + 0.2 * c).sin() + 0.25 * c,
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// ArviZ 0.21.0 on the same chains: `az.rhat(x, method="rank")`, `az.ess(x, method="bulk")`,
    /// `az.ess(x, method="tail")` (mixing well; slow, autocorrelated; chains offset from
    /// each other).
    const ARVIZ: [(f64, f64, f64); 3] = [
        (1.007829064075903, 196.59435198299886, 503.89750820360115),
        (1.0237114657849276, 30.262038940899615, 205.3584555337104),
        (1.1136150570389685, 453.9684137981127, 858.937824831956),
    ];

    #[test]
    fn rhat_and_ess_match_arviz() {
        for (kind, (rhat, bulk, tail)) in ARVIZ.iter().enumerate() {
            let x = data(kind);
            let ours = (split_rhat(&x), ess_bulk(&x), ess_tail(&x));
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
            assert!(
                close(ours.0, *rhat),
                "data {kind}: R-hat {} against ArviZ {rhat}",
                ours.0
            );
            assert!(
                close(ours.1, *bulk),
                "data {kind}: bulk ESS {} against ArviZ {bulk}",
                ours.1
            );
            assert!(
                close(ours.2, *tail),
                "data {kind}: tail ESS {} against ArviZ {tail}",
                ours.2
            );
        }
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        let v = [3.0, 1.0, 4.0, 1.5];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        // sorted 1, 1.5, 3, 4: h = 0.5 · 3 = 1.5 → 1.5 + 0.5 · 1.5
        assert_eq!(quantile(&v, 0.5), 2.25);
    }
}
