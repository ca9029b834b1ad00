//! A picture of a model (InferPy's `plot_graph`, NumPyro's `render_model`): its sites,
//! plates and dependencies as a [`ModelGraph`], written as Graphviz DOT or drawn as SVG.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::tensor::Tensor;
//! use ppl_core::{Ctx, Data};
//! use ppl_dist::Normal;
//! use ppl_infer::render::{render_model, NodeKind};
//!
//! type B = Autodiff<NdArray<f64>>;
//! let dev = Default::default();
//! let model = |ctx: &mut Ctx<B>| {
//!     let mu = ctx.sample("mu", Normal::new(ctx.zeros([1]), 1.0));
//!     ctx.datamodel(|ctx| { ctx.sample("x", Normal::new(mu, 1.0)); });
//! };
//! let data = Data::new().with("x", Tensor::<B, 1>::from_floats([0.5, 1.5, 1.0], &dev));
//! let graph = render_model(&model, &data, &dev).unwrap();
//! assert_eq!(graph.node("x").unwrap().kind, NodeKind::Observed);
//! assert_eq!(graph.parents("x"), ["mu"]);
//! assert!(graph.to_dot().contains("label=\"data (3)\""));
//! ```

mod graph;
mod svg;

pub use svg::SvgEngine;

pub use graph::{GraphNode, ModelGraph, NodeKind};

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use burn::tensor::backend::AutodiffBackend;
use ppl_core::handlers::{Handler, Message, Substitute};
use ppl_core::{run, Ctx, Data, Model, Site, SiteKind, Trace, Value};
use ppl_dist::RngKey;

use crate::InferError;

/// Find the structure of `model` run on `data` (sites, plates with their sizes, and which
/// sites feed which).
///
/// How the edges are found: the model runs once to draw every latent; then once more with
/// every site's value replaced by a copy that tracks gradients, and a site `a` feeds site
/// `b` when `b`'s log-density (or, for deterministic and factor sites, its value) has a
/// gradient with respect to `a`'s value — one run and one backward pass per site. Discrete latents are
/// used as indices, which carry no gradient, so each one is also redrawn (three times) with
/// every other latent held fixed, and the sites whose log-density changes depend on it.
/// Only paths through values are seen: networks are part of the edge, not nodes.
///
/// The plate sizes are those of `data` (the `datamodel` plate has as many rows as `data`).
///
/// # Errors
/// [`InferError::Core`] when the model fails on `data`.
pub fn render_model<B: AutodiffBackend, M: Model<B> + ?Sized>(
    model: &M,
    data: &Data<B>,
    device: &B::Device,
) -> Result<ModelGraph, InferError> {
    let key = RngKey::new(0).fold_in("render");
    let first = run(model, Ctx::new(data.clone(), key.clone(), device))?.trace;

    // The probe: every site's value a gradient-tracking leaf; one run and one backward
    // pass per site (burn frees a graph once it has been back-propagated).
    let mut edges = BTreeSet::new();
    for site in first.sites().iter().filter(|s| s.kind != SiteKind::Param) {
        let leaves: HashMap<String, Value<B>> = first
            .sites()
            .iter()
            .filter(|s| s.kind != SiteKind::Factor)
            .map(|s| (s.name.clone(), leaf(&s.value)))
            .collect();
        let computed = Arc::new(Mutex::new(None));
        let probe = Leaves {
            leaves: leaves.clone(),
            watch: site.name.clone(),
            computed: computed.clone(),
        };
        let traced = run(model, Ctx::new(data.clone(), key.clone(), device).with_handler(probe))?.trace;
        let Some(probed) = traced.site(&site.name) else {
            continue;
        };
        let output = match probed.kind {
            SiteKind::Sample => probed.log_prob.as_ref().map(Value::sum),
            SiteKind::Deterministic => computed.lock().expect("not poisoned").take().map(|v: Value<B>| v.sum()),
            _ => Some(probed.value.sum()),
        };
        let Some(output) = output else { continue };
        let grads = output.backward();
        for (name, value) in &leaves {
            if name != &site.name && has_grad(value, &grads) {
                edges.insert((name.clone(), site.name.clone()));
            }
        }
    }
    // Discrete latents: redraw each and see which log-densities move.
    for (i, site) in first.sites().iter().enumerate() {
        let Some(dist) = site
            .dist
            .as_ref()
            .filter(|d| site.is_latent() && d.support().is_discrete())
        else {
            continue;
        };
        for attempt in 0..3u64 {
            let mut draw_key = key.fold_in("redraw").fold_in_u64(i as u64).fold_in_u64(attempt);
            let redrawn = dist.sample(&site.value.dims(), &mut draw_key);
            let mut values = Data::new();
            for s in first.latent_sites() {
                values.insert(
                    &s.name,
                    if s.name == site.name {
                        redrawn.clone()
                    } else {
                        s.value.clone()
                    },
                );
            }
            let again = run(
                model,
                Ctx::new(data.clone(), key.clone(), device).with_handler(Substitute::new(values)),
            )?;
            for other in first.sites().iter().filter(|o| o.name != site.name) {
                if moved(other, &again.trace) {
                    edges.insert((site.name.clone(), other.name.clone()));
                }
            }
        }
    }
    Ok(ModelGraph {
        nodes: first.sites().iter().map(node).collect(),
        edges: edges.into_iter().collect(),
    })
}

