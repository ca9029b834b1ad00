//! The graph of a model: its sites, the plates they sit in, and which sites feed which.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a node of a [`ModelGraph`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A latent sample site (drawn as an ellipse).
    Latent,
    /// An observed sample site (a shaded ellipse).
    Observed,
    /// A deterministic site (a box).
    Deterministic,
    /// A `param` site (plain text).
    Param,
    /// A `factor` site (a diamond).
    Factor,
}

/// A site of a [`ModelGraph`].
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// The site's name.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
    /// The distribution's name (sample sites).
    pub distribution: Option<&'static str>,
    /// The plates it sits in, outermost first: name and full size.
    pub plates: Vec<(String, usize)>,
}

/// A model's structure, found by [`crate::render::render_model`]: its sites as nodes, in the
/// order the model declares them, and an edge `a → b` where the value of site `a` feeds the
/// distribution (or the value) of site `b`. [`ModelGraph::to_dot`] writes it as Graphviz
/// DOT, [`ModelGraph::to_svg`] draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelGraph {
    /// The sites.
    pub nodes: Vec<GraphNode>,
    /// `(from, to)` site names, sorted.
    pub edges: Vec<(String, String)>,
}

impl ModelGraph {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The sites whose values feed site `name`, sorted.
    pub fn parents(&self, name: &str) -> Vec<&str> {
        self.edges
            .iter()
            .filter(|e| e.1 == name)
            .map(|e| e.0.as_str())
            .collect()
    }

    /// The graph with plate `plate`'s size set to `size` on every node: for a graph rendered
    /// on the first rows of a large data set, to show the data set's size.
    pub fn with_plate_size(mut self, plate: &str, size: usize) -> Self {
        for p in self.nodes.iter_mut().flat_map(|n| n.plates.iter_mut()) {
            if p.0 == plate {
                p.1 = size;
            }
        }
        self
    }

