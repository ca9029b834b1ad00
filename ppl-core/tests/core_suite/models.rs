//! The digit classifier's P-model and Q-model and a Bayesian linear regression: sites,
//! shapes, and log-joints against hand-computed sums of statrs log-densities.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{activation::relu, backend::AutodiffBackend, backend::Backend, Int, Tensor, TensorData};
use ppl_core::handlers::Replay;
use ppl_core::{run, trace, Ctx, Data, Model, SiteKind};
use ppl_dist::special::softplus;
use ppl_dist::testkit::{host, scalar, t1, t2, tolerance};
use ppl_dist::{backend_suite, Categorical, Normal, RngKey};
use statrs::distribution::{Continuous, Normal as SNormal};

backend_suite!(
    digit_model_traces_have_the_right_sites_shapes_and_log_joint,
    bayesian_linear_regression_has_a_global_weight_outside_the_plate,
    same_seed_same_trace_different_seed_different_trace,
);

/// InferPy's digit classifier P-model: z ~ N(0.1·1, I), x ~ N(NN1(z), I), y ~ Cat(NN2(z)).
#[derive(Module, Debug)]
pub struct DigitModel<B: Backend> {
    h: Linear<B>,
    x: Linear<B>,
    y: Linear<B>,
    k: usize,
}

impl<B: Backend> Model<B> for DigitModel<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.full([1, self.k], 0.1), 1.0));
            ctx.sample("x", Normal::new(self.x.forward(relu(self.h.forward(z.clone()))), 1.0));
            ctx.sample("y", Categorical::from_logits(self.y.forward(z)));
        });
    }
}

/// Its Q-model: an encoder on x gives loc and softplus scale + 0.01 of z.
#[derive(Module, Debug)]
pub struct DigitQ<B: Backend> {
    h: Linear<B>,
    out: Linear<B>,
    k: usize,
}

impl<B: Backend> Model<B> for DigitQ<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let out = self.out.forward(relu(self.h.forward(ctx.data::<2>("x"))));
            let loc = out.clone().narrow(1, 0, self.k);
            let scale = softplus(out.narrow(1, self.k, self.k)) + 0.01;
            ctx.sample("z", Normal::new(loc, scale));
        });
    }
}

/// A dense layer with seeded weights in the backend's own dtype (burn's initializers use the
/// process-wide default dtype, shared by the f32 and f64 NdArray backends of this suite).
pub fn linear<B: Backend>(d_in: usize, d_out: usize, seed: u64, dev: &B::Device) -> Linear<B> {
    let mut key = RngKey::new(seed);
    let w: Vec<f64> = key
        .standard_normal(d_in * d_out)
        .iter()
        .map(|v| v / (d_in as f64).sqrt())
        .collect();
    let b: Vec<f64> = key.standard_normal(d_out).iter().map(|v| v * 0.1).collect();
    let mut layer = LinearConfig::new(d_in, d_out).init(dev);
    layer.weight = Param::from_tensor(t2::<B>(&w, d_in, d_out, dev));
    layer.bias = Some(Param::from_tensor(t1::<B>(&b, dev)));
    layer
}

/// Small digit model and guide (k = 2, d0 = 5, dx = 6, 3 classes).
pub fn digit<B: Backend>(dev: &B::Device) -> (DigitModel<B>, DigitQ<B>) {
    let (k, d0, dx) = (2, 5, 6);
    let p = DigitModel {
        h: linear(k, d0, 1, dev),
        x: linear(d0, dx, 2, dev),
        y: linear(k, 3, 3, dev),
        k,
    };
    let q = DigitQ {
        h: linear(dx, d0, 4, dev),
        out: linear(d0, 2 * k, 5, dev),
        k,
    };
    (p, q)
}

/// Four images of 6 pixels and their labels.
pub fn digit_data<B: Backend>(dev: &B::Device) -> Data<B> {
    let x: Vec<f64> = (0..24).map(|i| ((i * 7) % 11) as f64 / 10.0).collect();
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![0i64, 2, 1, 2], [4]), dev);
    Data::new().with("x", t2::<B>(&x, 4, 6, dev)).with("y", y)
}

