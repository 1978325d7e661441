//! Lays out a dependency graph with the `layout-rs` crate (Sugiyama-style ranks, edge-crossing
//! reduction) and keeps only the coordinates: a box per node and a Bézier path per edge, in
//! whole pixels, for the page's script to draw when the asset is opened.

use crate::history::report::{AssetStatus, DependencyGraph};
use layout::core::base::Orientation;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;
use serde::Serialize;

/// Longest label drawn in a node, in characters; the full name is the node's tooltip.
pub const LABEL_CHARS: usize = 28;
const CHAR_PX: f64 = 7.0;
const NODE_HEIGHT: f64 = 36.0;
const MARGIN: f64 = 8.0;

/// Where the layout put everything, relative to the top-left corner of the drawing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LaidOut {
    pub w: i32,
    pub h: i32,
    /// Every node's height: they are all one size but for their widths.
    #[serde(rename = "nh")]
    pub node_height: i32,
    /// `[x, y, width]` of each node, in the order of [`DependencyGraph::nodes`].
    #[serde(rename = "b")]
    pub boxes: Vec<[i32; 3]>,
    /// Each edge as `[x0, y0, cx0, cy0, x1, y1, cx1, cy1, ...]`: a cubic Bézier start then
    /// smooth segments (SVG `M x0 y0 C cx0 cy0, x1 y1, cx1 cy1 S ...`).
    #[serde(rename = "p")]
    pub paths: Vec<Vec<i32>>,
}

/// The label a node shows: its name, else its id, cut to [`LABEL_CHARS`].
pub fn label(name: Option<&str>, key: &str) -> String {
    let text = name.unwrap_or_else(|| key.split_once('/').map_or(key, |(_, id)| id));
    if text.chars().count() <= LABEL_CHARS {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(LABEL_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

fn variant_len(status: &AssetStatus) -> usize {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::len))
        .unwrap_or(8)
}

/// The layout of `graph`, or `None` when it has no nodes or the layout engine gave up on it
/// (the page then lists the nodes instead of drawing them).
pub fn lay_out(graph: &DependencyGraph) -> Option<LaidOut> {
    if graph.nodes.is_empty() {
        return None;
    }
    // The layout crate asserts on what it considers impossible; one odd graph must not cost
    // the whole report, so a panic there only costs this drawing.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(graph)))
        .ok()
        .flatten()
}

fn run(graph: &DependencyGraph) -> Option<LaidOut> {
    let mut vg = VisualGraph::new(Orientation::TopToBottom);
    let handles: Vec<_> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let text = label(node.name.as_deref(), &node.key);
            // The first line of a node is its type, and its status unless stored.
            let mut first_line = node.asset_type.chars().count();
            if node.status != AssetStatus::Stored {
                first_line += 3 + variant_len(&node.status);
            }
            let width = (text.chars().count().max(first_line) as f64) * CHAR_PX + 20.0;
            let shape = ShapeKind::new_box(&text);
            let elem = Element::create_with_properties(
                shape,
                StyleAttr::simple(),
                Orientation::TopToBottom,
                Point::new(width, NODE_HEIGHT),
                i.to_string(),
            );
            vg.add_node(elem)
        })
        .collect();
    for &(from, to) in &graph.edges {
        if from == to {
            continue;
        }
        let (Some(a), Some(b)) = (handles.get(from), handles.get(to)) else {
            continue;
        };
        vg.add_edge(Arrow::simple(""), *a, *b);
    }
    let mut canvas = Recorder {
        boxes: vec![None; graph.nodes.len()],
        paths: Vec::new(),
    };
    vg.do_it(false, false, false, &mut canvas);
    canvas.finish()
}

/// A render backend that writes nothing: it records where boxes and arrows went.
struct Recorder {
    boxes: Vec<Option<[f64; 4]>>,
    paths: Vec<Vec<f64>>,
}

