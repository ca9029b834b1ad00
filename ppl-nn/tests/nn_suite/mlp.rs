//! The digit classifier's networks built with the builder: shapes and parameter counts;
//! per-layer activations; seeded initialisation.

use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ppl_dist::backend_suite;
use ppl_dist::param::float_options;
use ppl_dist::testkit::{host, t2};
use ppl_nn::{Activation, MlpConfig};

backend_suite!(
    digit_networks_have_the_paper_shapes_and_sizes,
    per_layer_activations_apply_in_order,
    same_seed_same_weights
);

fn digit_networks_have_the_paper_shapes_and_sizes<B: AutodiffBackend>(dev: &B::Device) {
    // InferPy paper, k = 2, d0 = 100, dx = 784, dy = 3.
    let nn1 = MlpConfig::new(&[2, 100, 784])
        .with_hidden(Activation::Relu)
        .init::<B>(dev);
    let nn2 = MlpConfig::new(&[2, 3]).init::<B>(dev);
    let encoder = MlpConfig::new(&[784, 100, 4])
        .with_hidden(Activation::Relu)
        .init::<B>(dev);
    let z = Tensor::<B, 2>::zeros([7, 2], float_options::<B>(dev));
    assert_eq!(nn1.forward(z.clone()).dims(), [7, 784]);
    assert_eq!(nn2.forward(z).dims(), [7, 3]);
    assert_eq!(
        encoder
            .forward(Tensor::<B, 2>::zeros([7, 784], float_options::<B>(dev)))
            .dims(),
        [7, 4]
    );
    assert_eq!(nn1.num_params(), 2 * 100 + 100 + 100 * 784 + 784);
    assert_eq!(nn2.num_params(), 2 * 3 + 3);
    assert_eq!(encoder.num_params(), 784 * 100 + 100 + 100 * 4 + 4);
    assert_eq!(nn1.activations(), &[Activation::Relu, Activation::Identity]);
    // Any leading dimensions pass through.
    assert_eq!(
        nn2.forward(Tensor::<B, 3>::zeros([2, 5, 2], float_options::<B>(dev)))
            .dims(),
        [2, 5, 3]
    );
}

fn per_layer_activations_apply_in_order<B: AutodiffBackend>(dev: &B::Device) {
    let net = MlpConfig::new(&[3, 4, 4, 2])
        .with_activations(&[Activation::Tanh, Activation::Elu, Activation::Sigmoid])
        .with_seed(4)
        .init::<B>(dev);
    let x = t2::<B>(&[0.3, -1.0, 2.0], 1, 3, dev);
    // By hand: the same layers and activations applied one by one.
    let l = net.layers();
    let h = Activation::Tanh.forward(l[0].forward(x.clone()));
    let h = Activation::Elu.forward(l[1].forward(h));
    let want = host(Activation::Sigmoid.forward(l[2].forward(h)));
    let got = host(net.forward(x));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6 && (0.0..=1.0).contains(g), "{got:?} vs {want:?}");
    }
}

fn same_seed_same_weights<B: AutodiffBackend>(dev: &B::Device) {
    let a = MlpConfig::new(&[5, 3]).with_seed(9).init::<B>(dev);
    let b = MlpConfig::new(&[5, 3]).with_seed(9).init::<B>(dev);
    let c = MlpConfig::new(&[5, 3]).with_seed(10).init::<B>(dev);
    let w = |m: &ppl_nn::Mlp<B>| host(m.layers()[0].weight.val());
    assert_eq!(w(&a), w(&b));
    assert_ne!(w(&a), w(&c));
    // torch's default bound 1/√fan_in.
    assert!(w(&a).iter().all(|v| v.abs() <= 1.0 / 5f64.sqrt()));
}
