//! The ppl-data test suite: the committed MNIST fixture, the full data (when fetched),
//! damaged inputs, CSV and in-memory loaders, minibatches.

use std::path::PathBuf;

use burn::backend::NdArray;
use ppl_data::{idx, load_data, CsvLoader, DataError, Minibatches, MnistOptions};

type B = NdArray<f32>;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mnist-tiny")
}

fn full() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    d.join("train-images-idx3-ubyte").exists().then_some(d)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ppl-data-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn fixture_has_the_reference_values() {
    let opts = MnistOptions {
        dir: Some(fixture()),
        normalize: false,
        ..Default::default()
    };
    let (train, test) = load_data::<B>(&opts, &Default::default()).unwrap();
    assert_eq!((train.len(), test.len()), (100, 100));
    let px = train.images_flat().narrow(0, 0, 1).into_data().to_vec::<f32>().unwrap();
    assert_eq!(train.label_values[0], 5);
    assert_eq!(px.iter().map(|&p| p as u64).sum::<u64>(), 27525);
    assert_eq!(px.iter().filter(|&&p| p > 0.0).count(), 166);
    let tpx = test.images_flat().narrow(0, 0, 1).into_data().to_vec::<f32>().unwrap();
    assert_eq!(test.label_values[0], 7);
    assert_eq!(tpx.iter().map(|&p| p as u64).sum::<u64>(), 18454);
    // InferPy's digits filter: 33 train and 30 test images are 0, 1 or 2.
    let opts = MnistOptions {
        dir: Some(fixture()),
        digits: vec![0, 1, 2],
        ..Default::default()
    };
    let (train, test) = load_data::<B>(&opts, &Default::default()).unwrap();
    assert_eq!((train.len(), test.len()), (33, 30));
    assert!(train.label_values.iter().all(|l| *l <= 2));
    // Normalised to [0, 1]; 28×28 when not vectorized; first-N after filtering.
    let v = train.images_flat().into_data().to_vec::<f32>().unwrap();
    assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
    let opts = MnistOptions {
        dir: Some(fixture()),
        vectorize: false,
        num_instances: Some(7),
        ..Default::default()
    };
    let (train, _) = load_data::<B>(&opts, &Default::default()).unwrap();
    assert_eq!(train.images.dims(), vec![7, 28, 28]);
    assert_eq!(train.to_data().rows().unwrap(), Some(7));
}

