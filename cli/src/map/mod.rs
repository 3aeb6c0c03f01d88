//! `netplan map`: one self-contained HTML file (inline SVG and CSS, no script, nothing fetched) laid out
//! like the console's VPC resource map — the VPC; subnets in columns by AZ, public above private; the
//! NAT gateways and instances in their subnets; route tables with their routes; the gateways and the
//! internet on top; each function under the subnets it sits in — with `check`'s verdicts drawn on it:
//! each function's path out, green when it reaches the internet, red and dashed when blocked, the
//! blocking component outlined with the reason and the fix (tooltip and legend), and the monthly cost
//! of each priced component. Every element carries its netplan address and AWS id as text (`<title>`,
//! `aria-label`, `data-address`), so the map can be searched and read by screen readers.
//!
//! Layout is computed here (`layout.rs`: a grid of AZ columns with lanes between them, paths routed
//! along lanes and channels, text cut to fit its box): the browser only draws.

mod layout;

use layout::{fit, Cell, Grid, Rect, Rows, Target, BOX_W, LINE_CH, MONO_CH, NAME_CH, TEXT_PAD};
use netplan_engine::config::Config;
use netplan_engine::diag::Severity;
use netplan_engine::reach::Verdict;
use netplan_engine::resource::Resource;
use netplan_engine::value::Value;
use netplan_engine::{Kind, ResourceAddr};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Where an object stands against the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not created yet: apply would make it.
    Planned,
    /// Exists as configured.
    Exists,
    /// Exists; apply would change it (the reason).
    Changes(String),
    /// Changed outside netplan (what changed).
    Drift(String),
    /// Found in the account, not in the config.
    Discovered,
    /// `existing = "id"`: used, never changed.
    Used,
}

impl Status {
    fn class(&self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Exists => "exists",
            Status::Changes(_) => "changes",
            Status::Drift(_) => "drift",
            Status::Discovered => "discovered",
            Status::Used => "used",
        }
    }

    fn text(&self) -> String {
        match self {
            Status::Planned => "planned: apply creates it".into(),
            Status::Exists => "exists".into(),
            Status::Changes(why) => format!("apply changes it: {why}"),
            Status::Drift(what) => format!("drift: {what}"),
            Status::Discovered => "found in the account, not in the config".into(),
            Status::Used => "existing: used, never changed".into(),
        }
    }
}

/// What the map shows.
pub struct Input<'a> {
    pub title: String,
    /// The model: the config (what apply builds) or, with `--live`, the account laid over it.
    pub config: &'a Config,
    /// The AWS id and public address of each object, when known.
    pub ids: BTreeMap<ResourceAddr, String>,
    pub public_ips: BTreeMap<ResourceAddr, String>,
    pub status: BTreeMap<ResourceAddr, Status>,
    pub verdicts: &'a [Verdict],
    /// USD a month per priced component.
    pub cost: BTreeMap<ResourceAddr, f64>,
    pub live: bool,
}

const GAP: f64 = 16.0;

/// One drawn component.
struct Node {
    addr: ResourceAddr,
    rect: Rect,
    /// Lines under the name (CIDRs, routes, …).
    lines: Vec<String>,
    /// Its place in the grid (none for a box nested in another: a NAT in its subnet).
    cell: Option<Cell>,
    /// The box it is drawn in, for a nested one.
    outer: Option<Rect>,
}

/// Text in the grid that is not a component: a VPC's name, the AZs' names.
struct Label {
    rect: Rect,
    lines: Vec<String>,
}

struct Layout {
    nodes: Vec<Node>,
    /// VPC frames: (rect, label, address).
    frames: Vec<(Rect, String, Option<ResourceAddr>)>,
    labels: Vec<Label>,
    internet: Target,
    grid: Grid,
    width: f64,
    height: f64,
}

impl Layout {
    fn node(&self, a: &ResourceAddr) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.addr == a)
    }

    /// What the router needs of a component's box.
    fn target(&self, a: &ResourceAddr) -> Option<Target> {
        let n = self.node(a)?;
        let cell = match (&n.cell, &n.outer) {
            (Some(c), _) => c.clone(),
            // A nested box routes from the cell of the box it is in.
            (None, Some(o)) => self
                .nodes
                .iter()
                .find(|m| m.rect == *o)
                .and_then(|m| m.cell.clone())?,
            (None, None) => return None,
        };
        Some(Target {
            cell,
            rect: n.rect,
            outer: n.outer,
        })
    }
}

