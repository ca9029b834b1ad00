//! Exported posteriors (issue 18): export → load on the plain backend gives the same draws bit
//! for bit, and every bad input is a typed error naming the file.

use std::path::{Path, PathBuf};

use burn::backend::NdArray;
use burn::module::Module;
use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::testkit::{host, is_f64, t2};
use ppl_dist::{inference_suite, Constraint, Normal};
use ppl_infer::TrainingBackend;
use ppl_infer::{InferError, Locality, Manifest, Posterior, Svi, SviConfig, VariationalFamily};
use ppl_nn::{Activation, Mlp, MlpConfig, NormalHead};

inference_suite!(
    an_exported_posterior_loads_on_the_plain_backend_with_the_same_draws,
    bad_exports_are_typed_errors_that_name_the_file
);

/// Per row: z ~ N(0, 1) (k = 2), x ~ N(W z + b, σ) with a learnable `sigma` param site.
#[derive(Module, Debug)]
struct Decoder<B: Backend> {
    net: Mlp<B>,
}

impl<B: Backend> Model<B> for Decoder<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        let sigma = ctx.param("sigma", ctx.full([1], 0.5), Constraint::Positive);
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, 2]), 1.0));
            let loc = self.net.forward(z);
            let scale = sigma.clone().unsqueeze::<2>().expand(loc.dims());
            ctx.sample("x", Normal::new(loc, scale));
        });
    }
}

/// q(z | x): an encoder to loc and softplus scale.
#[derive(Module, Debug)]
struct Encoder<B: Backend> {
    net: Mlp<B>,
    head: NormalHead,
}

impl<B: Backend> Model<B> for Encoder<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let out = self.net.forward(ctx.data::<2>("x"));
            ctx.sample("z", self.head.normal(out));
        });
    }
}

impl<B: Backend> VariationalFamily<B> for Encoder<B> {
    fn locality(&self) -> Locality {
        Locality::Local
    }
}

fn skeletons<B: Backend>(seed: u64, hidden: usize, dev: &B::Device) -> (Decoder<B>, Encoder<B>) {
    let dec = MlpConfig::new(&[2, 3]).with_seed(seed).init(dev);
    let enc = MlpConfig::new(&[3, hidden, 4])
        .with_hidden(Activation::Relu)
        .with_seed(seed + 1)
        .init(dev);
    (
        Decoder { net: dec },
        Encoder {
            net: enc,
            head: NormalHead::new(2),
        },
    )
}

fn data<B: Backend>(dev: &B::Device) -> Data<B> {
    let values: Vec<f64> = (0..12)
        .flat_map(|i| {
            let t = i as f64 / 6.0 - 1.0;
            [t, 0.5 * t - 0.2, -t + 0.1 * (i % 3) as f64]
        })
        .collect();
    Data::new().with("x", t2::<B>(&values, 12, 3, dev))
}

fn fitted<B: TrainingBackend>(dev: &B::Device) -> Svi<B, Decoder<B>, Encoder<B>> {
    let (p, q) = skeletons::<B>(3, 8, dev);
    let config = SviConfig {
        epochs: 5,
        batch_size: 4,
        seed: 11,
        progress: false,
        ..Default::default()
    };
    let mut svi = Svi::new(p, q, config, dev);
    svi.fit(&data::<B>(dev)).unwrap();
    svi
}

