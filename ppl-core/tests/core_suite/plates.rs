//! Plate scaling (testing.md G2), nested plates and the datamodel's minibatch scaling.

use burn::tensor::{backend::AutodiffBackend, backend::Backend, Tensor};
use ppl_core::{run, Ctx, Data, Model};
use ppl_dist::testkit::{host, scalar, t1, t2, tolerance};
use ppl_dist::{backend_suite, Normal, RngKey};
use statrs::distribution::{Continuous, Normal as SNormal};

backend_suite!(
    subsampled_log_joint_averaged_over_a_partition_equals_the_full_data_log_joint,
    nested_plates_have_the_right_shapes_and_scaling,
    datamodel_minibatches_are_scaled_by_n_over_m,
    subsample_indices_pick_the_bound_data_rows,
    a_user_plate_policy_needs_no_change_to_ctx,
    particle_plate_sites_average_their_particles,
    a_particle_plate_of_one_is_the_plain_model,
    the_particle_plate_is_outermost_and_its_name_reserved,
    a_local_stream_redraws_the_data_plate_sites_only,
);

/// mu ~ N(0, 1) (global, learnable loc), x_i ~ N(mu, 1) in a plate of n with subsample m.
struct Global {
    n: usize,
    m: usize,
}

impl<B: Backend> Model<B> for Global {
    fn model(&self, ctx: &mut Ctx<B>) {
        let loc = ctx.param("loc", ctx.full([1], 0.3), ppl_dist::Constraint::Real);
        let mu = ctx.sample("mu", Normal::new(loc, 1.0));
        ctx.plate(&ppl_core::SubsampledPlate::new("obs", self.n, self.m), |ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    }
}

fn subsampled_log_joint_averaged_over_a_partition_equals_the_full_data_log_joint<B: AutodiffBackend>(dev: &B::Device) {
    // G2: f64 relative 1e−10 (deterministic partition, same global draw through a fixed key).
    let (n, m) = (12, 4);
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos() * 2.0).collect();
    let data = Data::new().with("x", t1::<B>(&x, dev));
    let run_with = |indices: Option<Vec<usize>>, m: usize| {
        let mut ctx = Ctx::new(data.clone(), RngKey::new(9), dev);
        if let Some(idx) = indices {
            ctx = ctx.with_plate_indices("obs", idx);
        }
        let res = run(&Global { n, m }, ctx).unwrap();
        let lj = res.trace.log_joint().unwrap();
        let loc = res.params.unconstrained("loc").unwrap();
        (lj, loc)
    };
    let (full, loc_full) = run_with(None, n);
    let full_grad = host(full.clone().backward().pipe_grad(&loc_full));
    let mut sum = 0.0;
    let mut grad_sum = 0.0;
    for part in 0..n / m {
        let idx: Vec<usize> = (part * m..(part + 1) * m).collect();
        let (lj, loc) = run_with(Some(idx), m);
        grad_sum += host(lj.clone().backward().pipe_grad(&loc))[0];
        sum += scalar(lj);
    }
    let avg = sum / (n / m) as f64;
    let f = scalar(full);
    let tol = tolerance::<B>(f, f.abs() * 4.0, 1e-10);
    assert!((avg - f).abs() <= tol, "subsampled average {avg} vs full {f}");
    let g_avg = grad_sum / (n / m) as f64;
    assert!(
        (g_avg - full_grad[0]).abs() <= tolerance::<B>(full_grad[0], 50.0, 1e-10),
        "gradients {g_avg} vs {}",
        full_grad[0]
    );
}

/// Gradient of a backward pass w.r.t. a tensor, as a host vector-producing tensor.
trait PipeGrad<B: AutodiffBackend> {
    fn pipe_grad(self, t: &Tensor<B, 1>) -> Tensor<B::InnerBackend, 1>;
}

impl<B: AutodiffBackend> PipeGrad<B> for B::Gradients {
    fn pipe_grad(self, t: &Tensor<B, 1>) -> Tensor<B::InnerBackend, 1> {
        t.grad(&self).expect("gradient")
    }
}

/// groups × members: mu_g ~ N(0, 1) per group; x_gj ~ N(mu_g, 1) per member (subsampled).
struct Nested {
    groups: usize,
    members: usize,
    sub: usize,
}