#[test]
fn full_mnist_has_the_published_counts_and_mean() {
    let Some(dir) = full() else {
        eprintln!("full MNIST not fetched (bash scripts/fetch-mnist.sh): skipping");
        return;
    };
    let (train, test) = load_data::<B>(
        &MnistOptions {
            dir: Some(dir.clone()),
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let count = |l: &[u8]| {
        (0..10)
            .map(|d| l.iter().filter(|&&x| x == d).count())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        count(&train.label_values),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        count(&test.label_values),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let mean = train
        .images_flat()
        .into_data()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|&p| p as f64)
        .sum::<f64>()
        / (60_000.0 * 784.0);
    assert!((mean - 0.1307).abs() < 1e-4, "pixel mean {mean}");
    let opts = MnistOptions {
        dir: Some(dir),
        digits: vec![0, 1, 2],
        ..Default::default()
    };
    let (train, test) = load_data::<B>(&opts, &Default::default()).unwrap();
    assert_eq!((train.len(), test.len()), (18_623, 3_147));
}

#[test]
fn damaged_inputs_are_errors_naming_file_and_problem() {
    let d = tmp("damaged");
    let good = idx::read_bytes(&fixture().join("train-labels-idx1-ubyte.gz")).unwrap();
    let check = |name: &str, bytes: &[u8], want: &str| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = idx::read(&p).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(name) && msg.contains(want),
            "{name}: `{msg}` lacks `{want}`"
        );
    };
    check("empty", &[], "empty file");
    check("magic", &[1, 2, 3, 4, 0, 0, 0, 1, 9], "wrong magic");
    check("truncated", &good[..good.len() - 10], "truncated");
    // A crafted header whose sizes multiply past usize: an error, never an abort.
    let mut huge = vec![0, 0, 8, 3];
    huge.extend([0xff; 12]);
    huge.extend([0u8; 16]);
    check("huge", &huge, "more elements than fit in memory");
    // Sizes that fit usize but not the file.
    let mut big = vec![0, 0, 8, 2, 0x10, 0, 0, 0, 0x10, 0, 0, 0];
    big.extend([0u8; 16]);
    check("big", &big, "truncated");
    // A truncated gzip stream.
    let gz = std::fs::read(fixture().join("train-images-idx3-ubyte.gz")).unwrap();
    check("cut.gz", &gz[..gz.len() / 2], "gzip");
    // Image/label count mismatch: 100 images with 99 labels.
    let mdir = tmp("mismatch");
    std::fs::copy(
        fixture().join("train-images-idx3-ubyte.gz"),
        mdir.join("train-images-idx3-ubyte.gz"),
    )
    .unwrap();
    let mut labels = good.clone();
    labels[7] = 99; // header count 100 → 99
    labels.pop();
    std::fs::write(mdir.join("train-labels-idx1-ubyte"), &labels).unwrap();
    for f in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(fixture().join(f), mdir.join(f)).unwrap();
    }
    let e = load_data::<B>(
        &MnistOptions {
            dir: Some(mdir.clone()),
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("99 labels for 100 images"), "{e}");
    // Missing data: the error says which command fetches it.
    let e = load_data::<B>(
        &MnistOptions {
            dir: Some(d.join("nope")),
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, DataError::Missing { .. }) && e.to_string().contains("scripts/fetch-mnist.sh"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_dir_all(&mdir);
}

#[test]
fn minibatches_visit_every_row_once_in_a_seeded_aligned_order() {
    let dev = Default::default();
    let data = ppl_data::from_memory::<B>(
        &[
            ("x", (0..23).map(f64::from).collect(), vec![23]),
            ("y", (0..23).map(|v| f64::from(v) * 10.0).collect(), vec![23, 1]),
        ],
        &dev,
    )
    .unwrap();
    let mb = Minibatches::new(23, 5, true, false, 7).unwrap();
    assert_eq!(mb.len(), 5);
    for epoch in 0..3 {
        let mut seen = Vec::new();
        for batch in mb.iter(&data, epoch) {
            let x = batch.get("x").unwrap().to_vec();
            let y = batch.get("y").unwrap().to_vec();
            assert!(
                x.iter().zip(&y).all(|(a, b)| (a * 10.0 - b).abs() < 1e-6),
                "variables stay aligned"
            );
            seen.extend(x.iter().map(|v| *v as usize));
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..23).collect::<Vec<_>>(), "epoch {epoch} visits every row once");
    }
    assert_eq!(
        mb.order(1),
        Minibatches::new(23, 5, true, false, 7).unwrap().order(1),
        "same seed, same order"
    );
    assert_ne!(mb.order(1), mb.order(2), "epochs differ");
    assert_eq!(Minibatches::new(23, 5, true, true, 7).unwrap().len(), 4, "drop_last");
    assert!(Minibatches::new(23, 0, true, true, 7).is_err());
}

#[test]
fn csv_loader_maps_column_groups_to_variables() {
    let d = tmp("csv");
    let p = d.join("iris.csv");
    std::fs::write(&p, "a,b,label\n1.0,2.0,0\n3.5,4.5,1\n\n5,6,2\n").unwrap();
    let data = CsvLoader::new(&p)
        .var("x", &["a", "b"])
        .var("y", &["label"])
        .load::<B>(&Default::default())
        .unwrap();
    assert_eq!(data.get("x").unwrap().dims(), vec![3, 2]);
    assert_eq!(data.get("y").unwrap().to_vec(), vec![0.0, 1.0, 2.0]);
    // No header: columns by index; default names x0, x1, …
    let p2 = d.join("plain.csv");
    std::fs::write(&p2, "1,2\n3,4\n").unwrap();
    let all = CsvLoader::new(&p2).load::<B>(&Default::default()).unwrap();
    assert_eq!(all.names().collect::<Vec<_>>(), ["x0", "x1"]);
    let by_index = CsvLoader::new(&p2)
        .var("z", &["1"])
        .load::<B>(&Default::default())
        .unwrap();
    assert_eq!(by_index.get("z").unwrap().to_vec(), vec![2.0, 4.0]);
    // Errors name the file and line.
    std::fs::write(&p2, "1,2\n3,x\n").unwrap();
    let e = CsvLoader::new(&p2).load::<B>(&Default::default()).unwrap_err();
    assert!(e.to_string().contains("plain.csv:2"), "{e}");
    let e = CsvLoader::new(&p)
        .var("x", &["nope"])
        .load::<B>(&Default::default())
        .unwrap_err();
    assert!(e.to_string().contains("no column `nope`"), "{e}");
    // Quoted fields (a header with the delimiter inside quotes, quoted numbers).
    let p3 = d.join("quoted.csv");
    std::fs::write(&p3, "\"len, cm\",\"w\"\n\"1.5\",2\n3,\"4\"\n").unwrap();
    let q = CsvLoader::new(&p3)
        .var("x", &["len, cm"])
        .load::<B>(&Default::default())
        .unwrap();
    assert_eq!(q.get("x").unwrap().to_vec(), vec![1.5, 3.0]);
    // A missing value is an error naming the line, the row and the column.
    std::fs::write(&p, "a,b,label\n1.0,2.0,0\n3.5,,1\n").unwrap();
    let e = CsvLoader::new(&p).load::<B>(&Default::default()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::Csv { line: 3, .. }), "{msg}");
    assert!(msg.contains("row 2, column 2 (`b`): missing value"), "{msg}");
    // A quote left open swallows the rest of the file: no data rows is an error too.
    std::fs::write(&p2, "1,\"2\n3,4\n").unwrap();
    let e = CsvLoader::new(&p2).load::<B>(&Default::default()).unwrap_err();
    assert!(e.to_string().contains("no data rows"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}