fn routes_text(r: &Resource) -> Vec<String> {
    r.attrs
        .get("routes")
        .map(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| match v {
            Value::Map(m) => {
                let dest = m.get("destination")?.as_str()?.to_string();
                let target = match m.get("target")? {
                    Value::Ref(r) => r.addr.to_string(),
                    Value::Str(s) => s.clone(),
                    other => other.to_string(),
                };
                Some(format!("{dest} → {target}"))
            }
            _ => None,
        })
        .collect()
}

/// A component waiting for its place: its address, lines, span and height.
struct Pending<'c> {
    r: &'c Resource,
    lines: Vec<String>,
    span: (usize, usize),
    row: usize,
    h: f64,
}

/// A box to place: the component, its lines, the columns it spans, its height.
type Item<'c> = (&'c Resource, Vec<String>, (usize, usize), f64);

/// A band's boxes packed into as few rows as their spans allow.
fn band<'c>(items: Vec<Item<'c>>, rows: &mut Rows, pending: &mut Vec<Pending<'c>>) {
    let spans: Vec<(usize, usize)> = items.iter().map(|i| i.2).collect();
    let at = rows.pack(&spans);
    for ((r, lines, span, h), row) in items.into_iter().zip(at) {
        pending.push(Pending {
            r,
            lines,
            span,
            row,
            h,
        });
    }
}

fn height(lines: usize, slots: usize) -> f64 {
    (42.0 + 16.0 * lines as f64).max(12.0 + layout::SLOT * slots as f64)
}

