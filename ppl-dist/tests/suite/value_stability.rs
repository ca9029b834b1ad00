//! D12: the first five draws for seed 42 are pinned per distribution (rand_distr's
//! value-stability tests), so any change to a sampler is a reviewed edit. Tolerance: f64
//! 1e−14 relative, f32 1e−6 relative (the host draws are f64, rounded on upload).

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::{
    Bernoulli, Beta, Binomial, Categorical, Cauchy, Dirichlet, Distribution, Exponential, Gamma, Geometric, Gumbel,
    HalfNormal, InverseGamma, Laplace, LogNormal, Logistic, NegativeBinomial, Normal, Poisson, RngKey, StudentT,
    Uniform,
};

use crate::common::{backend_suite, host, is_f64, t1, t2};

backend_suite!(first_draws_for_seed_42_are_pinned);

/// (name, first five draws of `sample_n(5)` with `RngKey::new(42)`, computed on NdArray<f64>).
fn pinned() -> Vec<(&'static str, [f64; 5])> {
    vec![
        (
            "Normal",
            [
                0.47798123835102174,
                1.3340706102318078,
                -0.21086668327103028,
                0.4763469238088213,
                -0.5120906220561634,
            ],
        ),
        (
            "LogNormal",
            [
                1.6128152240266662,
                3.7964659097115883,
                0.8098820305075962,
                1.6101815293810997,
                0.599241480889735,
            ],
        ),
        (
            "HalfNormal",
            [
                0.47798123835102174,
                1.3340706102318078,
                0.21086668327103028,
                0.4763469238088213,
                0.5120906220561634,
            ],
        ),
        (
            "Exponential",
            [
                0.38287784341792824,
                0.05100343358811031,
                0.8497626220863862,
                0.4662339096597366,
                1.2427348416642872,
            ],
        ),
        (
            "Gamma",
            [
                2.9491390756697027,
                1.8708649795161931,
                1.496923007740242,
                1.000785247052136,
                7.030184759706408,
            ],
        ),
        (
            "InverseGamma",
            [
                0.5672408947861887,
                0.8558230267595593,
                1.0444994828569558,
                1.4904592221266741,
                0.2548376407805628,
            ],
        ),
        (
            "Beta",
            [
                0.5027760127722793,
                0.4480153625341643,
                0.6945173104604416,
                0.6138315323638666,
                0.44030812634101335,
            ],
        ),
        (
            "Uniform",
            [
                0.6818961923066714,
                0.950275407672484,
                0.4275164028565197,
                0.6273605211973403,
                0.2885938791411826,
            ],
        ),
        (
            "StudentT",
            [
                0.7920807393593464,
                1.0626313798143192,
                -0.31425663727536945,
                0.3646737324692904,
                -0.49175091466643756,
            ],
        ),
        (
            "Laplace",
            [
                0.45223032962453,
                2.3081084722574228,
                -0.15661544152644089,
                0.29399669094895825,
                -0.5495876611043418,
            ],
        ),
        (
            "Cauchy",
            [
                0.6430073289963275,
                6.349301554464808,
                -0.2317332553629895,
                0.42292863793658164,
                -0.7827792346053233,
            ],
        ),
        (
            "Logistic",
            [
                0.7624996667665471,
                2.9502522192292577,
                -0.29199142684442436,
                0.520909961849167,
                -0.9022230261218432,
            ],
        ),
        (
            "Gumbel",
            [
                0.9600392873652865,
                2.97586232326699,
                0.16279823663404508,
                0.7630678187327649,
                -0.21731446850468691,
            ],
        ),
        ("Bernoulli", [0.0, 0.0, 0.0, 0.0, 1.0]),
        ("Poisson", [5.0, 4.0, 6.0, 2.0, 2.0]),
        ("Binomial", [5.0, 7.0, 4.0, 4.0, 3.0]),
        ("Geometric", [1.0, 0.0, 2.0, 1.0, 3.0]),
        ("NegativeBinomial", [2.0, 2.0, 3.0, 1.0, 1.0]),
        ("Categorical", [1.0, 0.0, 2.0, 2.0, 0.0]),
        (
            "Dirichlet[:, 0]",
            [
                0.10366935576196135,
                0.022650876281726885,
                0.20063579964989714,
                0.045575244322482764,
                0.08339587262283896,
            ],
        ),
    ]
}

