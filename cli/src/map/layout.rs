//! Where everything on the map goes, and how the paths out run between it.
//!
//! The page is a grid: columns (one per availability zone) with a lane between each two and at each
//! side, and rows with a channel between each two. Boxes sit in rows, each in a column or spanning
//! several (a route table over the subnets it holds, a function over its subnets); lanes and channels
//! hold nothing but paths. Top to bottom: the internet, the gateways, and each VPC — its header, the
//! public route tables, the public subnets (their NATs inside), the private route tables, the private
//! subnets, the functions, and what the VPC holds besides (endpoints, groups, ACLs); what is outside
//! a VPC last.
//!
//! A path out is drawn link by link, from one hop's box to the next (never through a box): along the
//! lanes and channels, found by a shortest-path search over that grid, with a slot of its own (one
//! per function and family) so paths that share a corridor run side by side without crossing labels.
//! Hand-placed on this grid rather than by a general graph-layout crate: the AZ columns are what a
//! reader looks for (the console's resource map has them), and a general layout would not keep them.

use std::collections::{BinaryHeap, HashMap};

/// A box's width, the room around text inside it, and text widths (conservative: what a browser's
/// system-ui and monospace fonts take at most per character at these sizes).
pub const BOX_W: f64 = 300.0;
pub const TEXT_PAD: f64 = 10.0;
pub const NAME_CH: f64 = 8.2;
pub const LINE_CH: f64 = 6.9;
pub const MONO_CH: f64 = 6.9;
/// The room one path takes in a lane or channel.
pub const SLOT: f64 = 5.0;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// `text` cut to fit `width` at `per_char` (an ellipsis says it was cut; the full text stays in the
/// element's title).
pub fn fit(text: &str, width: f64, per_char: f64) -> String {
    let max = (width / per_char).floor().max(1.0) as usize;
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// One box placed in the grid: its row and the columns it spans.
#[derive(Clone, Debug)]
pub struct Cell {
    pub row: usize,
    pub c0: usize,
    pub c1: usize,
    pub h: f64,
}

/// Rows, columns, lanes and channels, once every box is placed.
pub struct Grid {
    pub cols: usize,
    pub slots: usize,
    pub rows: Vec<(f64, f64)>,
    /// Per row, the lanes a box spans over (a path cannot pass there).
    blocked: Vec<Vec<bool>>,
    left: f64,
}

impl Grid {
    pub fn lane_w(slots: usize) -> f64 {
        10.0 + SLOT * slots as f64
    }

    /// Lays rows out top to bottom from `top`: each as tall as its tallest box.
    pub fn new(cols: usize, slots: usize, cells: &[Cell], left: f64, top: f64) -> Grid {
        let nrows = cells.iter().map(|c| c.row + 1).max().unwrap_or(0);
        let mut heights = vec![0.0f64; nrows];
        let mut blocked = vec![vec![false; cols + 1]; nrows];
        for c in cells {
            heights[c.row] = heights[c.row].max(c.h);
            for lane in &mut blocked[c.row][(c.c0 + 1)..=c.c1] {
                *lane = true;
            }
        }
        let ch = Grid::lane_w(slots);
        let mut rows = vec![];
        let mut y = top + ch;
        for h in heights {
            rows.push((y, h));
            y += h + ch;
        }
        Grid {
            cols,
            slots,
            rows,
            blocked,
            left,
        }
    }

    /// The x where column `c` begins.
    pub fn col_x(&self, c: usize) -> f64 {
        self.left + Grid::lane_w(self.slots) + c as f64 * (BOX_W + Grid::lane_w(self.slots))
    }

    /// The rect of a box in its cell (its row's top, its own height).
    pub fn rect(&self, cell: &Cell) -> Rect {
        let x = self.col_x(cell.c0);
        Rect {
            x,
            y: self.rows[cell.row].0,
            w: self.col_x(cell.c1) + BOX_W - x,
            h: cell.h,
        }
    }

    /// Where the last lane ends.
    pub fn width(&self) -> f64 {
        self.col_x(self.cols - 1) + BOX_W + Grid::lane_w(self.slots)
    }

    pub fn bottom(&self) -> f64 {
        self.rows
            .last()
            .map(|(y, h)| y + h + Grid::lane_w(self.slots))
            .unwrap_or(0.0)
    }

    /// Where slot `s` runs in lane `j` (the lane left of column `j`).
    fn lane_x(&self, j: usize, s: usize) -> f64 {
        self.col_x(j) - Grid::lane_w(self.slots) + 5.0 + SLOT * s as f64
    }

    /// Where slot `s` runs in channel `k` (above row `k`; `k == rows` is below the last).
    fn channel_y(&self, k: usize, s: usize) -> f64 {
        let top = match k.checked_sub(1) {
            None => self.rows.first().map(|r| r.0).unwrap_or(0.0) - Grid::lane_w(self.slots),
            Some(prev) => self.rows[prev].0 + self.rows[prev].1,
        };
        top + 5.0 + SLOT * s as f64
    }
}

/// A box as the router sees it: its cell and rect, and for a box nested in another (a NAT in its
/// subnet) the outer box whose edge a path crosses to reach it.
#[derive(Clone, Debug)]
pub struct Target {
    pub cell: Cell,
    pub rect: Rect,
    pub outer: Option<Rect>,
}

/// A way onto a box: the grid point (lane, channel) it starts from and the points from there to the
/// box's edge.
struct Port {
    node: (usize, usize),
    tail: Vec<(f64, f64)>,
}

fn ports(g: &Grid, t: &Target, s: usize) -> Vec<Port> {
    let r = t.rect;
    let row = t.cell.row;
    let mut out = vec![];
    // The sides: a stub from the lane beside the box to its edge, at this slot's height.
    let y = r.y + 6.0 + SLOT * s as f64;
    for (lane, edge) in [(t.cell.c0, r.x), (t.cell.c1 + 1, r.right())] {
        let x = g.lane_x(lane, s);
        for k in [row, row + 1] {
            out.push(Port {
                node: (lane, k),
                tail: vec![(x, g.channel_y(k, s)), (x, y), (edge, y)],
            });
        }
    }
    // The top and bottom of a box that spans lanes (not of a nested one).
    if t.outer.is_none() {
        for lane in (t.cell.c0 + 1)..=t.cell.c1 {
            let x = g.lane_x(lane, s);
            out.push(Port {
                node: (lane, row),
                tail: vec![(x, g.channel_y(row, s)), (x, r.y)],
            });
            out.push(Port {
                node: (lane, row + 1),
                tail: vec![(x, g.channel_y(row + 1, s)), (x, r.bottom())],
            });
        }
    }
    out
}

#[derive(PartialEq)]
struct Visit(f64, (usize, usize));
impl Eq for Visit {}
impl Ord for Visit {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}
impl PartialOrd for Visit {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// The link from box `a` to box `b` for slot `s`: a polyline from `a`'s edge to `b`'s, along lanes
/// and channels only. `None` when the grid has no way (it always has one: channels are free).
pub fn route(g: &Grid, a: &Target, b: &Target, s: usize) -> Option<Vec<(f64, f64)>> {
    let starts = ports(g, a, s);
    let ends = ports(g, b, s);
    let nrows = g.rows.len();
    let len = |p: &[(f64, f64)]| {
        p.windows(2)
            .map(|w| (w[0].0 - w[1].0).abs() + (w[0].1 - w[1].1).abs())
            .sum::<f64>()
    };
    // Shortest distances over (lane, channel) from every start at once: per grid point, its
    // distance, the point it was reached from, and the start it goes back to.
    type Reached = (f64, Option<(usize, usize)>, usize);
    let mut dist: HashMap<(usize, usize), Reached> = HashMap::new();
    let mut heap = BinaryHeap::new();
    for (i, p) in starts.iter().enumerate() {
        let d = len(&p.tail);
        if dist.get(&p.node).is_none_or(|(old, ..)| d < *old) {
            dist.insert(p.node, (d, None, i));
            heap.push(Visit(d, p.node));
        }
    }
    let step_x = BOX_W + Grid::lane_w(g.slots);
    // A bend costs as much as a short run: straighter paths read better.
    while let Some(Visit(d, (j, k))) = heap.pop() {
        if dist.get(&(j, k)).is_some_and(|(best, ..)| d > *best) {
            continue;
        }
        let mut next = vec![];
        if j > 0 {
            next.push(((j - 1, k), step_x));
        }
        if j < g.cols {
            next.push(((j + 1, k), step_x));
        }
        if k > 0 && !g.blocked[k - 1][j] {
            let h = g.rows[k - 1].1 + Grid::lane_w(g.slots);
            next.push(((j, k - 1), h));
        }
        if k < nrows && !g.blocked[k][j] {
            let h = g.rows[k].1 + Grid::lane_w(g.slots);
            next.push(((j, k + 1), h));
        }
        let origin = dist[&(j, k)].2;
        for (n, cost) in next {
            let nd = d + cost + 20.0;
            if dist.get(&n).is_none_or(|(old, ..)| nd < *old) {
                dist.insert(n, (nd, Some((j, k)), origin));
                heap.push(Visit(nd, n));
            }
        }
    }
    let (end, _) = ends
        .iter()
        .filter_map(|p| dist.get(&p.node).map(|(d, ..)| (p, d + len(&p.tail))))
        .min_by(|x, y| x.1.total_cmp(&y.1))?;
    // Walk back from the end's grid point to the start it came from.
    let mut nodes = vec![end.node];
    let mut at = end.node;
    while let Some((_, Some(prev), _)) = dist.get(&at) {
        nodes.push(*prev);
        at = *prev;
    }
    nodes.reverse();
    let start = &starts[dist[&nodes[0]].2];
    let mut points: Vec<(f64, f64)> = start.tail.iter().rev().copied().collect();
    for (j, k) in &nodes {
        points.push((g.lane_x(*j, s), g.channel_y(*k, s)));
    }
    points.extend(end.tail.iter().copied());
    Some(simplify(points))
}

/// Points with repeats and straight-through corners taken out.
fn simplify(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = vec![];
    for p in points {
        if out.last() == Some(&p) {
            continue;
        }
        if out.len() >= 2 {
            let a = out[out.len() - 2];
            let b = out[out.len() - 1];
            let straight = (a.0 == b.0 && b.0 == p.0) || (a.1 == b.1 && b.1 == p.1);
            if straight {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

/// Rows handed out in order; within one kind of row, spans that overlap go on rows of their own.
#[derive(Default)]
pub struct Rows {
    next: usize,
}

impl Rows {
    /// Places spans `(c0, c1)` on as few new rows as needed (first fit), returning each one's row.
    pub fn pack(&mut self, spans: &[(usize, usize)]) -> Vec<usize> {
        let mut rows: Vec<Vec<(usize, usize)>> = vec![];
        let mut out = vec![];
        for &(c0, c1) in spans {
            let free = rows
                .iter()
                .position(|used| used.iter().all(|&(a, b)| c1 < a || c0 > b));
            let i = match free {
                Some(i) => i,
                None => {
                    rows.push(vec![]);
                    rows.len() - 1
                }
            };
            rows[i].push((c0, c1));
            out.push(self.next + i);
        }
        self.next += rows.len();
        out
    }

    /// A row of its own.
    pub fn one(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }

    pub fn count(&self) -> usize {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_to_its_box() {
        assert_eq!(fit("short", 100.0, 7.0), "short");
        let cut = fit("nat-0123456789abcdef0 · public IP 203.0.113.10", 150.0, 7.0);
        assert_eq!(cut.chars().count(), 21);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn rows_pack_spans_that_do_not_overlap() {
        let mut r = Rows::default();
        assert_eq!(r.pack(&[(0, 0), (1, 1), (0, 1)]), vec![0, 0, 1]);
        assert_eq!(r.one(), 2);
    }

    #[test]
    fn a_link_runs_in_lanes_and_channels_and_never_through_a_box() {
        // Two columns; row 0: one box over both; row 1: a box in each column.
        let cells = vec![
            Cell {
                row: 0,
                c0: 0,
                c1: 1,
                h: 60.0,
            },
            Cell {
                row: 1,
                c0: 0,
                c1: 0,
                h: 60.0,
            },
            Cell {
                row: 1,
                c0: 1,
                c1: 1,
                h: 60.0,
            },
        ];
        let g = Grid::new(2, 2, &cells, 0.0, 0.0);
        let t = |c: &Cell| Target {
            cell: c.clone(),
            rect: g.rect(c),
            outer: None,
        };
        let (top, a, b) = (t(&cells[0]), t(&cells[1]), t(&cells[2]));
        for (from, s) in [(&a, 0), (&b, 1)] {
            let p = route(&g, from, &top, s).expect("a way");
            for w in p.windows(2) {
                assert!(w[0].0 == w[1].0 || w[0].1 == w[1].1, "orthogonal: {p:?}");
                for other in [&a, &b, &top] {
                    let r = other.rect;
                    let inside = |x: f64, y: f64| {
                        x > r.x + 0.5
                            && x < r.right() - 0.5
                            && y > r.y + 0.5
                            && y < r.bottom() - 0.5
                    };
                    let mid = ((w[0].0 + w[1].0) / 2.0, (w[0].1 + w[1].1) / 2.0);
                    assert!(!inside(mid.0, mid.1), "{p:?} runs through {r:?}");
                }
            }
            let end = *p.last().unwrap();
            assert!(
                (end.1 - top.rect.bottom()).abs() < 0.01
                    || end.0 == top.rect.x
                    || end.0 == top.rect.right(),
                "ends on the box's edge: {p:?}"
            );
        }
    }
}