impl<B: Backend> Model<B> for Nested {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.plate(&ppl_core::FixedPlate::new("groups", self.groups), |ctx| {
            let mu = ctx.sample("mu", Normal::new(ctx.zeros([1, 1]), 1.0)); // [G, 1]
            ctx.plate(
                &ppl_core::SubsampledPlate::new("members", self.members, self.sub),
                |ctx| {
                    ctx.sample("x", Normal::new(mu, 1.0)); // [G, sub]
                },
            );
        });
    }
}

fn nested_plates_have_the_right_shapes_and_scaling<B: AutodiffBackend>(dev: &B::Device) {
    let (g, members, sub) = (3, 8, 4);
    let x: Vec<f64> = (0..g * members).map(|i| (i as f64 * 0.7).sin()).collect();
    let data = Data::new().with("x", t2::<B>(&x, g, members, dev));
    let ctx = Ctx::new(data, RngKey::new(4), dev).with_plate_indices("members", vec![1, 3, 5, 7]);
    let tr = run(
        &Nested {
            groups: g,
            members,
            sub,
        },
        ctx,
    )
    .unwrap()
    .trace;
    let mu = tr.site("mu").unwrap();
    assert_eq!((mu.value.dims(), mu.plates.len(), mu.scale), (vec![3, 1], 1, 1.0));
    let xs = tr.site("x").unwrap();
    assert_eq!((xs.value.dims(), xs.plates.len(), xs.scale), (vec![3, 4], 2, 2.0));
    assert_eq!((xs.plates[0].dim, xs.plates[1].dim), (0, 1));
    // Observed values are the subsampled columns; log-joint = Σ N(mu) + 2·Σ N(x | mu).
    let muv = mu.value.to_vec();
    let xv = xs.value.to_vec();
    let mut want: f64 = muv.iter().map(|v| SNormal::new(0.0, 1.0).unwrap().ln_pdf(*v)).sum();
    for gi in 0..g {
        for (j, col) in [1, 3, 5, 7].iter().enumerate() {
            assert_eq!(xv[gi * sub + j], ppl_dist::testkit::round::<B>(x[gi * members + col]));
            want += 2.0 * SNormal::new(muv[gi], 1.0).unwrap().ln_pdf(xv[gi * sub + j]);
        }
    }
    let got = scalar(tr.log_joint().unwrap());
    assert!(
        (got - want).abs() <= tolerance::<B>(want, want.abs() * 2.0, 1e-10),
        "{got} vs {want}"
    );
}

struct Mean;

impl<B: Backend> Model<B> for Mean {
    fn model(&self, ctx: &mut Ctx<B>) {
        let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, 1.0));
        });
    }
}

fn datamodel_minibatches_are_scaled_by_n_over_m<B: AutodiffBackend>(dev: &B::Device) {
    let x: Vec<f64> = (0..10).map(|i| i as f64 / 3.0).collect();
    let full = Data::new().with("x", t1::<B>(&x, dev));
    let run_on = |d: Data<B>, n: Option<usize>| {
        let mut ctx = Ctx::new(d, RngKey::new(2), dev);
        if let Some(n) = n {
            ctx = ctx.with_plate_size("data", n);
        }
        run(&Mean, ctx).unwrap().trace
    };
    let whole = run_on(full.clone(), None);
    assert_eq!(whole.site("x").unwrap().scale, 1.0);
    let mut avg = 0.0;
    for b in 0..5 {
        let tr = run_on(full.narrow_rows(b * 2, 2), Some(10));
        assert_eq!(tr.site("x").unwrap().scale, 5.0);
        avg += scalar(tr.log_joint().unwrap()) / 5.0;
    }
    let f = scalar(whole.log_joint().unwrap());
    assert!(
        (avg - f).abs() <= tolerance::<B>(f, f.abs() * 4.0, 1e-10),
        "{avg} vs {f}"
    );
}

fn subsample_indices_pick_the_bound_data_rows<B: AutodiffBackend>(dev: &B::Device) {
    // Drawn indices (no fixed ones): distinct, in range, and the observed rows follow them.
    let x: Vec<f64> = (0..20).map(f64::from).collect();
    let data = Data::new().with("x", t1::<B>(&x, dev));
    let tr = run(&Global { n: 20, m: 5 }, Ctx::new(data, RngKey::new(77), dev))
        .unwrap()
        .trace;
    let vals = tr.site("x").unwrap().value.to_vec();
    let mut seen = vals.clone();
    seen.sort_by(f64::total_cmp);
    seen.dedup();
    assert_eq!(seen.len(), 5);
    assert!(vals.iter().all(|v| (0.0..20.0).contains(v) && v.fract() == 0.0));
}

