//! Each example's picture of its model: `model.dot` (Graphviz) and `model.svg`.

use std::path::Path;

use burn::tensor::backend::AutodiffBackend;
use ppl_core::{Data, Model, DATA_PLATE};
use ppl_infer::render::{render_model, ModelGraph};

/// Rows of the data the model is run on to find its graph (the `datamodel` plate is then
/// labelled with the full number of rows).
const RENDER_ROWS: usize = 64;

/// Find `model`'s graph on `data` (its first 64 rows when it has more, the plate labelled
/// with them all) and write it as `dir/{stem}.dot` and `dir/{stem}.svg` (Graphviz when
/// installed, else `layout-rs`).
///
/// # Errors
/// The model fails on the data, or a file cannot be written (messages name the file).
pub fn write<B: AutodiffBackend, M: Model<B> + ?Sized>(
    model: &M,
    data: &Data<B>,
    device: &B::Device,
    dir: &Path,
    stem: &str,
) -> Result<ModelGraph, String> {
    let rows = data.rows().map_err(|e| e.to_string())?;
    let graph = match rows {
        Some(n) if n > RENDER_ROWS => {
            render_model(model, &data.narrow_rows(0, RENDER_ROWS), device).map(|g| g.with_plate_size(DATA_PLATE, n))
        }
        _ => render_model(model, data, device),
    }
    .map_err(|e| format!("{stem}.dot: {e}"))?;
    let save = |name: String, text: &str| std::fs::write(dir.join(&name), text).map_err(|e| format!("{name}: {e}"));
    save(format!("{stem}.dot"), &graph.to_dot())?;
    let (svg, _) = graph.to_svg().map_err(|e| format!("{stem}.svg: {e}"))?;
    save(format!("{stem}.svg"), &svg)?;
    Ok(graph)
}
