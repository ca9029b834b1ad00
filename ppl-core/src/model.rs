//! The `Model` trait and the functions that run models.

use burn::tensor::backend::Backend;
use ppl_dist::RngKey;

use crate::ctx::Abort;
use crate::quiet_panic::catch_quietly;
use crate::{CoreError, Ctx, Data, ParamStore, Trace, Value};

/// A probabilistic model (a P-model; a Q-model is written the same way): one method that
/// runs the model against a context. Networks are ordinary burn modules held by the model.
pub trait Model<B: Backend> {
    /// Run the model: declare its sites on `ctx`.
    fn model(&self, ctx: &mut Ctx<B>);

    /// A line a user should read before this program is fitted (autoguides list the
    /// latents they fit, so that a misspelt observed site is not fitted silently); `None`
    /// for hand-written programs.
    fn notice(&self) -> Option<String> {
        None
    }
}

/// Closures are models too: `run(&|ctx: &mut Ctx<B>| { … }, ctx)`.
impl<B: Backend, F: Fn(&mut Ctx<B>)> Model<B> for F {
    fn model(&self, ctx: &mut Ctx<B>) {
        self(ctx)
    }
}

/// The outcome of a run: its trace and the (possibly grown) parameter store.
#[derive(Debug)]
pub struct RunResult<B: Backend> {
    /// Every recorded site.
    pub trace: Trace<B>,
    /// The parameter store after the run (new `param` sites added).
    pub params: ParamStore<B>,
}

/// Run `model` against `ctx` and return its trace (the `trace` handler).
///
/// # Errors
/// The first error recorded by the context ([`CoreError`]), or
/// [`CoreError::ModelPanicked`] naming the program, the last site and the bound data if the
/// model body panicked (e.g. burn's shape error inside a network). The panic is not printed:
/// its message (and where it was raised) is kept in the error.
pub fn run<B: Backend, M: Model<B> + ?Sized>(model: &M, ctx: Ctx<B>) -> Result<RunResult<B>, CoreError> {
    let mut ctx = ctx;
    let dense = ctx.scorer().map(|s| s.dense);
    let outcome = catch_quietly(|| ppl_dist::kernels::with_dense_kernel(dense, || model.model(&mut ctx)));
    let (trace, params, error, context) = ctx.into_parts();
    match outcome {
        Ok(()) => Ok(RunResult { trace, params }),
        Err((payload, _)) if payload.is::<Abort>() => Err(error.expect("an abort records its error")),
        Err((payload, location)) => {
            let mut message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic payload".into());
            if let Some(at) = location {
                message = format!("{} (raised at {at})", message.trim_end());
            }
            Err(CoreError::ModelPanicked {
                program: context.program,
                site: context.last_site,
                data: context.data,
                message,
            })
        }
    }
}

/// Run `model` with `data` bound, drawing from `seed`, and return its trace.
///
/// # Errors
/// As [`run`].
pub fn trace<B: Backend, M: Model<B> + ?Sized>(
    model: &M,
    data: &Data<B>,
    seed: u64,
    device: &B::Device,
) -> Result<Trace<B>, CoreError> {
    Ok(run(model, Ctx::new(data.clone(), RngKey::new(seed), device))?.trace)
}

/// Prior predictive: run the model forward (with optional `data` clamped) for `instances`
/// instances of its `datamodel`, and return the values of the `targets` sites.
///
/// # Errors
/// As [`run`], and [`CoreError::MissingData`] naming a target the model does not have.
pub fn prior<B: Backend, M: Model<B> + ?Sized>(
    model: &M,
    targets: &[&str],
    data: &Data<B>,
    instances: usize,
    key: RngKey,
    device: &B::Device,
) -> Result<Data<B>, CoreError> {
    let ctx = Ctx::new(data.clone(), key, device).with_instances(instances);
    let trace = run(model, ctx)?.trace;
    let mut out = Data::new();
    for t in targets {
        let site = trace.site(t).ok_or_else(|| CoreError::MissingData {
            site: t.to_string(),
            hint: format!(
                "the model has no site `{t}`; its sites are {:?}",
                trace.sites().iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
            ),
        })?;
        let v: Value<B> = site.value.clone();
        out.insert(t, v);
    }
    Ok(out)
}
