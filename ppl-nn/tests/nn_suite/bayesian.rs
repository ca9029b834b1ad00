//! Bayesian dense layers inside a model: the KL enters once as a global factor, draws are
//! seeded, and the two estimators agree on the expected output.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ppl_core::{run, Ctx, Data, SiteKind};
use ppl_dist::param::float_options;
use ppl_dist::testkit::{host, t2};
use ppl_dist::{backend_suite, RngKey};
use ppl_nn::BayesianDenseConfig;

backend_suite!(
    kl_is_one_global_factor_with_the_closed_form,
    flipout_and_reparameterization_share_the_mean_output
);

fn kl_is_one_global_factor_with_the_closed_form<B: AutodiffBackend>(dev: &B::Device) {
    let cfg = BayesianDenseConfig::new("fc", 3, 2)
        .with_prior_scale(0.5)
        .with_init_scale(0.2);
    let layer = cfg.init_reparameterization::<B>(dev);
    // Called inside a subsampled data plate (4 of 100 rows): the KL is not scaled by 25.
    let model = |ctx: &mut Ctx<B>| {
        ctx.datamodel(|ctx| {
            let x = ctx.data::<2>("x");
            let _ = layer.forward(ctx, x);
        });
    };
    let data = Data::new().with("x", Tensor::<B, 2>::ones([4, 3], float_options::<B>(dev)));
    let ctx = Ctx::new(data, RngKey::new(1), dev).with_data_size(100);
    let trace = run(&model, ctx).unwrap().trace;
    let site = trace.site("fc.kl").expect("KL site");
    assert_eq!(site.kind, SiteKind::Factor);
    assert!(site.plates.is_empty() && site.scale == 1.0);
    // Closed form: Σ ln(σp/σ) + (σ² + μ²)/(2σp²) − ½ over 3·2 kernel and 2 bias entries.
    let w = &layer.weights;
    let mu2: f64 = host(w.kernel_loc.val()).iter().map(|m| m * m).sum();
    let (s, sp) = (0.2f64, 0.5f64);
    let want = 8.0 * ((sp / s).ln() + s * s / (2.0 * sp * sp) - 0.5) + mu2 / (2.0 * sp * sp);
    let got = -host(trace.log_joint().unwrap())[0];
    assert!(
        (got - want).abs() < 1e-5 * (got.abs() + want.abs()),
        "KL {got} vs {want}"
    );
}

fn flipout_and_reparameterization_share_the_mean_output<B: AutodiffBackend>(dev: &B::Device) {
    // Averaged over 600 passes (independent keys), both layers' outputs converge to
    // x·loc + bias_loc; per-row variances agree too (same marginal weight distribution).
    // Tolerance: 5 standard errors of the mean per element.
    let cfg = BayesianDenseConfig::new("fc", 4, 3).with_init_scale(0.3).with_seed(2);
    let rep = cfg.init_reparameterization::<B>(dev);
    let flip = cfg.init_flipout::<B>(dev);
    let x = t2::<B>(&[0.5, -1.0, 2.0, 0.1, 1.0, 1.0, -0.5, 0.3], 2, 4, dev);
    let exact = host(burn::tensor::module::linear(
        x.clone(),
        rep.weights.kernel_loc.val(),
        Some(rep.weights.bias_loc.val()),
    ));
    let reps = 600;
    let moments = |f: &dyn Fn(&mut Ctx<B>) -> Tensor<B, 2>| {
        let (mut m, mut m2) = (vec![0.0; 6], vec![0.0; 6]);
        for r in 0..reps {
            let mut ctx = Ctx::new(Data::new(), RngKey::new(100 + r), dev);
            for (i, v) in host(f(&mut ctx)).into_iter().enumerate() {
                m[i] += v / reps as f64;
                m2[i] += v * v / reps as f64;
            }
        }
        let var: Vec<f64> = m.iter().zip(&m2).map(|(a, b)| b - a * a).collect();
        (m, var)
    };
    let (m_rep, v_rep) = moments(&|ctx| rep.forward(ctx, x.clone()));
    let (m_flip, v_flip) = moments(&|ctx| flip.forward(ctx, x.clone()));
    for i in 0..6 {
        let se = (v_rep[i] / reps as f64).sqrt();
        assert!(
            (m_rep[i] - exact[i]).abs() < 5.0 * se,
            "reparam {i}: {} vs {}",
            m_rep[i],
            exact[i]
        );
        assert!(
            (m_flip[i] - exact[i]).abs() < 5.0 * se,
            "flipout {i}: {} vs {}",
            m_flip[i],
            exact[i]
        );
        let ratio = v_flip[i] / v_rep[i];
        assert!((0.8..1.25).contains(&ratio), "variance ratio {i}: {ratio}");
    }
}
