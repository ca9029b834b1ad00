//! Every error a model author can cause comes back as a `Result` naming the site.

use burn::tensor::{backend::AutodiffBackend, backend::Backend};
use ppl_core::{run, trace, CoreError, Ctx, Data};
use ppl_dist::testkit::{t1, t2};
use ppl_dist::{backend_suite, DistError, Normal, RngKey};

backend_suite!(
    missing_data_names_the_site,
    shape_mismatch_names_site_shapes_and_fixes,
    duplicate_sites_are_errors,
    invalid_plates_are_errors,
    invalid_parameters_inside_a_model_name_the_site,
    panics_inside_a_model_become_errors,
);

fn missing_data_names_the_site<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        ctx.datamodel(|ctx| {
            let x = ctx.data::<2>("x");
            ctx.sample("z", Normal::new(x, 1.0));
        });
    };
    let data = Data::new().with("y", t1::<B>(&[1.0, 2.0], dev));
    let e = trace(&model, &data, 0, dev).unwrap_err();
    assert!(matches!(&e, CoreError::MissingData { site, .. } if site == "x"), "{e}");
    assert!(e.to_string().contains("`x`") && e.to_string().contains("\"y\""), "{e}");
    // A datamodel with nothing to size it.
    let e = trace(&|ctx: &mut Ctx<B>| ctx.datamodel(|_| ()), &Data::new(), 0, dev).unwrap_err();
    assert!(matches!(e, CoreError::MissingData { .. }), "{e}");
}

fn shape_mismatch_names_site_shapes_and_fixes<B: AutodiffBackend>(dev: &B::Device) {
    // R3: observe a [10, 3] tensor at a site whose distribution has batch [10].
    let model = |ctx: &mut Ctx<B>| {
        ctx.sample("obs", Normal::new(ctx.zeros([10]), 1.0));
    };
    let data = Data::new().with("obs", t2::<B>(&[0.0; 30], 10, 3, dev));
    let e = trace(&model, &data, 0, dev).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, CoreError::ShapeMismatch { .. }));
    for part in ["`obs`", "[10]", "[10, 3]", "Try one of the following fixes"] {
        assert!(msg.contains(part), "message lacks {part}: {msg}");
    }
    // Parameters whose plate dimension is neither 1 nor the plate size.
    let model = |ctx: &mut Ctx<B>| {
        ctx.plate(&ppl_core::FixedPlate::new("p", 4), |ctx| {
            ctx.sample("z", Normal::new(ctx.zeros([3, 2]), 1.0));
        });
    };
    let e = trace(&model, &Data::new(), 0, dev).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("`z`") && msg.contains("[3, 2]") && msg.contains("[4, 2]") && msg.contains("plate `p`"),
        "{msg}"
    );
}

fn duplicate_sites_are_errors<B: AutodiffBackend>(dev: &B::Device) {
    // R4
    let model = |ctx: &mut Ctx<B>| {
        ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
        ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
    };
    let e = trace(&model, &Data::new(), 0, dev).unwrap_err();
    assert_eq!(e, CoreError::DuplicateSite("z".into()));
    assert!(e.to_string().contains("`z`"));
    let model = |ctx: &mut Ctx<B>| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1]), 1.0));
        ctx.deterministic("z", z);
    };
    assert_eq!(
        trace(&model, &Data::new(), 0, dev).unwrap_err(),
        CoreError::DuplicateSite("z".into())
    );
}

fn invalid_plates_are_errors<B: AutodiffBackend>(dev: &B::Device) {
    // R7
    for (size, sub) in [(5, 6), (0, 0), (5, 0)] {
        let model = move |ctx: &mut Ctx<B>| ctx.plate(&ppl_core::SubsampledPlate::new("p", size, sub), |_| ());
        let e = trace(&model, &Data::new(), 0, dev).unwrap_err();
        assert!(
            matches!(&e, CoreError::InvalidPlate { plate, .. } if plate == "p"),
            "{e}"
        );
        assert!(e.to_string().contains(&size.to_string()) && e.to_string().contains(&sub.to_string()));
    }
}

fn invalid_parameters_inside_a_model_name_the_site<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let s = ctx.full([2], -1.0);
        ctx.sample("noise", Normal::new(ctx.zeros([2]), s));
    };
    let e = trace(&model, &Data::new(), 0, dev).unwrap_err();
    match &e {
        CoreError::Distribution { site, source } => match source.as_ref() {
            DistError::InvalidParameter { dist, param, .. } => {
                assert_eq!((site.as_str(), *dist, *param), ("noise", "Normal", "scale"));
            }
            other => panic!("expected InvalidParameter, got {other:?}"),
        },
        other => panic!("expected a Distribution error, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("`noise`") && msg.contains("Normal") && msg.contains("scale"),
        "{msg}"
    );
}

fn panics_inside_a_model_become_errors<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        ctx.sample("a", Normal::new(ctx.zeros([1]), 1.0));
        let v: Vec<usize> = Vec::new();
        let _ = v[3]; // a bug in user code
    };
    let e = run(&model, Ctx::new(Data::new(), RngKey::new(0), dev)).unwrap_err();
    assert!(
        matches!(&e, CoreError::ModelPanicked { site: Some(s), .. } if s == "a"),
        "{e}"
    );
    let _ = <B as Backend>::name(dev);
}