/// A user policy: visit the instances block by block (block `k` of `size / block`), the
/// sequential subsampling a streaming fit wants, written against the `Plate` trait alone.
struct Sequential {
    size: usize,
    block: usize,
    k: usize,
}

impl ppl_core::Plate for Sequential {
    fn name(&self) -> &str {
        "obs"
    }
    fn rows(&self, _env: &ppl_core::PlateEnv<'_>) -> Result<ppl_core::PlateRows, ppl_core::CoreError> {
        let start = self.k * self.block;
        Ok(ppl_core::PlateRows {
            size: self.size,
            subsample: self.block,
            indices: Some((start..start + self.block).collect()),
        })
    }
}

fn a_user_plate_policy_needs_no_change_to_ctx<B: AutodiffBackend>(dev: &B::Device) {
    // Issue 17: a plate policy is one trait implementation. Block 2 of 4 over 12 rows observes
    // rows 6..9 of the bound data and scales the site by 12/3 = 4 (exact).
    let x: Vec<f64> = (0..12).map(|i| i as f64 * 0.5).collect();
    let data = Data::new().with("x", t1::<B>(&x, dev));
    let model = |ctx: &mut Ctx<B>| {
        ctx.plate(
            &Sequential {
                size: 12,
                block: 3,
                k: 2,
            },
            |ctx| {
                ctx.sample("x", Normal::new(ctx.zeros([1]), 1.0));
            },
        );
    };
    let trace = run(&model, Ctx::new(data, RngKey::new(1), dev)).unwrap().trace;
    let site = trace.site("x").unwrap();
    assert_eq!(site.value.to_vec(), vec![3.0, 3.5, 4.0], "rows 6, 7, 8");
    assert_eq!(site.scale, 4.0);
    assert!(site.observed);
}

/// The global/subsampled model of [`Global`] written for vectorized particles, with a global
/// factor: w ~ N(loc, 1) `[K, 1]`, x_i ~ N(w, 1) in a plate of n seen through m `[K, m]`.
struct ParticleGlobal {
    n: usize,
    m: usize,
}

impl<B: Backend> Model<B> for ParticleGlobal {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.particle_plate(|ctx| {
            let loc = ctx.param("loc", ctx.full([1, 1], 0.3), ppl_dist::Constraint::Real);
            let mu = ctx.sample("mu", Normal::new(loc, 1.0));
            ctx.global_factor("penalty", mu.clone() * -0.5);
            ctx.plate(&ppl_core::SubsampledPlate::new("obs", self.n, self.m), |ctx| {
                ctx.sample("x", Normal::new(mu, 1.0));
            });
        });
    }
}

fn particle_plate_sites_average_their_particles<B: AutodiffBackend>(dev: &B::Device) {
    // Shapes, data rows and scales inside the particle plate; the log-joint against statrs
    // (f64 relative 1e−10).
    let (n, m, k) = (12, 4, 3);
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos() * 2.0).collect();
    let data = Data::new().with("x", t1::<B>(&x, dev));
    let ctx = Ctx::new(data, RngKey::new(5), dev)
        .with_vectorized_particles(k)
        .with_plate_indices("obs", vec![2, 5, 7, 11]);
    let tr = run(&ParticleGlobal { n, m }, ctx).unwrap().trace;
    let w = tr.site("mu").unwrap();
    assert_eq!((w.value.dims(), w.scale), (vec![k, 1], 1.0 / 3.0));
    assert!(w.plates[0].is_particle_plate() && w.plates[0].dim == 0);
    let xs = tr.site("x").unwrap();
    assert_eq!(
        (xs.value.dims(), xs.scale, xs.plates[1].dim),
        (vec![k, m], 1.0, 1) // N/M = 12/4 times 1/K = 1/3
    );
    assert_eq!(tr.site("penalty").unwrap().scale, 1.0 / 3.0);
    let wv = w.value.to_vec();
    assert!(
        wv[0] != wv[1] && wv[1] != wv[2],
        "each particle draws its own w: {wv:?}"
    );
    let xv = xs.value.to_vec();
    let mut want = 0.0;
    for (p, wp) in wv.iter().enumerate() {
        let mut term = SNormal::new(0.3, 1.0).unwrap().ln_pdf(*wp) - 0.5 * wp;
        for (j, row) in [2, 5, 7, 11].iter().enumerate() {
            // The observed rows, the same in every particle.
            assert_eq!(xv[p * m + j], ppl_dist::testkit::round::<B>(x[*row]));
            term += 3.0 * SNormal::new(*wp, 1.0).unwrap().ln_pdf(xv[p * m + j]);
        }
        want += term / k as f64;
    }
    let got = scalar(tr.log_joint().unwrap());
    assert!(
        (got - want).abs() <= tolerance::<B>(want, want.abs() * 4.0, 1e-10),
        "{got} vs {want}"
    );
}

