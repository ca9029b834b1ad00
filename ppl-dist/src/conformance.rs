//! Backend parity (testing.md C4, Pyro's `test_cuda`): `log_prob` and its gradients for every
//! distribution, on identical inputs, on any backend against the reference NdArray f64.
//!
//! Each case has fixed host inputs (parameters and values spread over a wide but valid range,
//! drawn from a seeded [`RngKey`] on the host, so every backend receives the same numbers up to
//! its own float type). [`evaluate`] computes `log_prob` and the gradient of its sum with respect
//! to every parameter (and the value, for continuous distributions) on backend `B`; [`parity`]
//! compares them with the same computation on `Autodiff<NdArray<f64>>`.
//!
//! Two comparisons per case ([`ParityRow`]):
//! - **parity** (C4) against NdArray in the backend's own precision, element by element within
//!   testing.md's f32 tolerance `tol32(m) = 16·ε₃₂·m + 1e−6` plus twice NdArray f32's own
//!   largest distance from the f64 result in that tensor. The second term is stated, not
//!   hidden: the same f32 formulas evaluated in another order (a GPU reduction, libtorch's
//!   vectorised kernels) move a result by up to its rounding error, and f64 measures that error.
//! - **accuracy** against NdArray f64, reported, and guarded at [`ACCURACY_GUARD`]·tol32.
//!
//! As `m` we take, for a log_prob element, `1 + |reference| + Σ |inputs behind it|`; for a
//! gradient element, `1 + max |reference gradient| (normwise over that gradient) + Σ |inputs
//! behind it|·(1 + |reference gradient|)` — the scale of the terms a formula adds or cancels.
//! A ratio is `error / allowance` (≤ 1: within).
//!
//! `cargo run -p ppl-dist --example conformance_table [--features tch|cuda]` prints the table for
//! one backend; `scripts/conformance-table.sh` assembles all backends into
//! `docs/conformance.md`.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};

use crate::param::float_options;
use crate::testkit::tol32;
use crate::{
    Bernoulli, Beta, Binomial, Categorical, Cauchy, Dirichlet, DistError, Distribution, Exponential, Gamma, Geometric,
    Gumbel, HalfCauchy, HalfNormal, InverseGamma, Laplace, LogNormal, Logistic, LogitNormal, Multinomial,
    MultivariateNormal, MultivariateNormalDiag, NegativeBinomial, Normal, OneHotCategorical, Poisson, RngKey, StudentT,
    Uniform,
};
use crate::{BetaBinomial, Chi2, Pareto, TruncatedNormal, Weibull};

/// The reference backend: NdArray in f64, with autodiff.
pub type Reference = Autodiff<NdArray<f64>>;

/// Every distribution [`evaluate`] knows, by name.
pub const CASES: [&str; 33] = [
    "Normal",
    "LogNormal",
    "HalfNormal",
    "HalfCauchy",
    "Laplace",
    "Cauchy",
    "Logistic",
    "Gumbel",
    "Uniform",
    "Exponential",
    "Gamma",
    "InverseGamma",
    "Beta",
    "StudentT",
    "LogitNormal",
    "MultivariateNormalDiag",
    "MultivariateNormal",
    "Dirichlet",
    "Bernoulli",
    "Binomial",
    "Geometric",
    "NegativeBinomial",
    "Poisson",
    "Categorical",
    "OneHotCategorical",
    "Multinomial",
    "Weibull",
    "Pareto",
    "Chi2",
    "TruncatedNormal",
    "BetaBinomial",
    "Normal(extreme)",
    "Gamma(extreme)",
];

/// A `[rows, cols]` matrix of host values.
#[derive(Debug, Clone)]
struct Matrix {
    values: Vec<f64>,
    shape: [usize; 2],
}

impl Matrix {
    fn upload<B: AutodiffBackend>(&self, dev: &B::Device) -> Tensor<B, 2> {
        Tensor::from_data(
            TensorData::new(self.values.clone(), self.shape),
            float_options::<B>(dev),
        )
    }
    /// Sum of |values| in row `r`.
    fn row_abs(&self, r: usize) -> f64 {
        let c = self.shape[1];
        self.values[r * c..(r + 1) * c].iter().map(|v| v.abs()).sum()
    }
}