    /// Every plate, outermost first where nested: name and full size.
    pub fn plates(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for p in self.nodes.iter().flat_map(|n| &n.plates) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    /// Graphviz DOT: sites as nodes (latent: ellipse; observed: shaded ellipse;
    /// deterministic: box; param: plain text; factor: diamond), labelled with the
    /// distribution; plates as clusters labelled with their name and size, nested as the
    /// model nests them; an edge where a site's value feeds another site.
    ///
    /// `dot -Tsvg model.dot > model.svg` draws it with Graphviz; [`ModelGraph::to_svg`]
    /// needs no Graphviz.
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph model {\n  graph [fontname=\"Helvetica\"];\n  node [fontname=\"Helvetica\"];\n");
        let mut cluster = 0;
        let members: Vec<&GraphNode> = self.nodes.iter().collect();
        write_level(&mut out, &members, 0, 1, &mut cluster);
        for (a, b) in &self.edges {
            let _ = writeln!(out, "  {} -> {};", quoted(a), quoted(b));
        }
        out.push_str("}\n");
        out
    }

    /// DOT without clusters, each node's plates written into its label instead
    /// (`x ~ Normal in data (100)`): for layout engines that do not draw clusters.
    pub(crate) fn to_flat_dot(&self) -> String {
        let mut out = String::from("digraph model {\n");
        for n in &self.nodes {
            let plates: Vec<String> = n.plates.iter().map(|(p, s)| format!("{p} ({s})")).collect();
            let mut label = node_label(n, " ");
            if !plates.is_empty() {
                label = format!("{label} in {}", plates.join(", "));
            }
            let _ = writeln!(out, "  {} [{}];", quoted(&n.name), node_style(n.kind, &label));
        }
        for (a, b) in &self.edges {
            let _ = writeln!(out, "  {} -> {};", quoted(a), quoted(b));
        }
        out.push_str("}\n");
        out
    }
}

/// Write `nodes` (all sharing their first `depth` plates) at indentation `indent`: those
/// with no further plate as nodes, the rest grouped by their next plate into clusters.
fn write_level(out: &mut String, nodes: &[&GraphNode], depth: usize, indent: usize, cluster: &mut usize) {
    let pad = "  ".repeat(indent);
    let mut groups: BTreeMap<usize, (&(String, usize), Vec<&GraphNode>)> = BTreeMap::new();
    let mut order: Vec<&(String, usize)> = Vec::new();
    for &n in nodes {
        match n.plates.get(depth) {
            None => {
                let _ = writeln!(
                    out,
                    "{pad}{} [{}];",
                    quoted(&n.name),
                    node_style(n.kind, &node_label(n, "\\n"))
                );
            }
            Some(p) => {
                let i = order.iter().position(|q| *q == p).unwrap_or_else(|| {
                    order.push(p);
                    order.len() - 1
                });
                groups.entry(i).or_insert((p, Vec::new())).1.push(n);
            }
        }
    }
    for (_, ((name, size), members)) in groups {
        let _ = writeln!(out, "{pad}subgraph cluster_{cluster} {{");
        *cluster += 1;
        let _ = writeln!(
            out,
            "{pad}  label={}; labeljust=r; labelloc=b; style=rounded;",
            quoted(&format!("{name} ({size})"))
        );
        write_level(out, &members, depth + 1, indent + 1, cluster);
        let _ = writeln!(out, "{pad}}}");
    }
}

/// `name ~ Distribution` (the separator between them is `sep`) for sample sites, the name
/// otherwise.
fn node_label(n: &GraphNode, sep: &str) -> String {
    match n.distribution {
        Some(d) => format!("{}{sep}~ {d}", n.name),
        None => n.name.clone(),
    }
}

fn node_style(kind: NodeKind, label: &str) -> String {
    let shape = match kind {
        NodeKind::Latent => "shape=ellipse",
        NodeKind::Observed => "shape=ellipse, style=filled, fillcolor=lightgray",
        NodeKind::Deterministic => "shape=box",
        NodeKind::Param => "shape=plain",
        NodeKind::Factor => "shape=diamond",
    };
    format!("label={}, {shape}", quoted(label))
}

/// A DOT string literal (quotes escaped; the `\n` line breaks this module writes are kept).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, kind: NodeKind, plates: &[(&str, usize)]) -> GraphNode {
        GraphNode {
            name: name.into(),
            kind,
            distribution: matches!(kind, NodeKind::Latent | NodeKind::Observed).then_some("Normal"),
            plates: plates.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
        }
    }

    #[test]
    fn nested_plates_become_nested_clusters_and_kinds_their_shapes() {
        let g = ModelGraph {
            nodes: vec![
                node("mu", NodeKind::Latent, &[]),
                node("theta", NodeKind::Latent, &[("groups", 8)]),
                node("y", NodeKind::Observed, &[("groups", 8), ("obs", 20)]),
                node("m", NodeKind::Deterministic, &[("groups", 8)]),
            ],
            edges: vec![("mu".into(), "theta".into()), ("theta".into(), "y".into())],
        };
        let dot = g.to_dot();
        let groups = dot.find("label=\"groups (8)\"").expect("groups cluster");
        let obs = dot.find("label=\"obs (20)\"").expect("obs cluster");
        assert!(groups < obs && dot.matches("subgraph cluster_").count() == 2, "{dot}");
        assert!(
            dot.contains("\"y\" [label=\"y\\n~ Normal\", shape=ellipse, style=filled"),
            "{dot}"
        );
        assert!(dot.contains("\"m\" [label=\"m\", shape=box]"), "{dot}");
        assert!(
            dot.contains("\"mu\" -> \"theta\";") && dot.contains("\"theta\" -> \"y\";"),
            "{dot}"
        );
        assert_eq!(g.parents("y"), ["theta"]);
        assert_eq!(g.plates(), [("groups".to_string(), 8), ("obs".to_string(), 20)]);
        let flat = g.to_flat_dot();
        assert!(
            flat.contains("y ~ Normal in groups (8), obs (20)") && !flat.contains("subgraph"),
            "{flat}"
        );
    }
}