fn draws<B: AutodiffBackend>(dev: &B::Device) -> Vec<(&'static str, Vec<f64>)> {
    let s = |v: f64| t1::<B>(&[v], dev);
    let dists: Vec<(&'static str, Box<dyn Distribution<B, 1>>)> = vec![
        ("Normal", Box::new(Normal::new(s(0.0), 1.0).unwrap())),
        ("LogNormal", Box::new(LogNormal::new(s(0.0), 1.0).unwrap())),
        ("HalfNormal", Box::new(HalfNormal::new(s(1.0)).unwrap())),
        ("Exponential", Box::new(Exponential::new(s(1.0)).unwrap())),
        ("Gamma", Box::new(Gamma::new(s(2.5), 1.0).unwrap())),
        ("InverseGamma", Box::new(InverseGamma::new(s(3.0), 2.0).unwrap())),
        ("Beta", Box::new(Beta::new(s(2.0), 3.0).unwrap())),
        ("Uniform", Box::new(Uniform::new(s(0.0), 1.0).unwrap())),
        ("StudentT", Box::new(StudentT::new(s(4.0), 0.0, 1.0).unwrap())),
        ("Laplace", Box::new(Laplace::new(s(0.0), 1.0).unwrap())),
        ("Cauchy", Box::new(Cauchy::new(s(0.0), 1.0).unwrap())),
        ("Logistic", Box::new(Logistic::new(s(0.0), 1.0).unwrap())),
        ("Gumbel", Box::new(Gumbel::new(s(0.0), 1.0).unwrap())),
        ("Bernoulli", Box::new(Bernoulli::new(s(0.3)).unwrap())),
        ("Poisson", Box::new(Poisson::new(s(3.5)).unwrap())),
        ("Binomial", Box::new(Binomial::new(10.0, s(0.4)).unwrap())),
        ("Geometric", Box::new(Geometric::new(s(0.3)).unwrap())),
        (
            "NegativeBinomial",
            Box::new(NegativeBinomial::new(3.0, s(0.4)).unwrap()),
        ),
    ];
    let mut out: Vec<(&'static str, Vec<f64>)> = dists
        .iter()
        .map(|(n, d)| (*n, host(d.sample_n(5, &mut RngKey::new(42)).unwrap())))
        .collect();
    let cat = Categorical::new(t2::<B>(&[0.2, 0.3, 0.5], 1, 3, dev)).unwrap();
    out.push(("Categorical", host(cat.sample_n(5, &mut RngKey::new(42)).unwrap())));
    let dir = Dirichlet::new(t2::<B>(&[1.0, 2.0, 3.0], 1, 3, dev)).unwrap();
    let x = host(dir.sample_n(5, &mut RngKey::new(42)).unwrap());
    out.push(("Dirichlet[:, 0]", x.chunks(3).map(|r| r[0]).collect()));
    out
}

fn first_draws_for_seed_42_are_pinned<B: AutodiffBackend>(dev: &B::Device) {
    let got = draws::<B>(dev);
    let want = pinned();
    if std::env::var("PPL_PRINT_PINNED").is_ok() && is_f64::<B>() {
        for (name, v) in &got {
            println!("        (\"{name}\", {v:?}),");
        }
    }
    assert_eq!(got.len(), want.len(), "every distribution has pinned values");
    let rel = if is_f64::<B>() { 1e-14 } else { 1e-6 };
    for ((name, v), (wname, w)) in got.iter().zip(&want) {
        assert_eq!(name, wname);
        for i in 0..5 {
            assert!(
                (v[i] - w[i]).abs() <= rel * w[i].abs().max(1.0),
                "{name} draw {i}: {} vs pinned {}",
                v[i],
                w[i]
            );
        }
    }
}