/// The inputs of one case.
#[derive(Debug, Clone)]
struct Inputs {
    params: Vec<Matrix>,
    value: Matrix,
    /// Whether the value gets a gradient (continuous support).
    value_grad: bool,
}

const ROWS: usize = 16;

/// Seeded host draws for case `name`: `u(lo, hi)` fills a `[ROWS, cols]` matrix uniformly.
struct Filler {
    key: RngKey,
    n: u64,
}

impl Filler {
    fn u(&mut self, cols: usize, lo: f64, hi: f64) -> Matrix {
        self.n += 1;
        let values = self
            .key
            .fold_in_u64(self.n)
            .uniform(ROWS * cols)
            .into_iter()
            // Identical inputs on every backend: values an f32 backend can hold exactly.
            .map(|u| (lo + (hi - lo) * u) as f32 as f64)
            .collect();
        Matrix {
            values,
            shape: [ROWS, cols],
        }
    }
    /// Integers uniformly in `0..=max`.
    fn int(&mut self, cols: usize, max: usize) -> Matrix {
        let mut m = self.u(cols, 0.0, max as f64 + 1.0);
        m.values.iter_mut().for_each(|v| *v = v.floor().min(max as f64));
        m
    }
    /// Per row, the class counts of `draws` uniform draws over `k` classes (`[ROWS, k]`):
    /// one-hot rows when `draws` is 1.
    fn counts(&mut self, draws: usize, k: usize) -> Matrix {
        let classes = self.int(draws, k - 1);
        let mut x = Matrix {
            values: vec![0.0; ROWS * k],
            shape: [ROWS, k],
        };
        for (i, &c) in classes.values.iter().enumerate() {
            x.values[(i / draws) * k + c as usize] += 1.0;
        }
        x
    }
}