fn a_particle_plate_of_one_is_the_plain_model<B: AutodiffBackend>(dev: &B::Device) {
    // K = 1 (a plain run): the same draws and log-joint as the model without the plate.
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.4).sin()).collect();
    let data = Data::new().with("x", t1::<B>(&x, dev));
    let ctx = |d: &Data<B>| Ctx::new(d.clone(), RngKey::new(8), dev).with_plate_indices("obs", vec![0, 3, 4, 9]);
    let plain = run(&Global { n: 12, m: 4 }, ctx(&data)).unwrap().trace;
    let particle = run(&ParticleGlobal { n: 12, m: 4 }, ctx(&data)).unwrap().trace;
    assert_eq!(particle.site("mu").unwrap().value.dims(), vec![1, 1]);
    assert_eq!(
        plain.site("mu").unwrap().value.to_vec(),
        particle.site("mu").unwrap().value.to_vec()
    );
    let w = particle.site("mu").unwrap().value.to_vec()[0];
    let got = scalar(particle.log_joint().unwrap());
    let want = scalar(plain.log_joint().unwrap()) - 0.5 * w;
    assert!(
        (got - want).abs() <= tolerance::<B>(want, want.abs() * 4.0, 1e-12),
        "{got} vs {want}"
    );
}

fn the_particle_plate_is_outermost_and_its_name_reserved<B: AutodiffBackend>(dev: &B::Device) {
    let inner = |ctx: &mut Ctx<B>| {
        ctx.plate(&ppl_core::FixedPlate::new("groups", 2), |ctx| {
            ctx.particle_plate(|ctx| ctx.sample("z", Normal::new(ctx.zeros([1, 1]), 1.0)));
        });
    };
    let e = run(&inner, Ctx::new(Data::new(), RngKey::new(0), dev)).unwrap_err();
    assert!(e.to_string().contains("outermost"), "{e}");
    let named = |ctx: &mut Ctx<B>| {
        ctx.plate(&ppl_core::FixedPlate::new(ppl_core::PARTICLE_PLATE, 2), |ctx| {
            ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
        });
    };
    let e = run(&named, Ctx::new(Data::new(), RngKey::new(0), dev)).unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
}

/// A global `g`, and inside the data plate a local `z` per row and a user stream's draw.
struct GlobalAndLocal;

impl<B: Backend> Model<B> for GlobalAndLocal {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.sample("g", Normal::new(ctx.zeros([1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<1>("x");
            let z = ctx.sample("z", Normal::new(x.zeros_like(), 1.0));
            let noise = ctx.rng("noise").standard_normal(1)[0];
            ctx.deterministic("noise", z.zeros_like() + noise);
        });
    }
}

fn a_local_stream_redraws_the_data_plate_sites_only<B: AutodiffBackend>(dev: &B::Device) {
    // Two shares of one minibatch with the same number of rows: with their own local streams
    // they keep the global draw and draw different local noise; stream 0 is the plain run.
    let data = Data::new().with("x", t1::<B>(&[0.0; 4], dev));
    let run_with = |stream: Option<u64>| {
        let mut ctx = Ctx::new(data.clone(), RngKey::new(5), dev);
        if let Some(s) = stream {
            ctx = ctx.with_local_stream(s);
        }
        let trace = run(&GlobalAndLocal, ctx).unwrap().trace;
        ["g", "z", "noise"].map(|name| host(trace.value::<1>(name).unwrap()))
    };
    let plain = run_with(None);
    assert_eq!(run_with(Some(0)), plain);
    let (share_a, share_b) = (run_with(Some(4)), run_with(Some(8)));
    for share in [&share_a, &share_b] {
        assert_eq!(share[0], plain[0], "the global latent is drawn alike by every share");
        assert_ne!(share[1], plain[1], "local latents draw the share's own noise");
        assert_ne!(share[2], plain[2], "user streams inside the data plate too");
    }
    assert_ne!(share_a[1], share_b[1]);
}