impl Recorder {
    fn finish(self) -> Option<LaidOut> {
        let boxes: Vec<[f64; 4]> = self.boxes.into_iter().collect::<Option<_>>()?;
        let mut min = (f64::INFINITY, f64::INFINITY);
        let mut max = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut grow = |x: f64, y: f64| {
            min = (min.0.min(x), min.1.min(y));
            max = (max.0.max(x), max.1.max(y));
        };
        for b in &boxes {
            grow(b[0], b[1]);
            grow(b[0] + b[2], b[1] + b[3]);
        }
        for p in &self.paths {
            for xy in p.chunks(2) {
                grow(xy[0], xy[1]);
            }
        }
        if !min.0.is_finite() || !max.0.is_finite() {
            return None;
        }
        let dx = MARGIN - min.0;
        let dy = MARGIN - min.1;
        let px = |v: f64| v.round() as i32;
        Some(LaidOut {
            w: px(max.0 - min.0 + 2.0 * MARGIN),
            h: px(max.1 - min.1 + 2.0 * MARGIN),
            // Every box is made NODE_HEIGHT tall; the tallest drawn is the one to keep if the
            // layout ever pads them.
            node_height: boxes.iter().map(|b| px(b[3])).max().unwrap_or(px(NODE_HEIGHT)),
            boxes: boxes.iter().map(|b| [px(b[0] + dx), px(b[1] + dy), px(b[2])]).collect(),
            paths: self
                .paths
                .iter()
                .map(|p| p.chunks(2).flat_map(|xy| [px(xy[0] + dx), px(xy[1] + dy)]).collect())
                .collect(),
        })
    }
}

impl RenderBackend for Recorder {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        _look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        let index = properties.and_then(|p| p.parse::<usize>().ok());
        if let Some(slot) = index.and_then(|i| self.boxes.get_mut(i)) {
            *slot = Some([xy.x, xy.y, size.x, size.y]);
        }
    }

    fn draw_line(&mut self, _start: Point, _stop: Point, _look: &StyleAttr, _properties: Option<String>) {}

    fn draw_circle(&mut self, _xy: Point, _size: Point, _look: &StyleAttr, _properties: Option<String>) {}

    fn draw_text(&mut self, _xy: Point, _text: &str, _look: &StyleAttr) {}

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        _dashed: bool,
        _head: (bool, bool),
        _look: &StyleAttr,
        _properties: Option<String>,
        _text: &str,
    ) {
        // Fewer than two points is no curve to draw.
        if path.len() >= 2 {
            self.paths
                .push(path.iter().flat_map(|(p, c)| [p.x, p.y, c.x, c.y]).collect());
        }
    }

    fn create_clip(&mut self, _xy: Point, _size: Point, _rounded_px: usize) -> ClipHandle {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::report::GraphNode;

    fn node(key: &str, name: Option<&str>) -> GraphNode {
        GraphNode {
            key: key.into(),
            asset_type: key.split('/').next().unwrap_or_default().into(),
            name: name.map(str::to_string),
            status: AssetStatus::Stored,
        }
    }

    #[test]
    fn every_node_gets_a_box_and_every_edge_a_path_inside_the_drawing() {
        let graph = DependencyGraph {
            nodes: vec![
                node("dashboard/d1", Some("Sales")),
                node("dataset/s1", Some("Orders")),
                node("dataset/s2", None),
                node("datasource/x", Some("Warehouse")),
            ],
            edges: vec![(0, 1), (0, 2), (1, 3), (2, 3)],
        };
        let laid = lay_out(&graph).expect("laid out");
        assert_eq!(laid.boxes.len(), 4);
        assert_eq!(laid.paths.len(), 4);
        for b in &laid.boxes {
            assert!(
                b[0] >= 0 && b[1] >= 0 && b[0] + b[2] <= laid.w && b[1] + laid.node_height <= laid.h,
                "{b:?} in {}x{}",
                laid.w,
                laid.h
            );
        }
        // Top to bottom: the dashboard above its datasets, those above the data source.
        assert!(laid.boxes[0][1] < laid.boxes[1][1] && laid.boxes[1][1] < laid.boxes[3][1]);
    }

    #[test]
    fn a_lone_node_and_bad_edges_still_lay_out() {
        let graph = DependencyGraph {
            nodes: vec![node("analysis/a", Some("A"))],
            edges: vec![(0, 0), (0, 7)],
        };
        let laid = lay_out(&graph).expect("laid out");
        assert_eq!(laid.boxes.len(), 1);
        assert!(laid.paths.is_empty());
        assert!(lay_out(&DependencyGraph {
            nodes: vec![],
            edges: vec![]
        })
        .is_none());
    }

    #[test]
    fn labels_fall_back_to_the_id_and_are_cut() {
        assert_eq!(label(None, "dataset/abc"), "abc");
        assert_eq!(
            label(Some("x".repeat(40).as_str()), "dataset/abc").chars().count(),
            LABEL_CHARS
        );
    }
}