fn inputs(case: &str) -> Inputs {
    let mut f = Filler {
        key: RngKey::new(2024).fold_in(case),
        n: 0,
    };
    let c = 8; // columns of the elementwise cases
    let cont = |params: Vec<Matrix>, value: Matrix| Inputs {
        params,
        value,
        value_grad: true,
    };
    let disc = |params: Vec<Matrix>, value: Matrix| Inputs {
        params,
        value,
        value_grad: false,
    };
    match case {
        "Normal" | "Laplace" | "Cauchy" | "Logistic" | "Gumbel" => {
            cont(vec![f.u(c, -3.0, 3.0), f.u(c, 0.2, 3.0)], f.u(c, -5.0, 5.0))
        }
        "Normal(extreme)" => cont(vec![f.u(c, -1e3, 1e3), f.u(c, 1e-3, 1e-2)], f.u(c, -1e3, 1e3)),
        "LogNormal" => cont(vec![f.u(c, -1.0, 1.0), f.u(c, 0.2, 2.0)], f.u(c, 0.05, 10.0)),
        "HalfNormal" | "HalfCauchy" => cont(vec![f.u(c, 0.2, 3.0)], f.u(c, 0.01, 5.0)),
        "Uniform" => cont(vec![f.u(c, -3.0, -1.0), f.u(c, 1.0, 3.0)], f.u(c, -0.9, 0.9)),
        "Exponential" => cont(vec![f.u(c, 0.2, 5.0)], f.u(c, 0.01, 5.0)),
        "Gamma" => cont(vec![f.u(c, 0.3, 20.0), f.u(c, 0.2, 5.0)], f.u(c, 0.05, 10.0)),
        "Gamma(extreme)" => cont(vec![f.u(c, 50.0, 500.0), f.u(c, 0.01, 0.1)], f.u(c, 500.0, 5000.0)),
        "InverseGamma" => cont(vec![f.u(c, 0.5, 10.0), f.u(c, 0.2, 5.0)], f.u(c, 0.05, 10.0)),
        "Beta" => cont(vec![f.u(c, 0.3, 10.0), f.u(c, 0.3, 10.0)], f.u(c, 0.02, 0.98)),
        "StudentT" => cont(
            vec![f.u(c, 1.0, 30.0), f.u(c, -2.0, 2.0), f.u(c, 0.3, 3.0)],
            f.u(c, -5.0, 5.0),
        ),
        "LogitNormal" => cont(vec![f.u(c, -1.0, 1.0), f.u(c, 0.3, 2.0)], f.u(c, 0.02, 0.98)),
        "MultivariateNormalDiag" => cont(vec![f.u(4, -2.0, 2.0), f.u(4, 0.3, 2.0)], f.u(4, -4.0, 4.0)),
        "MultivariateNormal" => {
            // A lower-triangular 3×3 factor per row, positive diagonal, flattened row-major.
            let mut tril = f.u(9, -0.5, 0.5);
            for r in 0..ROWS {
                for i in 0..3 {
                    for j in 0..3 {
                        let v = &mut tril.values[r * 9 + i * 3 + j];
                        if j > i {
                            *v = 0.0;
                        } else if j == i {
                            *v = (0.5 + v.abs() * 2.0) as f32 as f64;
                        }
                    }
                }
            }
            cont(vec![f.u(3, -2.0, 2.0), tril], f.u(3, -4.0, 4.0))
        }
        "Dirichlet" => {
            let mut x = f.u(4, 0.05, 1.0);
            for r in 0..ROWS {
                let s: f64 = x.values[r * 4..(r + 1) * 4].iter().sum();
                x.values[r * 4..(r + 1) * 4]
                    .iter_mut()
                    .for_each(|v| *v = (*v / s) as f32 as f64);
            }
            cont(vec![f.u(4, 0.3, 10.0)], x)
        }
        "Weibull" => cont(vec![f.u(c, 0.5, 3.0), f.u(c, 0.5, 5.0)], f.u(c, 0.05, 5.0)),
        "Pareto" => cont(vec![f.u(c, 0.5, 2.0), f.u(c, 0.5, 5.0)], f.u(c, 2.1, 10.0)),
        "Chi2" => cont(vec![f.u(c, 0.5, 20.0)], f.u(c, 0.05, 20.0)),
        // loc, scale, low, high; values inside every row's interval
        "TruncatedNormal" => cont(
            vec![
                f.u(c, -1.0, 1.0),
                f.u(c, 0.5, 2.0),
                f.u(c, -3.0, -1.5),
                f.u(c, 1.5, 3.0),
            ],
            f.u(c, -1.4, 1.4),
        ),
        // total count 15, then both concentrations
        "BetaBinomial" => disc(vec![f.u(c, 0.3, 10.0), f.u(c, 0.3, 10.0)], f.int(c, 15)),
        "Bernoulli" => disc(vec![f.u(c, -4.0, 4.0)], f.int(c, 1)),
        "Binomial" => disc(vec![f.u(c, -3.0, 3.0)], f.int(c, 20)),
        "Geometric" => disc(vec![f.u(c, -3.0, 3.0)], f.int(c, 10)),
        "NegativeBinomial" => disc(vec![f.u(c, 0.5, 20.0), f.u(c, -3.0, 2.0)], f.int(c, 30)),
        "Poisson" => disc(vec![f.u(c, 0.1, 30.0)], f.int(c, 40)),
        "Categorical" => disc(vec![f.u(5, -3.0, 3.0)], f.int(1, 4)),
        "OneHotCategorical" => {
            let x = f.counts(1, 5);
            disc(vec![f.u(5, -3.0, 3.0)], x)
        }
        // Ten draws spread over five classes per row.
        "Multinomial" => {
            let x = f.counts(10, 5);
            disc(vec![f.u(5, -3.0, 3.0)], x)
        }
        other => panic!("conformance: unknown case `{other}` (see CASES)"),
    }
}

