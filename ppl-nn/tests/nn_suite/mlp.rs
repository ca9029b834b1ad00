//! The digit classifier's networks built with the builder: shapes and parameter counts;
//! per-layer activations; seeded initialisation.

use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ppl_dist::backend_suite;
use ppl_dist::param::float_options;
use ppl_dist::testkit::{host, t2};
use std::cell::RefCell;

use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data, SiteScorer};
use ppl_dist::kernels::{dense_composed, DenseActivation, TrainingBackend};
use ppl_dist::RngKey;
use ppl_nn::{Activation, MlpConfig};

backend_suite!(
    digit_networks_have_the_paper_shapes_and_sizes,
    per_layer_activations_apply_in_order,
    same_seed_same_weights,
    an_inference_run_takes_the_fused_layer_with_the_same_numbers
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

/// Inside `ppl_core::run` with a scorer, every dense layer is the scorer's kernel (a marker
/// kernel shows it); with the backend's fused kernel (what `Svi` sets) the output and the
/// gradients of every weight and bias equal burn's `Linear` + `relu` outside the run, bit
/// for bit.
fn an_inference_run_takes_the_fused_layer_with_the_same_numbers<B: TrainingBackend>(dev: &B::Device) {
    let net = MlpConfig::new(&[3, 8, 8, 2])
        .with_activations(&[Activation::Relu, Activation::Tanh, Activation::Relu])
        .with_seed(5)
        .init::<B>(dev);
    let x = t2::<B>(
        &[0.3, -1.0, 2.0, 0.0, 0.7, -0.2, 1.5, -2.5, 0.1, 0.4, 0.0, -0.9],
        4,
        3,
        dev,
    );
    let inside = |scorer: SiteScorer<B>| {
        let out = RefCell::new(None);
        let model = |_: &mut Ctx<B>| *out.borrow_mut() = Some(net.forward(x.clone()));
        ppl_core::run(
            &model,
            Ctx::new(Data::new(), RngKey::new(0), dev).with_scorer(Some(scorer)),
        )
        .unwrap();
        out.into_inner().expect("the model ran")
    };
    fn marked<B: Backend>(
        x: Tensor<B, 2>,
        w: Tensor<B, 2>,
        b: Option<Tensor<B, 1>>,
        a: DenseActivation,
    ) -> Tensor<B, 2> {
        dense_composed(x, w, b, a) * 0.0 + 7.0
    }
    let marker = SiteScorer {
        dense: marked::<B>,
        ..SiteScorer::fused()
    };
    // The last layer's ReLU is fused, so the marker's 7 comes out as is.
    assert!(host(inside(marker)).iter().all(|&v| v == 7.0));
    let grads_of = |y: Tensor<B, 2>| {
        let weights = t2::<B>(&[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], 4, 2, dev);
        let grads = (y.clone() * weights).sum().backward();
        let mut all = vec![host(y)];
        for layer in net.layers() {
            all.push(host(layer.weight.val().grad(&grads).expect("weight gradient")));
            all.push(host(
                layer
                    .bias
                    .as_ref()
                    .expect("bias")
                    .val()
                    .grad(&grads)
                    .expect("bias gradient"),
            ));
        }
        all.into_iter()
            .map(|v| v.into_iter().map(f64::to_bits).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    assert_eq!(grads_of(inside(SiteScorer::fused())), grads_of(net.forward(x.clone())));
}
