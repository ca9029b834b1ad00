//! Drawing a [`ModelGraph`] as SVG: with Graphviz's `dot` when it is installed, with the
//! pure-Rust `layout-rs` otherwise.

use std::io::Write;
use std::process::{Command, Stdio};

use super::ModelGraph;
use crate::InferError;

/// Which engine drew an SVG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvgEngine {
    /// Graphviz `dot` (plates drawn as boxes around their sites).
    Graphviz,
    /// `layout-rs` (no clusters: each site's label lists its plates).
    LayoutRs,
}

impl ModelGraph {
    /// The graph as SVG, and the engine that drew it: Graphviz's `dot -Tsvg` on
    /// [`ModelGraph::to_dot`] when a `dot` program is on the `PATH`, else the pure-Rust
    /// `layout-rs`, which draws no clusters, so each site's label names its plates
    /// (`x ~ Normal in data (100)`).
    ///
    /// # Errors
    /// [`InferError::Config`] when `dot` runs and fails, or `layout-rs` cannot read the
    /// graph.
    pub fn to_svg(&self) -> Result<(String, SvgEngine), InferError> {
        if let Some(svg) = graphviz(&self.to_dot())? {
            return Ok((svg, SvgEngine::Graphviz));
        }
        self.to_svg_without_graphviz().map(|svg| (svg, SvgEngine::LayoutRs))
    }

    /// The graph as SVG drawn by `layout-rs`, whether or not Graphviz is installed.
    ///
    /// # Errors
    /// [`InferError::Config`] when `layout-rs` cannot read the graph.
    pub fn to_svg_without_graphviz(&self) -> Result<String, InferError> {
        let dot = self.to_flat_dot();
        let mut parser = layout::gv::DotParser::new(&dot);
        let ast = parser
            .process()
            .map_err(|e| InferError::Config(format!("drawing the model graph: {e}")))?;
        let mut builder = layout::gv::GraphBuilder::new();
        builder.visit_graph(&ast);
        let mut graph = builder.get();
        let mut svg = layout::backends::svg::SVGWriter::new();
        graph.do_it(false, false, false, &mut svg);
        Ok(svg.finalize())
    }
}

/// `dot -Tsvg` on `dot`; `None` when there is no `dot` to run.
fn graphviz(dot: &str) -> Result<Option<String>, InferError> {
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return Ok(None);
    };
    let failed = |e: String| InferError::Config(format!("Graphviz `dot -Tsvg`: {e}"));
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(dot.as_bytes())
        .map_err(|e| failed(e.to_string()))?;
    let out = child.wait_with_output().map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        return Err(failed(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    String::from_utf8(out.stdout)
        .map(Some)
        .map_err(|e| failed(e.to_string()))
}