fn build<B: AutodiffBackend>(case: &str, p: &[Tensor<B, 2>]) -> Result<Box<dyn Distribution<B, 2>>, DistError> {
    let a = || p[0].clone();
    let b = || p[1].clone();
    Ok(match case {
        "Normal" | "Normal(extreme)" => Box::new(Normal::new(a(), b())?),
        "LogNormal" => Box::new(LogNormal::new(a(), b())?),
        "HalfNormal" => Box::new(HalfNormal::new(a())?),
        "HalfCauchy" => Box::new(HalfCauchy::new(a())?),
        "Laplace" => Box::new(Laplace::new(a(), b())?),
        "Cauchy" => Box::new(Cauchy::new(a(), b())?),
        "Logistic" => Box::new(Logistic::new(a(), b())?),
        "Gumbel" => Box::new(Gumbel::new(a(), b())?),
        "Uniform" => Box::new(Uniform::new(a(), b())?),
        "Exponential" => Box::new(Exponential::new(a())?),
        "Gamma" | "Gamma(extreme)" => Box::new(Gamma::new(a(), b())?),
        "InverseGamma" => Box::new(InverseGamma::new(a(), b())?),
        "Beta" => Box::new(Beta::new(a(), b())?),
        "StudentT" => Box::new(StudentT::new(a(), b(), p[2].clone())?),
        "LogitNormal" => Box::new(LogitNormal::new(a(), b())?),
        "MultivariateNormalDiag" => Box::new(MultivariateNormalDiag::new(a(), b())?),
        "MultivariateNormal" => Box::new(MultivariateNormal::new(a(), b().reshape([ROWS, 3, 3]))?),
        "Dirichlet" => Box::new(Dirichlet::new(a())?),
        "Weibull" => Box::new(Weibull::new(a(), b())?),
        "Pareto" => Box::new(Pareto::new(a(), b())?),
        "Chi2" => Box::new(Chi2::new(a())?),
        "TruncatedNormal" => Box::new(TruncatedNormal::new(a(), b(), p[2].clone(), p[3].clone())?),
        "BetaBinomial" => Box::new(BetaBinomial::new(15.0, a(), b())?),
        "Bernoulli" => Box::new(Bernoulli::from_logits(a())?),
        "Binomial" => Box::new(Binomial::from_logits(20.0, a())?),
        "Geometric" => Box::new(Geometric::from_logits(a())?),
        "NegativeBinomial" => Box::new(NegativeBinomial::from_logits(a(), b())?),
        "Poisson" => Box::new(Poisson::new(a())?),
        "Categorical" => Box::new(Categorical::from_logits(a())?),
        "OneHotCategorical" => Box::new(OneHotCategorical::from_logits(a())?),
        "Multinomial" => Box::new(Multinomial::from_logits(10, a())?),
        other => panic!("conformance: unknown case `{other}` (see CASES)"),
    })
}

/// `log_prob` and its gradients for one case on one backend, as host f64.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `log_prob(value)`, row-major (`[16, cols]`, or `[16, 1]` for event distributions).
    pub log_prob: Vec<f64>,
    /// Gradient of `Σ log_prob` w.r.t. each parameter, then w.r.t. the value (continuous cases).
    pub grads: Vec<Vec<f64>>,
}

/// Evaluate case `case` (one of [`CASES`]) on backend `B`.
///
/// # Errors
/// A [`DistError`] if the backend rejects the parameters (it should not: they are valid).
///
/// # Panics
/// For a name not in [`CASES`].
pub fn evaluate<B: AutodiffBackend>(case: &str, dev: &B::Device) -> Result<Evaluation, DistError> {
    let inp = inputs(case);
    let params: Vec<Tensor<B, 2>> = inp.params.iter().map(|m| m.upload::<B>(dev).require_grad()).collect();
    let value = inp.value.upload::<B>(dev);
    let value = if inp.value_grad { value.require_grad() } else { value };
    let dist = build::<B>(case, &params)?;
    let lp = dist.log_prob(value.clone());
    let grads = lp.clone().sum().backward();
    let host = |t: Tensor<B::InnerBackend, 2>| t.into_data().iter::<f64>().collect::<Vec<f64>>();
    let mut out: Vec<Vec<f64>> = params
        .iter()
        .map(|p| {
            p.grad(&grads)
                .map(host)
                .unwrap_or_else(|| vec![0.0; p.shape().num_elements()])
        })
        .collect();
    if inp.value_grad {
        // No gradient means log_prob does not depend on the value (Uniform inside its support).
        let n = value.shape().num_elements();
        out.push(value.grad(&grads).map(host).unwrap_or_else(|| vec![0.0; n]));
    }
    Ok(Evaluation {
        log_prob: lp.into_data().iter::<f64>().collect(),
        grads: out,
    })
}

