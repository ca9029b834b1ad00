//! D8/D9: sample and log_prob shapes with batched and broadcast parameters; a batched
//! distribution equals the loop over its rows.

use burn::tensor::{backend::AutodiffBackend, Tensor};
use ppl_dist::{
    Categorical, Dirichlet, Distribution, Expanded, Gamma, Independent, MixtureGaussian, MultivariateNormal,
    MultivariateNormalDiag, Normal, OneHotCategorical, RngKey,
};

use crate::common::{backend_suite, host, is_f64, t1, t2, tol32};

backend_suite!(
    shapes_follow_the_convention,
    batched_equals_looped,
    wrappers_reshape_events_and_batches
);

fn shapes_follow_the_convention<B: AutodiffBackend>(dev: &B::Device) {
    let key = &mut RngKey::new(3);
    // A [1, 2] prior broadcast to a plate of 5 rows (the DESIGN's convention).
    let loc: Tensor<B, 2> = Tensor::zeros([1, 2], ppl_dist::param::float_options::<B>(dev));
    let d = Normal::new(loc, 1.0).unwrap();
    assert_eq!(d.value_shape(), [1, 2]);
    assert_eq!((d.batch_shape(), d.event_shape()), (vec![1, 2], vec![]));
    let z = d.sample_n(5, key).unwrap();
    assert_eq!(z.dims(), [5, 2]);
    assert_eq!(d.log_prob(z).dims(), [5, 2]);
    assert!(d.sample_n(5, key).is_ok());
    let three = Normal::new(t2::<B>(&[0.0; 6], 3, 2, dev), 1.0).unwrap();
    assert!(three.sample_n(5, key).is_err(), "dimension 0 of size 3 cannot become 5");
    // Event distributions keep their event dimension as size 1 in log_prob.
    let mvd = MultivariateNormalDiag::new(t2::<B>(&[0.0; 6], 2, 3, dev), 1.0).unwrap();
    assert_eq!((mvd.batch_shape(), mvd.event_shape()), (vec![2], vec![3]));
    assert_eq!(mvd.log_prob(mvd.sample(key)).dims(), [2, 1]);
    let mvn = MultivariateNormal::new(
        t2::<B>(&[0.0; 3], 1, 3, dev),
        t2::<B>(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 3, 3, dev).reshape([1, 3, 3]),
    )
    .unwrap();
    let x = mvn.sample_n(4, key).unwrap();
    assert_eq!((x.dims(), mvn.log_prob(x).dims()), ([4, 3], [4, 1]));
    let dir = Dirichlet::new(t2::<B>(&[1.0; 4], 1, 4, dev)).unwrap();
    let x = dir.sample_n(6, key).unwrap();
    assert_eq!((x.dims(), dir.log_prob(x).dims()), ([6, 4], [6, 1]));
    // Categorical: logits [n, K], values [n, 1].
    let cat = Categorical::from_logits(t2::<B>(&[0.0; 8], 2, 4, dev)).unwrap();
    assert_eq!((cat.value_shape(), cat.batch_shape()), ([2, 1], vec![2]));
    let y = cat.sample(key);
    assert_eq!((y.dims(), cat.log_prob(y).dims()), ([2, 1], [2, 1]));
    let oh = OneHotCategorical::from_logits(t2::<B>(&[0.0; 8], 2, 4, dev)).unwrap();
    assert_eq!(oh.log_prob(oh.sample(key)).dims(), [2, 1]);
    // Values broadcast against parameters in log_prob.
    let g = Gamma::new(t1::<B>(&[1.0, 2.0, 3.0], dev), 1.0).unwrap();
    assert_eq!(g.log_prob(t1::<B>(&[0.5], dev)).dims(), [3]);
    // Moments have the value shape; entropy the log_prob shape.
    assert_eq!(mvd.mean().unwrap().dims(), [2, 3]);
    assert_eq!(mvd.entropy().unwrap().dims(), [2, 1]);
}

fn batched_equals_looped<B: AutodiffBackend>(dev: &B::Device) {
    // D9: bitwise on f64, tol32 on f32.
    let locs = [0.3, -1.0, 2.5];
    let scales = [0.5, 1.5, 3.0];
    let xs = [0.1, 0.2, -4.0];
    let batched = host(
        Normal::new(t1::<B>(&locs, dev), t1::<B>(&scales, dev))
            .unwrap()
            .log_prob(t1::<B>(&xs, dev)),
    );
    for i in 0..3 {
        let one = host(
            Normal::new(t1::<B>(&[locs[i]], dev), t1::<B>(&[scales[i]], dev))
                .unwrap()
                .log_prob(t1::<B>(&[xs[i]], dev)),
        )[0];
        if is_f64::<B>() {
            assert_eq!(batched[i], one, "row {i}");
        } else {
            assert!((batched[i] - one).abs() <= tol32(batched[i].abs() + 2.0), "row {i}");
        }
    }
    let alphas = [0.5, 2.0, 7.0, 1.0, 1.0, 1.0];
    let x = [0.2, 0.3, 0.5, 0.1, 0.1, 0.8];
    let batched = host(
        Dirichlet::new(t2::<B>(&alphas, 2, 3, dev))
            .unwrap()
            .log_prob(t2::<B>(&x, 2, 3, dev)),
    );
    for i in 0..2 {
        let one = host(
            Dirichlet::new(t2::<B>(&alphas[i * 3..i * 3 + 3], 1, 3, dev))
                .unwrap()
                .log_prob(t2::<B>(&x[i * 3..i * 3 + 3], 1, 3, dev)),
        )[0];
        assert!(
            (batched[i] - one).abs() <= tol32(batched[i].abs() + 10.0),
            "Dirichlet row {i}"
        );
    }
}

fn wrappers_reshape_events_and_batches<B: AutodiffBackend>(dev: &B::Device) {
    let key = &mut RngKey::new(9);
    let base = Normal::new(t2::<B>(&[0.0, 1.0, 2.0], 1, 3, dev), 1.0).unwrap();
    let ind = Independent::new(base.clone(), 1).unwrap();
    assert_eq!((ind.batch_shape(), ind.event_shape()), (vec![1], vec![3]));
    let x = t2::<B>(&[0.0, 0.0, 0.0], 1, 3, dev);
    let summed = host(ind.log_prob(x.clone()))[0];
    let parts: f64 = host(base.log_prob(x)).iter().sum();
    assert!((summed - parts).abs() < 1e-5);
    assert!(Independent::new(base.clone(), 3).is_err(), "only 2 batch dimensions");
    let exp = Expanded::new(base.clone(), [4, 3]).unwrap();
    assert_eq!(exp.sample(key).dims(), [4, 3]);
    assert_eq!(exp.log_prob(t2::<B>(&[0.0; 3], 1, 3, dev)).dims(), [4, 3]);
    assert!(Expanded::new(base, [4, 2]).is_err(), "3 cannot expand to 2");
    // A mixture's value has a size-1 trailing slot.
    let mix = MixtureGaussian::gaussian(
        t2::<B>(&[0.0, 0.0], 1, 2, dev),
        t2::<B>(&[-1.0, 1.0], 1, 2, dev),
        t2::<B>(&[1.0, 1.0], 1, 2, dev),
    )
    .unwrap();
    let x = mix.sample_n(7, key).unwrap();
    assert_eq!((x.dims(), mix.log_prob(x).dims()), ([7, 1], [7, 1]));
}