fn lay_out(input: &Input) -> Layout {
    let c = input.config;
    let asking = input.verdicts.iter().filter(|v| v.internet).count();
    let slots = (2 * asking).clamp(2, 16);
    let vpcs: Vec<&Resource> = c.of_kind(Kind::Vpc).collect();
    let gateways: Vec<&Resource> = c
        .of_kind(Kind::InternetGateway)
        .chain(c.of_kind(Kind::EgressOnlyInternetGateway))
        .collect();
    let azs_of = |vpc: &ResourceAddr| -> Vec<String> {
        let set: BTreeSet<String> = c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == Some(vpc))
            .map(|s| s.str_attr("az").unwrap_or("?").to_string())
            .collect();
        set.into_iter().collect()
    };
    let cols = vpcs
        .iter()
        .map(|v| azs_of(&v.addr).len())
        .chain([2, gateways.len().min(4)])
        .max()
        .unwrap_or(2);
    let mut rows = Rows::default();
    let mut pending: Vec<Pending> = vec![];
    let mut placed: BTreeSet<ResourceAddr> = BTreeSet::new();
    let internet_row = rows.one();
    band(
        gateways
            .iter()
            .enumerate()
            .map(|(i, g)| (*g, vec![], (i % cols, i % cols), height(0, slots)))
            .collect(),
        &mut rows,
        &mut pending,
    );
    let table_of: BTreeMap<&ResourceAddr, &ResourceAddr> = c
        .of_kind(Kind::RouteTable)
        .flat_map(|t| t.ref_list("subnets").into_iter().map(move |s| (s, &t.addr)))
        .collect();
    // Per VPC: its header row, then its bands, each packed into as few rows as its spans allow.
    let mut headers: Vec<(usize, &Resource, Vec<String>)> = vec![];
    let mut vpc_rows: Vec<(usize, usize)> = vec![];
    let mut nats_of: BTreeMap<ResourceAddr, Vec<&Resource>> = BTreeMap::new();
    for vpc in &vpcs {
        let azs = azs_of(&vpc.addr);
        let column = |s: &Resource| {
            azs.iter()
                .position(|a| Some(a.as_str()) == s.str_attr("az"))
                .unwrap_or(0)
        };
        let subnets: Vec<&Resource> = c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == Some(&vpc.addr))
            .collect();
        let col_of: BTreeMap<&ResourceAddr, usize> =
            subnets.iter().map(|s| (&s.addr, column(s))).collect();
        let span_of = |members: Vec<&ResourceAddr>| -> (usize, usize) {
            let cs: Vec<usize> = members
                .iter()
                .filter_map(|m| col_of.get(m).copied())
                .collect();
            (
                cs.iter().copied().min().unwrap_or(0),
                cs.iter().copied().max().unwrap_or(0),
            )
        };
        let header = rows.one();
        headers.push((header, vpc, azs.clone()));
        let first = header;
        let public = |s: &&Resource| netplan_engine::reach::is_public(c, &s.addr);
        let tables: Vec<&Resource> = c
            .of_kind(Kind::RouteTable)
            .filter(|t| t.ref_attr("vpc") == Some(&vpc.addr))
            .collect();
        let is_public_table = |t: &Resource| {
            t.ref_list("subnets")
                .iter()
                .any(|s| netplan_engine::reach::is_public(c, s))
        };
        let table_item = |t: &'_ Resource| {
            let mut l = routes_text(t);
            if l.is_empty() {
                l.push("local routes only".into());
            }
            let h = height(l.len(), slots);
            (l, span_of(t.ref_list("subnets")), h)
        };
        let public_tables: Vec<Item> = tables
            .iter()
            .filter(|t| is_public_table(t))
            .map(|t| {
                let (l, sp, h) = table_item(t);
                (*t, l, sp, h)
            })
            .collect();
        // Public route tables, then public subnets (their NATs inside).
        let subnet_item = |s: &Resource, nats: usize| {
            let mut lines = vec![format!(
                "{} · {}",
                if netplan_engine::reach::is_public(c, &s.addr) {
                    "public"
                } else {
                    "private"
                },
                s.str_attr("cidr").unwrap_or("")
            )];
            if let Some(v6) = s
                .str_attr("ipv6_cidr_block")
                .or_else(|| s.attrs.get("ipv6_index").map(|_| "IPv6 /64"))
            {
                lines.push(v6.to_string());
            }
            if let Some(t) = table_of.get(&s.addr) {
                lines.push(format!("route table: {t}"));
            }
            let h = height(lines.len(), slots) + 90.0 * nats as f64;
            (lines, h)
        };
        let mut pub_items = vec![];
        let mut priv_items = vec![];
        for s in &subnets {
            let nats: Vec<&Resource> = c
                .resources
                .values()
                .filter(|r| {
                    matches!(r.addr.kind, Kind::NatGateway | Kind::NatInstance)
                        && r.ref_attr("subnet") == Some(&s.addr)
                })
                .collect();
            let (lines, h) = subnet_item(s, nats.len());
            let col = column(s);
            if !nats.is_empty() {
                nats_of.insert(s.addr.clone(), nats);
            }
            if public(s) {
                pub_items.push((*s, lines, (col, col), h));
            } else {
                priv_items.push((*s, lines, (col, col), h));
            }
        }
        band(public_tables, &mut rows, &mut pending);
        band(pub_items, &mut rows, &mut pending);
        let private_tables: Vec<Item> = tables
            .iter()
            .filter(|t| !is_public_table(t))
            .map(|t| {
                let (l, sp, h) = table_item(t);
                (*t, l, sp, h)
            })
            .collect();
        band(private_tables, &mut rows, &mut pending);
        band(priv_items, &mut rows, &mut pending);
        // Functions under the subnets they sit in.
        let functions: Vec<Item> = c
            .of_kind(Kind::LambdaFunction)
            .filter(|f| f.ref_list("subnets").iter().any(|s| col_of.contains_key(s)))
            .map(|f| {
                let subnets: Vec<String> = f
                    .ref_list("subnets")
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                let lines = vec![
                    f.str_attr("runtime").unwrap_or("").to_string(),
                    format!("in {}", subnets.join(", ")),
                ];
                let h = height(lines.len(), slots);
                (f, lines, span_of(f.ref_list("subnets")), h)
            })
            .collect();
        band(functions, &mut rows, &mut pending);
        // What else the VPC holds.
        let mut misc = vec![];
        for kind in [Kind::VpcEndpoint, Kind::SecurityGroup, Kind::NetworkAcl] {
            for r in c
                .of_kind(kind)
                .filter(|r| r.ref_attr("vpc") == Some(&vpc.addr))
            {
                let lines = match kind {
                    Kind::VpcEndpoint => vec![format!(
                        "{} ({})",
                        r.str_attr("service").unwrap_or(""),
                        r.str_attr("type").unwrap_or("gateway")
                    )],
                    Kind::SecurityGroup => vec![r.str_attr("description").unwrap_or("").into()],
                    _ => vec![],
                };
                let i = misc.len();
                let h = height(lines.len(), slots);
                misc.push((r, lines, (i % cols, i % cols), h));
            }
        }
        band(misc, &mut rows, &mut pending);
        vpc_rows.push((first, rows.count() - 1));
        placed.insert(vpc.addr.clone());
    }
    for p in &pending {
        placed.insert(p.r.addr.clone());
    }
    for nats in nats_of.values() {
        for n in nats {
            placed.insert(n.addr.clone());
            if let Some(e) = n.ref_attr("elastic_ip") {
                placed.insert(e.clone());
            }
        }
    }
    // Everything else (roles, addresses not on a NAT, functions outside a VPC, …) below.
    let rest: Vec<Item> = c
        .resources
        .values()
        .filter(|r| {
            !placed.contains(&r.addr) && !matches!(r.addr.kind, Kind::Network | Kind::Function)
        })
        .enumerate()
        .map(|(i, r)| (r, vec![], (i % cols, i % cols), height(0, slots)))
        .collect();
    let outside_row = (!rest.is_empty()).then(|| rows.one());
    band(rest, &mut rows, &mut pending);
    // The grid: the internet over every column, headers, then the boxes.
    let mut cells: Vec<Cell> = pending
        .iter()
        .map(|p| Cell {
            row: p.row,
            c0: p.span.0,
            c1: p.span.1,
            h: p.h,
        })
        .collect();
    let internet_cell = Cell {
        row: internet_row,
        c0: 0,
        c1: cols - 1,
        h: 56.0,
    };
    cells.push(internet_cell.clone());
    for (row, ..) in &headers {
        cells.push(Cell {
            row: *row,
            c0: 0,
            c1: 0,
            h: 40.0,
        });
    }
    if let Some(row) = outside_row {
        cells.push(Cell {
            row,
            c0: 0,
            c1: 0,
            h: 22.0,
        });
    }
    let grid = Grid::new(cols, slots, &cells, GAP, GAP);
    let mut nodes = vec![];
    for p in &pending {
        let cell = Cell {
            row: p.row,
            c0: p.span.0,
            c1: p.span.1,
            h: p.h,
        };
        let rect = grid.rect(&cell);
        // Drawn before what is inside it.
        nodes.push(Node {
            addr: p.r.addr.clone(),
            rect,
            lines: p.lines.clone(),
            cell: Some(cell),
            outer: None,
        });
        // A subnet's NATs inside it, under its lines; an NAT's Elastic IP inside the NAT.
        if let Some(nats) = nats_of.get(&p.r.addr) {
            let head = height(p.lines.len(), slots);
            for (k, n) in nats.iter().enumerate() {
                let mut lines = vec![];
                if let Some(t) = n.str_attr("instance_type") {
                    lines.push(format!("instance {t}"));
                }
                let nat = Rect {
                    x: rect.x + 10.0,
                    y: rect.y + head + 90.0 * k as f64,
                    w: rect.w - 20.0,
                    h: 82.0,
                };
                nodes.push(Node {
                    addr: n.addr.clone(),
                    rect: nat,
                    lines,
                    cell: None,
                    outer: Some(rect),
                });
                if let Some(eip) = n.ref_attr("elastic_ip") {
                    nodes.push(Node {
                        addr: eip.clone(),
                        rect: Rect {
                            x: nat.x + 10.0,
                            y: nat.bottom() - 28.0,
                            w: nat.w - 20.0,
                            h: 22.0,
                        },
                        lines: vec![],
                        cell: None,
                        outer: Some(nat),
                    });
                }
            }
        }
    }
    let mut labels = vec![];
    let mut frames = vec![];
    let lane = Grid::lane_w(slots);
    for ((row, vpc, azs), (first, last)) in headers.iter().zip(&vpc_rows) {
        let mut label = format!("{} · {}", vpc.addr, vpc.str_attr("cidr").unwrap_or(""));
        if vpc.bool_attr("ipv6") || vpc.str_attr("ipv6_cidr_block").is_some() {
            label.push_str(&format!(
                " · {}",
                vpc.str_attr("ipv6_cidr_block").unwrap_or("IPv6 /56")
            ));
        }
        for (i, az) in azs.iter().enumerate() {
            let cell = Cell {
                row: *row,
                c0: i,
                c1: i,
                h: 40.0,
            };
            // The VPC's name over its first AZ (its full text is the frame's title).
            let lines = vec![
                if i == 0 { label.clone() } else { String::new() },
                format!("Availability zone {az}"),
            ];
            labels.push(Label {
                rect: grid.rect(&cell),
                lines,
            });
        }
        let top = grid.rows[*first].0 - lane + 2.0;
        let bottom = grid.rows[*last].0 + grid.rows[*last].1 + lane - 2.0;
        frames.push((
            Rect {
                x: grid.col_x(0) - lane + 2.0,
                y: top,
                w: grid.col_x(cols - 1) + BOX_W + 2.0 * lane - 4.0 - grid.col_x(0),
                h: bottom - top,
            },
            label,
            Some(vpc.addr.clone()),
        ));
    }
    if let Some(row) = outside_row {
        labels.push(Label {
            rect: grid.rect(&Cell {
                row,
                c0: 0,
                c1: 0,
                h: 22.0,
            }),
            lines: vec!["Outside the VPC".into()],
        });
    }
    let internet = Target {
        rect: grid.rect(&internet_cell),
        cell: internet_cell,
        outer: None,
    };
    let width = grid.width() + lane + GAP;
    let height = grid.bottom() + GAP;
    Layout {
        nodes,
        frames,
        labels,
        internet,
        grid,
        width,
        height,
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A component's problems, one per cause: (severity, the functions it concerns, message, fix).
type Problems = BTreeMap<ResourceAddr, Vec<(Severity, String, String, Option<String>)>>;

fn problems(verdicts: &[Verdict]) -> Problems {
    let mut out: Problems = BTreeMap::new();
    let found = verdicts
        .iter()
        .filter(|v| v.internet)
        .flat_map(|v| v.findings.iter().cloned())
        .filter(|f| f.level >= Severity::Warning);
    for c in netplan_engine::reach::causes(found) {
        let functions: Vec<String> = c.functions.iter().map(|f| f.to_string()).collect();
        out.entry(c.component.clone()).or_default().push((
            c.level,
            functions.join(", "),
            c.message,
            netplan_engine::fix::hint(&c.fixes),
        ));
    }
    out
}

/// The addresses a hop's text names, in order (`nat_gateway.a in subnet.p` → both).
fn hop_addresses(hops: &[String]) -> Vec<ResourceAddr> {
    let mut out: Vec<ResourceAddr> = vec![];
    for hop in hops {
        for word in hop.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',') {
            if let Ok(a) = word.parse::<ResourceAddr>() {
                if out.last() != Some(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// The HTML file.
pub fn render(input: &Input) -> String {
    let layout = lay_out(input);
    let problems = problems(input.verdicts);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="map-title">"#,
        w = layout.width,
        h = layout.height
    );
    let _ = writeln!(
        svg,
        r#"<title id="map-title">{}</title>"#,
        esc(&input.title)
    );
    svg.push_str(r##"<defs><marker id="arrow-ok" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1a7f37"/></marker><marker id="arrow-blocked" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#cf222e"/></marker></defs>"##);
    svg.push('\n');
    // The internet.
    let i = layout.internet.rect;
    let _ = writeln!(
        svg,
        r#"<g class="internet" data-address="internet" aria-label="the internet"><title>the internet</title><rect x="{}" y="{}" width="{}" height="{}" rx="28"/><text x="{}" y="{}" class="name">Internet</text></g>"#,
        i.x,
        i.y,
        i.w,
        i.h,
        i.x + 24.0,
        i.y + 34.0
    );
    for (r, label, addr) in &layout.frames {
        let id = addr.as_ref().and_then(|a| input.ids.get(a));
        let status = addr
            .as_ref()
            .and_then(|a| input.status.get(a))
            .cloned()
            .unwrap_or(Status::Planned);
        let full = format!(
            "{label}{} — {}",
            id.map(|i| format!(" · {i}")).unwrap_or_default(),
            status.text()
        );
        let _ = writeln!(
            svg,
            r#"<g class="frame {cls}" data-address="{a}" data-id="{id}" aria-label="{full}"><title>{full}</title><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10"/></g>"#,
            cls = status.class(),
            a = esc(&addr.as_ref().map(|a| a.to_string()).unwrap_or_default()),
            id = esc(id.map(String::as_str).unwrap_or("")),
            full = esc(&full),
            x = r.x,
            y = r.y,
            w = r.w,
            h = r.h,
        );
    }
    // Names of VPCs and AZs, each in its cell (an unseen box the text stays within).
    for l in &layout.labels {
        let r = l.rect;
        let _ = write!(
            svg,
            r#"<g class="label"><rect class="labelbox" x="{}" y="{}" width="{}" height="{}"/>"#,
            r.x, r.y, r.w, r.h
        );
        for (k, line) in l.lines.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" class="{}">{}</text>"#,
                r.x + 4.0,
                r.y + 15.0 + 18.0 * k as f64,
                if k == 0 { "name" } else { "label" },
                esc(&fit(
                    line,
                    r.w - 8.0,
                    if k == 0 { NAME_CH } else { LINE_CH }
                ))
            );
        }
        svg.push_str("</g>\n");
    }
    for n in &layout.nodes {
        let status = input
            .status
            .get(&n.addr)
            .cloned()
            .unwrap_or(Status::Planned);
        let id = input.ids.get(&n.addr);
        let ip = input.public_ips.get(&n.addr);
        let cost = input.cost.get(&n.addr);
        let mine = problems.get(&n.addr);
        let worst = mine.and_then(|p| p.iter().map(|(s, ..)| *s).max());
        let mut title = format!(
            "{}{} — {}",
            n.addr,
            id.map(|i| format!(" ({i})")).unwrap_or_default(),
            status.text()
        );
        for l in &n.lines {
            let _ = write!(title, "\n{l}");
        }
        if let Some(ip) = ip {
            let _ = write!(title, "\npublic IP {ip}");
        }
        if let Some(c) = cost {
            let _ = write!(title, "\n{}/month", netplan_engine::pricing::money(*c));
        }
        for (sev, f, message, fix) in mine.into_iter().flatten() {
            let _ = write!(
                title,
                "\n{} for {f}: {message}",
                if *sev == Severity::Error {
                    "BLOCKS"
                } else {
                    "warning"
                }
            );
            if let Some(fix) = fix {
                let _ = write!(title, "\nfix:\n{fix}");
            }
        }
        let class = format!(
            "node {} {}{}",
            n.addr.kind.as_str(),
            status.class(),
            match worst {
                Some(Severity::Error) => " blocked",
                Some(Severity::Warning) => " weak",
                _ => "",
            }
        );
        let r = n.rect;
        let small = r.h < 30.0;
        let _ = write!(
            svg,
            r#"<g class="{class}" data-address="{a}" data-id="{id}" aria-label="{t}"><title>{t}</title><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>"#,
            a = esc(&n.addr.to_string()),
            id = esc(id.map(String::as_str).unwrap_or("")),
            t = esc(&title),
            x = r.x,
            y = r.y,
            w = r.w,
            h = r.h
        );
        let room = r.w - 2.0 * TEXT_PAD;
        if small {
            let text = match ip {
                Some(ip) => format!("{} · {ip}", n.addr),
                None => n.addr.to_string(),
            };
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" class="small">{}</text>"#,
                r.x + 6.0,
                r.y + 15.0,
                esc(&fit(&text, r.w - 12.0, MONO_CH))
            );
        } else {
            let mark = match worst {
                Some(Severity::Error) => "BLOCKS · ",
                Some(Severity::Warning) => "warning · ",
                _ => "",
            };
            let cost_text = cost.map(|c| format!("{}/mo", netplan_engine::pricing::money(*c)));
            let cost_w = cost_text
                .as_ref()
                .map(|t| t.chars().count() as f64 * LINE_CH + 8.0)
                .unwrap_or(0.0);
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" class="name">{}</text>"#,
                r.x + TEXT_PAD,
                r.y + 19.0,
                esc(&fit(&format!("{mark}{}", n.addr), room - cost_w, NAME_CH))
            );
            if let Some(t) = &cost_text {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" class="cost" text-anchor="end">{}</text>"#,
                    r.x + r.w - TEXT_PAD,
                    r.y + 19.0,
                    esc(t)
                );
            }
            // The id and the public address each on a line of their own: neither runs past the box.
            let mut lines: Vec<(String, &str)> = vec![];
            match (id, &status) {
                (Some(i), _) => lines.push((i.clone(), "id")),
                (None, Status::Planned) => lines.push(("(known after apply)".into(), "id")),
                _ => {}
            }
            if let Some(ip) = ip {
                lines.push((format!("public IP {ip}"), "id"));
            }
            lines.extend(
                n.lines
                    .iter()
                    .filter(|l| !l.is_empty())
                    .map(|l| (l.clone(), "line")),
            );
            // A box with boxes inside it (a subnet with NATs) keeps its text above them.
            let limit = layout
                .nodes
                .iter()
                .filter(|m| m.outer == Some(r))
                .map(|m| m.rect.y)
                .fold(r.bottom(), f64::min);
            let mut ly = r.y + 19.0;
            for (text, class) in lines {
                ly += 16.0;
                if ly > limit - 4.0 {
                    break;
                }
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{ly}" class="{class}">{}</text>"#,
                    r.x + TEXT_PAD,
                    esc(&fit(
                        &text,
                        room,
                        if class == "id" { MONO_CH } else { LINE_CH }
                    ))
                );
            }
        }
        svg.push_str("</g>\n");
    }
    // The paths out, over everything: each link from one hop's box to the next, along the lanes
    // and channels, a slot per function and family; one dash per function, green when the path
    // reaches the internet, red when it is blocked.
    let asking: Vec<&Verdict> = input.verdicts.iter().filter(|v| v.internet).collect();
    let mut drawn: BTreeSet<(String, String, usize)> = BTreeSet::new();
    for (fi, v) in asking.iter().enumerate() {
        for p in &v.paths {
            let v6 = p.family.contains('6');
            let slot = (fi * 2 + usize::from(v6)).min(layout.grid.slots - 1);
            // The stops: the function, its subnet, then each hop the path names (a NAT's own
            // subnet is where the NAT is drawn, not a stop), then the internet.
            let mut stops: Vec<ResourceAddr> = vec![v.function.clone(), p.subnet.clone()];
            let mut inside: BTreeMap<ResourceAddr, ResourceAddr> = BTreeMap::new();
            let hops = hop_addresses(&p.hops);
            for (k, a) in hops.iter().enumerate() {
                if a.kind == Kind::Vpc || stops.contains(a) {
                    continue;
                }
                if a.kind == Kind::Subnet {
                    if let Some(prev) = hops.get(k.wrapping_sub(1)) {
                        inside.insert(prev.clone(), a.clone());
                    }
                    continue;
                }
                if layout.node(a).is_some() {
                    stops.push(a.clone());
                }
            }
            let internet = ResourceAddr::new(Kind::Network, "internet");
            if p.reaches {
                stops.push(internet.clone());
            }
            let target = |a: &ResourceAddr| {
                if a == &internet {
                    Some(layout.internet.clone())
                } else {
                    layout.target(a)
                }
            };
            let (class, verdict) = if p.reaches {
                ("path reaches", "reaches the internet")
            } else {
                ("path blocked", "blocked")
            };
            let label = format!(
                "{} {} from {}: {verdict} — {}",
                v.function,
                p.family,
                p.subnet,
                p.hops.join(" → ")
            );
            for pair in stops.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let (Some(ta), Some(tb)) = (target(a), target(b)) else {
                    continue;
                };
                if !drawn.insert((a.to_string(), b.to_string(), slot)) {
                    continue;
                }
                let Some(points) = layout::route(&layout.grid, &ta, &tb, slot) else {
                    continue;
                };
                let name = |x: &ResourceAddr| {
                    if x == &internet {
                        "internet".to_string()
                    } else {
                        x.to_string()
                    }
                };
                // What the link may touch: its two boxes and the boxes they are drawn in.
                let mut related = vec![name(a), name(b)];
                for x in [a, b] {
                    if let Some(o) = inside.get(x) {
                        related.push(o.to_string());
                    }
                }
                let pts: Vec<String> = points
                    .iter()
                    .map(|(x, y)| format!("{x:.1},{y:.1}"))
                    .collect();
                let _ = writeln!(
                    svg,
                    r#"<polyline class="{class}{fam} f{dash}" data-function="{f}" data-family="{family}" data-subnet="{s}" data-hops="{hops}" points="{pts}" marker-end="url(#arrow-{m})" aria-label="{l}"><title>{l}</title></polyline>"#,
                    fam = if v6 { " v6" } else { "" },
                    dash = fi % DASHES,
                    f = esc(&v.function.to_string()),
                    family = esc(p.family),
                    s = esc(&p.subnet.to_string()),
                    hops = esc(&related.join(" ")),
                    pts = pts.join(" "),
                    m = if p.reaches { "ok" } else { "blocked" },
                    l = esc(&label)
                );
            }
        }
    }
    svg.push_str("</svg>\n");

    // The page: heading, verdict summary, the map, the legend.
    let mut html = String::new();
    let blocked = asking.iter().filter(|v| v.blocked()).count();
    let total: f64 = input.cost.values().sum();
    let _ = write!(
        html,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{t}</title>
<style>{CSS}</style></head>
<body>
<header><h1>{t}</h1>
<p class="summary">{mode} · {n} resources · <span class="{sc}">{verdict}</span>{cost}</p></header>
<main>{svg}</main>
"#,
        t = esc(&input.title),
        mode = if input.live {
            "what exists in the account (live), drift marked"
        } else {
            "from the config: what apply builds, new objects marked as planned"
        },
        n = input
            .config
            .resources
            .values()
            .filter(|r| !matches!(r.addr.kind, Kind::Network | Kind::Function))
            .count(),
        sc = if blocked > 0 { "bad" } else { "good" },
        verdict = if asking.is_empty() {
            "no function asks for internet access".to_string()
        } else if blocked == 0 {
            format!(
                "{} of {} function(s) reach the internet",
                asking.len(),
                asking.len()
            )
        } else {
            format!("{blocked} of {} function(s) blocked", asking.len())
        },
        cost = if input.cost.is_empty() {
            String::new()
        } else {
            format!(
                " · {}/month by the hour",
                netplan_engine::pricing::money(total)
            )
        },
    );
    html.push_str(
        "<section class=\"legend\" aria-label=\"legend\"><h2>Legend</h2><ul class=\"keys\">",
    );
    html.push_str(r#"<li><span class="key reaches"></span> a function's path out that reaches the internet</li><li><span class="key blocked"></span> a path that is blocked</li><li><span class="key planned"></span> planned: apply creates it</li><li><span class="key drift"></span> drift or a change apply makes</li><li><span class="key stop"></span> BLOCKS: the component that blocks a path</li><li><span class="key v6"></span> the thinner line of a pair: IPv6</li>"#);
    for (fi, v) in asking.iter().enumerate() {
        let _ = write!(
            html,
            r#"<li><span class="key reaches f{}"></span> <code>{}</code>'s paths</li>"#,
            fi % DASHES,
            esc(&v.function.to_string())
        );
    }
    html.push_str("</ul>");
    // Each cause once: what blocks, then what only weakens.
    for (level, heading, class) in [
        (Severity::Error, "What blocks", "blocks"),
        (Severity::Warning, "Warnings", "warning"),
    ] {
        let rows: Vec<_> = problems
            .iter()
            .flat_map(|(component, list)| list.iter().map(move |p| (component, p)))
            .filter(|(_, (sev, ..))| *sev == level)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = write!(html, "<h2>{heading}</h2><ul class=\"problems\">");
        for (component, (_, functions, message, fix)) in rows {
            let _ = write!(
                html,
                r#"<li class="{class}" data-address="{}"><strong>{}</strong> for <code>{}</code>: {}{}</li>"#,
                esc(&component.to_string()),
                esc(&component.to_string()),
                esc(functions),
                esc(message),
                fix.as_ref()
                    .map(|x| format!("<pre>fix: {}</pre>", esc(x)))
                    .unwrap_or_default()
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>\n</body></html>\n");
    html
}

/// How many functions get a line style of their own.
const DASHES: usize = 6;

const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:16px 0 6px}
.summary .good{color:#1a7f37;font-weight:600}.summary .bad{color:#cf222e;font-weight:600}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}
svg .name{font-weight:600;font-size:13px}svg .id,svg .small{fill:#57606a;font-family:ui-monospace,monospace;font-size:11px}
svg .line{fill:#424a53;font-size:11px}svg .label{fill:#57606a;font-weight:600}svg .cost{fill:#9a6700;font-weight:600}
.internet rect{fill:#ddf4ff;stroke:#0969da;stroke-width:2}
.frame rect{fill:#f6f8fa;stroke:#8c959f;stroke-width:1.5}
.node rect{fill:#fff;stroke:#8c959f;stroke-width:1.2}
.node.subnet rect{fill:#f0f6ff}.node.nat_gateway rect,.node.nat_instance rect{fill:#fff8c5}
.node.lambda_function rect{fill:#fbefff;stroke:#8250df}.node.internet_gateway rect,.node.egress_only_internet_gateway rect{fill:#dafbe1}
.node.elastic_ip rect{fill:#fff1e5;stroke:#bc4c00}
.planned>rect{stroke-dasharray:6 4}
.drift>rect,.changes>rect{stroke:#bf8700;stroke-width:2.5}
.discovered>rect{fill:#f6f8fa;stroke:#57606a;stroke-dasharray:2 3}
.node.blocked>rect{stroke:#cf222e;stroke-width:3;fill:#ffebe9}
.node.weak>rect{stroke:#bf8700;stroke-width:2.5}
polyline.path{fill:none;stroke-width:2.6;stroke-linejoin:round;opacity:.9}polyline.path.v6{stroke-width:1.4}
polyline.reaches{stroke:#1a7f37}polyline.blocked{stroke:#cf222e}
.f1{stroke-dasharray:9 4}.f2{stroke-dasharray:2 3}.f3{stroke-dasharray:12 3 2 3}.f4{stroke-dasharray:5 5}.f5{stroke-dasharray:14 6}
.labelbox{fill:none;stroke:none}
.legend ul{list-style:none;padding:0}.legend li{margin:4px 0}
.key{display:inline-block;width:28px;height:0;border-top:3px solid;vertical-align:middle;margin-right:6px}
.key.reaches{border-color:#1a7f37}.key.blocked{border-color:#cf222e;border-top-style:dashed}
.key.planned{border-color:#8c959f;border-top-style:dashed}.key.v6{border-color:#1a7f37;border-top-width:1px}
.key.f1{border-top-style:dashed}.key.f2{border-top-style:dotted}.key.f3,.key.f4,.key.f5{border-top-style:dashed}.key.drift{border-color:#bf8700}.key.stop{border-color:#cf222e;border-top-width:6px}
.problems li.blocks{color:#cf222e}.problems pre{background:#f6f8fa;color:#1f2328;padding:6px;border-radius:6px}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_name_the_components_in_order() {
        let hops = vec![
            "subnet.p_a".to_string(),
            "route_table.p_a".into(),
            "0.0.0.0/0".into(),
            "nat_gateway.a in subnet.pub_a".into(),
            "internet_gateway.main (attached)".into(),
        ];
        let got: Vec<String> = hop_addresses(&hops).iter().map(|a| a.to_string()).collect();
        assert_eq!(
            got,
            [
                "subnet.p_a",
                "route_table.p_a",
                "nat_gateway.a",
                "subnet.pub_a",
                "internet_gateway.main"
            ]
        );
    }

    #[test]
    fn text_from_a_config_cannot_open_markup() {
        assert_eq!(
            esc("<script>\"x\"&'\u{7}"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39; "
        );
    }
}