/// Largest errors of one evaluation against a reference.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deviation {
    /// Largest |log_prob − reference| over all elements.
    pub log_prob_err: f64,
    /// Largest |gradient − reference| over all elements of all gradients.
    pub grad_err: f64,
    /// Largest error / tolerance over log_prob and gradients (≤ 1: within tol32).
    pub ratio: f64,
}

/// How one distribution on one backend compares with the references.
#[derive(Debug, Clone)]
pub struct ParityRow {
    /// The case (a distribution name).
    pub case: &'static str,
    /// Against NdArray in the backend's own precision: backend parity (C4), same formulas, other
    /// kernels. Must be within tol32 plus twice NdArray's own f32 rounding error (see the
    /// module docs).
    pub parity: Deviation,
    /// Against NdArray f64: the accuracy of computing in f32 at all (informational; the error of
    /// our f32 formulas, equal on every f32 backend up to [`Self::parity`]).
    pub accuracy: Deviation,
    /// Whether any value or gradient is not finite on this backend.
    pub non_finite: bool,
}

/// A guard on [`ParityRow::accuracy`]: f32 results further than this many tol32 from f64 mean a
/// formula is broken in f32, not merely rounded.
pub const ACCURACY_GUARD: f64 = 100.0;

impl ParityRow {
    /// Whether the backend conforms: everything finite, parity within tol32 and accuracy within
    /// [`ACCURACY_GUARD`]·tol32.
    pub fn conforms(&self) -> bool {
        !self.non_finite && self.parity.ratio <= 1.0 && self.accuracy.ratio <= ACCURACY_GUARD
    }
}

/// Compare every case on `B` with NdArray of the same precision (parity) and NdArray f64
/// (accuracy).
///
/// # Errors
/// A [`DistError`] from [`evaluate`] on any backend.
pub fn parity<B: AutodiffBackend>(dev: &B::Device) -> Result<Vec<ParityRow>, DistError> {
    CASES.iter().map(|&case| parity_case::<B>(case, dev)).collect()
}

/// [`parity`] for one case.
///
/// # Errors
/// As [`parity`].
pub fn parity_case<B: AutodiffBackend>(case: &'static str, dev: &B::Device) -> Result<ParityRow, DistError> {
    let got = evaluate::<B>(case, dev)?;
    let f64_ref = evaluate::<Reference>(case, &Default::default())?;
    let non_finite = got
        .log_prob
        .iter()
        .chain(got.grads.iter().flatten())
        .any(|v| !v.is_finite());
    let inp = inputs(case);
    let parity = if crate::testkit::is_f64::<B>() {
        deviation(&inp, &got, &f64_ref, None)
    } else {
        // NdArray f32 is the reference; its distance from f64 (per element) is the
        // rounding-error slack.
        let f32_ref = evaluate::<Autodiff<NdArray<f32>>>(case, &Default::default())?;
        let abs_diff = |a: f64, b: f64| if a == b { 0.0 } else { (a - b).abs() };
        let mut err = f32_ref.clone();
        for (e, w) in err.log_prob.iter_mut().zip(&f64_ref.log_prob) {
            *e = abs_diff(*e, *w);
        }
        for (g, wg) in err.grads.iter_mut().zip(&f64_ref.grads) {
            for (e, w) in g.iter_mut().zip(wg) {
                *e = abs_diff(*e, *w);
            }
        }
        deviation(&inp, &got, &f32_ref, Some(&err))
    };
    Ok(ParityRow {
        case,
        parity,
        accuracy: deviation(&inp, &got, &f64_ref, None),
        non_finite,
    })
}