fn digit_model_traces_have_the_right_sites_shapes_and_log_joint<B: AutodiffBackend>(dev: &B::Device) {
    let (p, q) = digit::<B>(dev);
    let data = digit_data::<B>(dev);
    let guide = trace(&q, &data, 3, dev).unwrap();
    let z_site = guide.site("z").unwrap();
    assert!(z_site.is_latent() && z_site.reparameterized);
    assert_eq!(z_site.value.dims(), vec![4, 2]);
    assert_eq!(z_site.plates[0].name, "data");
    let ctx = Ctx::new(data.clone(), RngKey::new(3), dev).with_handler(Replay::new(&guide));
    let tr = run(&p, ctx).unwrap().trace;
    let names: Vec<&str> = tr.sites().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["z", "x", "y"]);
    assert!(tr.site("x").unwrap().observed && tr.site("y").unwrap().observed && !tr.site("z").unwrap().observed);
    assert_eq!(
        tr.site("y").unwrap().value.dims(),
        vec![4, 1],
        "labels [M] fill the index slot [M, 1]"
    );
    // The replayed z is the guide's.
    assert_eq!(host(tr.value::<2>("z").unwrap()), host(guide.value::<2>("z").unwrap()));
    // Hand-computed log-joint with statrs.
    let z = tr.value::<2>("z").unwrap();
    let xm = host(p.x.forward(relu(p.h.forward(z.clone()))));
    let logits = host(p.y.forward(z.clone()));
    let (zh, xh, yh) = (
        host(z),
        data.get("x").unwrap().to_vec(),
        data.get("y").unwrap().to_vec(),
    );
    let mut want = 0.0;
    let mut terms = 0.0;
    for v in &zh {
        let l = SNormal::new(0.1, 1.0).unwrap().ln_pdf(*v);
        want += l;
        terms += l.abs();
    }
    for i in 0..24 {
        let l = SNormal::new(xm[i], 1.0).unwrap().ln_pdf(xh[i]);
        want += l;
        terms += l.abs();
    }
    for r in 0..4 {
        let row = &logits[r * 3..r * 3 + 3];
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        want += row[yh[r] as usize] - lse;
        terms += lse.abs() + row[yh[r] as usize].abs();
    }
    let got = scalar(tr.log_joint().unwrap());
    assert!(
        (got - want).abs() <= tolerance::<B>(want, terms, 1e-10),
        "log-joint {got} vs statrs {want}"
    );
    // The ELBO's gradient reaches the encoder through the replayed, reparameterized z.
    let elbo = tr.log_joint().unwrap() - guide.log_joint().unwrap();
    let grads = elbo.backward();
    assert!(q.h.weight.val().grad(&grads).is_some(), "encoder weights get gradients");
}

/// Bayesian linear regression: w ~ N(0, 1)^p and b ~ N(0, 1) are global (outside the plate);
/// y_n ~ N(x_n·w + b, 0.5) inside it.
struct Blr {
    p: usize,
}

impl<B: Backend> Model<B> for Blr {
    fn model(&self, ctx: &mut Ctx<B>) {
        let w = ctx.sample("w", Normal::new(ctx.zeros([self.p, 1]), 1.0));
        let b = ctx.sample("b", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<2>("x");
            ctx.sample("y", Normal::new(x.matmul(w) + b, 0.5));
        });
    }
}

fn bayesian_linear_regression_has_a_global_weight_outside_the_plate<B: AutodiffBackend>(dev: &B::Device) {
    let (n, p) = (5, 3);
    let x: Vec<f64> = (0..n * p).map(|i| (i as f64 * 0.37).sin()).collect();
    let y: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 1.0).collect();
    let data = Data::new()
        .with("x", t2::<B>(&x, n, p, dev))
        .with("y", t2::<B>(&y, n, 1, dev));
    let tr = trace(&Blr { p }, &data, 11, dev).unwrap();
    let w = tr.site("w").unwrap();
    assert!(w.is_latent() && w.plates.is_empty() && w.value.dims() == vec![p, 1]);
    assert_eq!(tr.site("b").unwrap().value.dims(), vec![1, 1]);
    let ys = tr.site("y").unwrap();
    assert!(ys.observed && ys.plates.len() == 1 && ys.value.dims() == vec![n, 1]);
    assert_eq!(ys.kind, SiteKind::Sample);
    let (wv, bv) = (w.value.to_vec(), tr.site("b").unwrap().value.to_vec()[0]);
    let mut want: f64 = wv.iter().map(|v| SNormal::new(0.0, 1.0).unwrap().ln_pdf(*v)).sum();
    want += SNormal::new(0.0, 1.0).unwrap().ln_pdf(bv);
    for i in 0..n {
        let mean: f64 = (0..p).map(|j| x[i * p + j] * wv[j]).sum::<f64>() + bv;
        want += SNormal::new(mean, 0.5).unwrap().ln_pdf(y[i]);
    }
    let got = scalar(tr.log_joint().unwrap());
    assert!(
        (got - want).abs() <= tolerance::<B>(want, want.abs() + 20.0, 1e-10),
        "BLR log-joint {got} vs {want}"
    );
    let _ = t1::<B>(&[0.0], dev);
}

fn same_seed_same_trace_different_seed_different_trace<B: AutodiffBackend>(dev: &B::Device) {
    let (_, q) = digit::<B>(dev);
    let data = digit_data::<B>(dev);
    let a = host(trace(&q, &data, 5, dev).unwrap().value::<2>("z").unwrap());
    let b = host(trace(&q, &data, 5, dev).unwrap().value::<2>("z").unwrap());
    let c = host(trace(&q, &data, 6, dev).unwrap().value::<2>("z").unwrap());
    assert_eq!(a, b, "bitwise reproducible");
    assert_ne!(a, c);
}