fn export_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ppl-export-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The backend's type name as a file-name part (tests of several backends run at once).
fn backend_tag<B: Backend>() -> String {
    std::any::type_name::<B>().replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
/// The posterior as loaded on the plain backend.
type Loaded<B> = Posterior<Inner<B>, Decoder<Inner<B>>, Encoder<Inner<B>>>;

fn load<B: TrainingBackend>(dir: &Path, hidden: usize, dev: &B::Device) -> Result<Loaded<B>, InferError> {
    // Skeletons with other initial weights: everything must come from the export.
    let (p, q) = skeletons::<Inner<B>>(99, hidden, dev);
    Posterior::load(dir, p, q, dev)
}

/// The export read on another plain backend `P` (its default device).
fn load_on<P: Backend>(dir: &Path) -> Result<Posterior<P, Decoder<P>, Encoder<P>>, InferError> {
    let dev = Default::default();
    let (p, q) = skeletons::<P>(99, 8, &dev);
    Posterior::load(dir, p, q, &dev)
}

fn an_exported_posterior_loads_on_the_plain_backend_with_the_same_draws<B: TrainingBackend>(dev: &B::Device) {
    let svi = fitted::<B>(dev);
    let post = svi.to_posterior();
    let dir = export_dir(&format!("roundtrip-{}", backend_tag::<B>()));
    let example = data::<B>(dev).select_rows(&[0, 1]);
    let manifest = post.export(&dir, &example).unwrap();
    assert_eq!(manifest.seed, 11);
    // The sites as traced on the two example rows: z drawn by the guide, x observed.
    let site = |n: &str| manifest.sites.iter().find(|s| s.name == n).unwrap().clone();
    let (z, x) = (site("z"), site("x"));
    assert!(
        !z.observed && z.per_row && z.shape == [2, 2] && z.support == "Real",
        "{z:?}"
    );
    assert!(
        x.observed && x.per_row && x.shape == [2, 3] && x.support == "Real",
        "{x:?}"
    );
    assert_eq!(manifest.params.len(), 1);
    assert_eq!(manifest.params[0].name, "sigma");
    assert_eq!(Manifest::read(&dir).unwrap(), manifest);
    let loaded = load::<B>(&dir, 8, dev).unwrap();

    let x = data::<B>(dev);
    let x_inner = data::<Inner<B>>(dev);
    let a = post.sample(&["z"], &x, 3).unwrap();
    let b = loaded.sample(&["z"], &x_inner, 3).unwrap();
    assert_eq!(host(a.stack::<3>("z").unwrap()), host(b.stack::<3>("z").unwrap()));
    let a = post.posterior_predictive(&["x"], &x).unwrap();
    let b = loaded.posterior_predictive(&["x"], &x_inner).unwrap();
    assert_eq!(host(a.tensor::<2>("x").unwrap()), host(b.tensor::<2>("x").unwrap()));
    assert_eq!(
        post.params().get("sigma").unwrap().to_vec(),
        loaded.params().get("sigma").unwrap().to_vec()
    );
    // Exporting again replaces the directory as a whole.
    post.export(&dir, &example).unwrap();
    assert!(load::<B>(&dir, 8, dev).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

fn export_error<T>(r: Result<T, InferError>) -> (String, String) {
    match r {
        Err(InferError::Export { file, detail, .. }) => (file, detail),
        Err(e) => panic!("expected an export error, got {e}"),
        Ok(_) => panic!("expected an export error, got a posterior"),
    }
}

fn bad_exports_are_typed_errors_that_name_the_file<B: TrainingBackend>(dev: &B::Device) {
    let post = fitted::<B>(dev).to_posterior();
    let dir = export_dir(&format!("bad-{}", backend_tag::<B>()));
    let fresh = || {
        post.export(&dir, &data::<B>(dev)).unwrap();
    };

    // Another float dtype: the export read into a skeleton of the other precision.
    fresh();
    let (file, detail) = if is_f64::<B>() {
        export_error(load_on::<NdArray<f32>>(&dir))
    } else {
        export_error(load_on::<NdArray<f64>>(&dir))
    };
    assert_eq!(file, "manifest.json");
    assert!(detail.contains("float dtype"), "{detail}");

    // A skeleton of another shape (hidden width 5 instead of 8).
    fresh();
    let (file, detail) = export_error(load::<B>(&dir, 5, dev));
    assert_eq!(file, "manifest.json");
    assert!(detail.contains("guide parameter shapes"), "{detail}");

    // A truncated weight file.
    let guide = dir.join("guide.bpk");
    let bytes = std::fs::read(&guide).unwrap();
    std::fs::write(&guide, &bytes[..bytes.len() / 2]).unwrap();
    let (file, detail) = export_error(load::<B>(&dir, 8, dev));
    assert_eq!(file, "guide.bpk");
    assert!(detail.contains("truncated"), "{detail}");

    // A corrupt one (same length, one byte flipped).
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    std::fs::write(&guide, &flipped).unwrap();
    let (file, detail) = export_error(load::<B>(&dir, 8, dev));
    assert_eq!(file, "guide.bpk");
    assert!(detail.contains("corrupt"), "{detail}");

    // A missing file.
    fresh();
    std::fs::remove_file(dir.join("params.bpk")).unwrap();
    let (file, _) = export_error(load::<B>(&dir, 8, dev));
    assert_eq!(file, "params.bpk");

    // A manifest from another crate version, and one that is not JSON.
    fresh();
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let other = text.replace(
        &format!("\"crate_version\": \"{}\"", Manifest::read(&dir).unwrap().crate_version),
        "\"crate_version\": \"0.0.1\"",
    );
    assert_ne!(other, text);
    std::fs::write(&path, other).unwrap();
    let (file, detail) = export_error(load::<B>(&dir, 8, dev));
    assert_eq!(file, "manifest.json");
    assert!(detail.contains("0.0.1"), "{detail}");
    std::fs::write(&path, "{ not json").unwrap();
    let (file, _) = export_error(load::<B>(&dir, 8, dev));
    assert_eq!(file, "manifest.json");

    // No export at all.
    std::fs::remove_dir_all(&dir).unwrap();
    let (file, detail) = export_error(load::<B>(&dir, 8, dev));
    assert_eq!(file, "manifest.json");
    assert!(detail.contains("cannot read"), "{detail}");
}