/// Whether `site`'s log-density (value, for sites without one) differs in `trace`.
fn moved<B: AutodiffBackend>(site: &Site<B>, trace: &Trace<B>) -> bool {
    let Some(other) = trace.site(&site.name) else {
        return true;
    };
    let (a, b) = match (&site.log_prob, &other.log_prob) {
        (Some(a), Some(b)) => (a, b),
        _ => (&site.value, &other.value),
    };
    a.to_vec() != b.to_vec()
}

fn node<B: AutodiffBackend>(s: &Site<B>) -> GraphNode {
    GraphNode {
        name: s.name.clone(),
        kind: match s.kind {
            SiteKind::Sample if s.observed => NodeKind::Observed,
            SiteKind::Sample => NodeKind::Latent,
            SiteKind::Deterministic => NodeKind::Deterministic,
            SiteKind::Param => NodeKind::Param,
            SiteKind::Factor => NodeKind::Factor,
        },
        distribution: s.dist.as_ref().map(|d| d.name()),
        plates: s.plates.iter().map(|p| (p.name.clone(), p.size)).collect(),
    }
}

/// A gradient-tracking copy of `v`, cut from whatever computed it.
fn leaf<B: AutodiffBackend>(v: &Value<B>) -> Value<B> {
    match v.detach() {
        Value::R1(t) => Value::R1(t.require_grad()),
        Value::R2(t) => Value::R2(t.require_grad()),
        Value::R3(t) => Value::R3(t.require_grad()),
        Value::R4(t) => Value::R4(t.require_grad()),
    }
}

fn has_grad<B: AutodiffBackend>(v: &Value<B>, grads: &B::Gradients) -> bool {
    match v {
        Value::R1(t) => t.grad(grads).is_some(),
        Value::R2(t) => t.grad(grads).is_some(),
        Value::R3(t) => t.grad(grads).is_some(),
        Value::R4(t) => t.grad(grads).is_some(),
    }
}

/// The probe's handler: every site takes its leaf as value; the watched site's own computed
/// value, if it is deterministic, is kept aside first (its inputs are found from it).
#[derive(Debug)]
struct Leaves<B: AutodiffBackend> {
    leaves: HashMap<String, Value<B>>,
    watch: String,
    computed: Arc<Mutex<Option<Value<B>>>>,
}

impl<B: AutodiffBackend> Handler<B> for Leaves<B> {
    fn process(&mut self, msg: &mut Message<B>) {
        if msg.kind == SiteKind::Factor {
            return;
        }
        if msg.kind == SiteKind::Deterministic && msg.name == self.watch {
            *self.computed.lock().expect("not poisoned") = msg.value.clone();
        }
        if let Some(v) = self.leaves.get(&msg.name) {
            msg.value = Some(v.clone());
        }
    }
}