/// Errors of `got` against `want`, each over its allowance: `tol32(m)` plus, when `slack` (the
/// f32 reference's error against f64, per element) is given, twice its largest value in the
/// same tensor.
///
/// Why the slack: two f32 backends run the same formulas but may order float operations
/// differently (a GPU's tree reductions, libtorch's vectorised kernels, fused multiply-adds).
/// Reordering can change a result by up to the size of its rounding error, which the f64
/// reference measures.
fn deviation(inp: &Inputs, got: &Evaluation, want: &Evaluation, slack: Option<&Evaluation>) -> Deviation {
    // Normwise, like the gradient magnitudes: a reduction shared by a whole tensor (a row sum,
    // a gradient summed over a broadcast) rounds differently on another backend in every
    // element it reaches, so the slack is the largest reference error in the tensor.
    let max_abs = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let lp_slack = slack.map_or(0.0, |e| 2.0 * max_abs(&e.log_prob));
    let grad_slack = |k: usize| slack.map_or(0.0, |e| 2.0 * max_abs(&e.grads[k]));
    let rows = ROWS;
    let lp_cols = want.log_prob.len() / rows;
    // Magnitude of the inputs behind each log_prob element: its row's inputs (event
    // distributions) or its own element (elementwise ones).
    let input_mag = |i: usize| -> f64 {
        let r = i / lp_cols;
        let mats = inp.params.iter().chain(std::iter::once(&inp.value));
        if lp_cols == 1 {
            mats.map(|m| m.row_abs(r)).sum()
        } else {
            mats.map(|m| {
                if m.shape[1] == lp_cols {
                    m.values[i].abs()
                } else {
                    m.row_abs(r)
                }
            })
            .sum()
        }
    };
    let mut d = Deviation::default();
    for (i, (g, w)) in got.log_prob.iter().zip(&want.log_prob).enumerate() {
        let err = if g == w { 0.0 } else { (g - w).abs() };
        d.log_prob_err = d.log_prob_err.max(err);
        d.ratio = d.ratio.max(err / (tol32(1.0 + w.abs() + input_mag(i)) + lp_slack));
    }
    for (k, (gg, wg)) in got.grads.iter().zip(&want.grads).enumerate() {
        let cols = wg.len() / rows;
        // Gradients are compared normwise: the terms behind one element are as large as the
        // largest element of the same gradient (e.g. |x−μ|/b² and 1/b cancelling in ∂/∂b).
        let norm = wg.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let slack_k = grad_slack(k);
        for (j, (g, w)) in gg.iter().zip(wg).enumerate() {
            let err = if g == w { 0.0 } else { (g - w).abs() };
            d.grad_err = d.grad_err.max(err);
            // A gradient element's inputs: its log_prob element's (elementwise) or its row's.
            let lp_index = if lp_cols == cols { j } else { (j / cols) * lp_cols };
            let mag = 1.0 + norm + input_mag(lp_index) * (1.0 + w.abs());
            d.ratio = d.ratio.max(err / (tol32(mag) + slack_k));
        }
    }
    d
}

/// The parity rows as a Markdown table (one backend).
pub fn markdown(backend: &str, rows: &[ParityRow]) -> String {
    let mut s = format!(
        "Backend: {backend}. Parity: against NdArray in the same precision (C4, must be ≤ 1 tol32); \
         accuracy: against NdArray f64 (guard ≤ {ACCURACY_GUARD} tol32).\n\n\
         | distribution | log_prob err vs f64 | grad err vs f64 | accuracy / tol32 | log_prob err vs same precision | grad err vs same precision | parity / tol32 | conforms |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n"
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {:.2e} | {:.2e} | {:.2} | {:.2e} | {:.2e} | {:.3} | {} |\n",
            r.case,
            r.accuracy.log_prob_err,
            r.accuracy.grad_err,
            r.accuracy.ratio,
            r.parity.log_prob_err,
            r.parity.grad_err,
            r.parity.ratio,
            if r.conforms() { "yes" } else { "NO" }
        ));
    }
    s
}
