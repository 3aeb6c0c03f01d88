//! `netplan map`: one self-contained HTML file (inline SVG and CSS, no script, nothing fetched) laid out
//! like the console's VPC resource map — the VPC; subnets in columns by AZ, public above private; the
//! NAT gateways and instances in their subnets; route tables with their routes; the gateways and the
//! internet on top; each function under the subnets it sits in — with `check`'s verdicts drawn on it:
//! each function's path out, green when it reaches the internet, red and dashed when blocked, the
//! blocking component outlined with the reason and the fix (tooltip and legend), and the monthly cost
//! of each priced component. Every element carries its netplan address and AWS id as text (`<title>`,
//! `aria-label`, `data-address`), so the map can be searched and read by screen readers.
//!
//! Layout is computed here (fixed sizes, no text measuring): the browser only draws.

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

const COL: f64 = 330.0;
const GAP: f64 = 20.0;
const PAD: f64 = 16.0;

#[derive(Clone, Copy, Debug, Default)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn center(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

/// One drawn component.
struct Node {
    addr: ResourceAddr,
    rect: Rect,
    /// Lines under the name (CIDRs, routes, …).
    lines: Vec<String>,
}

struct Layout {
    nodes: Vec<Node>,
    /// VPC frames and AZ headers: (rect, label).
    frames: Vec<(Rect, String, Option<ResourceAddr>)>,
    labels: Vec<(f64, f64, String)>,
    internet: Rect,
    width: f64,
    height: f64,
}

impl Layout {
    fn rect(&self, a: &ResourceAddr) -> Option<Rect> {
        self.nodes
            .iter()
            .find(|n| &n.addr == a)
            .map(|n| n.rect)
            .or_else(|| {
                self.frames
                    .iter()
                    .find(|(_, _, x)| x.as_ref() == Some(a))
                    .map(|(r, _, _)| *r)
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

fn lay_out(input: &Input) -> Layout {
    let c = input.config;
    let mut nodes: Vec<Node> = vec![];
    let mut frames = vec![];
    let mut labels = vec![];
    let mut placed: BTreeSet<ResourceAddr> = BTreeSet::new();
    let internet = Rect {
        x: GAP,
        y: GAP,
        w: 180.0,
        h: 56.0,
    };
    // Gateways on top, beside the internet.
    let mut gx = internet.x + internet.w + 40.0;
    for kind in [Kind::InternetGateway, Kind::EgressOnlyInternetGateway] {
        for r in c.of_kind(kind) {
            nodes.push(Node {
                addr: r.addr.clone(),
                rect: Rect {
                    x: gx,
                    y: GAP,
                    w: 250.0,
                    h: 56.0,
                },
                lines: vec![],
            });
            placed.insert(r.addr.clone());
            gx += 270.0;
        }
    }
    let mut y = GAP + 56.0 + 50.0;
    let mut width: f64 = gx;
    let route_table_of: BTreeMap<&ResourceAddr, &ResourceAddr> = c
        .of_kind(Kind::RouteTable)
        .flat_map(|t| t.ref_list("subnets").into_iter().map(move |s| (s, &t.addr)))
        .collect();
    let vpcs: Vec<&Resource> = c.of_kind(Kind::Vpc).collect();
    for vpc in &vpcs {
        let subnets: Vec<&Resource> = c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == Some(&vpc.addr))
            .collect();
        let azs: BTreeSet<String> = subnets
            .iter()
            .map(|s| s.str_attr("az").unwrap_or("?").to_string())
            .collect();
        let azs: Vec<String> = azs.into_iter().collect();
        let top = y;
        let mut inner_y = top + 44.0;
        let col_x = |i: usize| GAP + PAD + i as f64 * (COL + GAP);
        for (i, az) in azs.iter().enumerate() {
            labels.push((col_x(i), inner_y + 14.0, format!("Availability zone {az}")));
        }
        inner_y += 28.0;
        // Subnets: public band, then private band, one column per AZ.
        let mut column_of: BTreeMap<ResourceAddr, usize> = BTreeMap::new();
        // Boxes in a grid, one per column.
        let grid = |r: &Resource,
                    lines: Vec<String>,
                    nodes: &mut Vec<Node>,
                    at: &mut (usize, f64, f64)| {
            let per_row = azs.len().max(2);
            let h = 42.0 + 16.0 * lines.len() as f64;
            nodes.push(Node {
                addr: r.addr.clone(),
                rect: Rect {
                    x: col_x(at.0),
                    y: at.1,
                    w: COL,
                    h,
                },
                lines,
            });
            at.2 = at.2.max(h);
            at.0 += 1;
            if at.0 == per_row {
                at.0 = 0;
                at.1 += at.2 + 12.0;
                at.2 = 0.0;
            }
        };
        for public in [true, false] {
            let mut band_bottom = inner_y;
            for (i, az) in azs.iter().enumerate() {
                let mut sy = inner_y;
                for s in subnets.iter().filter(|s| {
                    s.str_attr("az").unwrap_or("?") == az
                        && netplan_engine::reach::is_public(c, &s.addr) == public
                }) {
                    let mut lines = vec![format!(
                        "{} · {}",
                        if public { "public" } else { "private" },
                        s.str_attr("cidr").unwrap_or("")
                    )];
                    if let Some(v6) = s
                        .str_attr("ipv6_cidr_block")
                        .or_else(|| s.attrs.get("ipv6_index").map(|_| "IPv6 /64"))
                    {
                        lines.push(v6.to_string());
                    }
                    if let Some(t) = route_table_of.get(&s.addr) {
                        lines.push(format!("route table: {t}"));
                    }
                    // NAT gateways and instances inside their subnet.
                    let nats: Vec<&Resource> = c
                        .resources
                        .values()
                        .filter(|r| {
                            matches!(r.addr.kind, Kind::NatGateway | Kind::NatInstance)
                                && r.ref_attr("subnet") == Some(&s.addr)
                        })
                        .collect();
                    let head = 42.0 + 16.0 * lines.len() as f64;
                    let h = head + 74.0 * nats.len() as f64 + 8.0;
                    let rect = Rect {
                        x: col_x(i),
                        y: sy,
                        w: COL,
                        h,
                    };
                    nodes.push(Node {
                        addr: s.addr.clone(),
                        rect,
                        lines,
                    });
                    placed.insert(s.addr.clone());
                    column_of.insert(s.addr.clone(), i);
                    for (k, n) in nats.iter().enumerate() {
                        let ny = sy + head + 74.0 * k as f64;
                        let mut lines = vec![];
                        if let Some(t) = n.str_attr("instance_type") {
                            lines.push(format!("instance {t}"));
                        }
                        let eip = n.ref_attr("elastic_ip");
                        if let Some(eip) = eip {
                            lines.push(format!("address: {eip}"));
                        }
                        nodes.push(Node {
                            addr: n.addr.clone(),
                            rect: Rect {
                                x: col_x(i) + 10.0,
                                y: ny,
                                w: COL - 20.0,
                                h: 66.0,
                            },
                            lines,
                        });
                        placed.insert(n.addr.clone());
                        // The Elastic IP, drawn on its NAT.
                        if let Some(eip) = eip {
                            placed.insert(eip.clone());
                            nodes.push(Node {
                                addr: eip.clone(),
                                rect: Rect {
                                    x: col_x(i) + COL - 140.0,
                                    y: ny + 38.0,
                                    w: 120.0,
                                    h: 22.0,
                                },
                                lines: vec![],
                            });
                        }
                    }
                    sy += h + 12.0;
                }
                band_bottom = band_bottom.max(sy);
            }
            inner_y = band_bottom + 18.0;
            // Route tables between the public and the private subnets: a path out goes up.
            if public {
                let mut at = (0usize, inner_y, 0.0f64);
                for r in c
                    .of_kind(Kind::RouteTable)
                    .filter(|r| r.ref_attr("vpc") == Some(&vpc.addr))
                {
                    let mut l = routes_text(r);
                    if l.is_empty() {
                        l.push("local routes only".into());
                    }
                    grid(r, l, &mut nodes, &mut at);
                    placed.insert(r.addr.clone());
                }
                inner_y = if at.0 == 0 { at.1 } else { at.1 + at.2 + 12.0 } + 8.0;
            }
        }
        // Functions under the private subnets they sit in.
        for f in c.of_kind(Kind::LambdaFunction) {
            let cols: Vec<usize> = f
                .ref_list("subnets")
                .into_iter()
                .filter_map(|s| column_of.get(s).copied())
                .collect();
            if cols.is_empty() {
                continue;
            }
            let (lo, hi) = (
                *cols.iter().min().expect("not empty"),
                *cols.iter().max().expect("not empty"),
            );
            let mut lines = vec![f.str_attr("runtime").unwrap_or("").to_string()];
            let subnets: Vec<String> = f
                .ref_list("subnets")
                .iter()
                .map(|s| s.to_string())
                .collect();
            lines.push(format!("in {}", subnets.join(", ")));
            nodes.push(Node {
                addr: f.addr.clone(),
                rect: Rect {
                    x: col_x(lo) + 20.0,
                    y: inner_y,
                    w: (hi - lo) as f64 * (COL + GAP) + COL - 40.0,
                    h: 62.0,
                },
                lines,
            });
            placed.insert(f.addr.clone());
            inner_y += 74.0;
        }
        inner_y += 8.0;
        // Endpoints, security groups and ACLs of this VPC, in a grid.
        let mut at = (0usize, inner_y, 0.0f64);
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
                grid(r, lines, &mut nodes, &mut at);
                placed.insert(r.addr.clone());
            }
        }
        let bottom = if at.0 == 0 { at.1 } else { at.1 + at.2 + 12.0 };
        let w = azs.len().max(2) as f64 * (COL + GAP) - GAP + 2.0 * PAD;
        let mut label = format!("{} · {}", vpc.addr, vpc.str_attr("cidr").unwrap_or(""));
        if vpc.bool_attr("ipv6") || vpc.str_attr("ipv6_cidr_block").is_some() {
            label.push_str(&format!(
                " · {}",
                vpc.str_attr("ipv6_cidr_block").unwrap_or("IPv6 /56")
            ));
        }
        frames.push((
            Rect {
                x: GAP,
                y: top,
                w,
                h: bottom - top + 4.0,
            },
            label,
            Some(vpc.addr.clone()),
        ));
        placed.insert(vpc.addr.clone());
        width = width.max(GAP + w);
        y = bottom + 40.0;
    }
    // Everything else (roles, addresses not on a NAT, functions outside a VPC, …) in a row below.
    let rest: Vec<&Resource> = c
        .resources
        .values()
        .filter(|r| {
            !placed.contains(&r.addr) && !matches!(r.addr.kind, Kind::Network | Kind::Function)
        })
        .collect();
    if !rest.is_empty() {
        labels.push((GAP, y + 4.0, "Outside the VPC".into()));
        y += 18.0;
        let per_row = ((width - GAP) / (COL + GAP)).floor().max(1.0) as usize;
        for (i, r) in rest.iter().enumerate() {
            nodes.push(Node {
                addr: r.addr.clone(),
                rect: Rect {
                    x: GAP + (i % per_row) as f64 * (COL + GAP),
                    y: y + (i / per_row) as f64 * 64.0,
                    w: COL,
                    h: 52.0,
                },
                lines: vec![],
            });
        }
        y += rest.len().div_ceil(per_row) as f64 * 64.0;
    }
    Layout {
        nodes,
        frames,
        labels,
        internet,
        width: width + GAP,
        height: y + GAP,
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
    let i = layout.internet;
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
            r#"<g class="frame {cls}" data-address="{a}" data-id="{id}" aria-label="{full}"><title>{full}</title><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10"/><text x="{tx}" y="{ty}" class="name">{label}</text><text x="{tx}" y="{ty2}" class="id">{idt}</text></g>"#,
            cls = status.class(),
            a = esc(&addr.as_ref().map(|a| a.to_string()).unwrap_or_default()),
            id = esc(id.map(String::as_str).unwrap_or("")),
            full = esc(&full),
            x = r.x,
            y = r.y,
            w = r.w,
            h = r.h,
            tx = r.x + 14.0,
            ty = r.y + 22.0,
            ty2 = r.y + 38.0,
            label = esc(label),
            idt = esc(id
                .map(String::as_str)
                .unwrap_or(if status == Status::Planned {
                    "(known after apply)"
                } else {
                    ""
                })),
        );
    }
    for (x, y, text) in &layout.labels {
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y}" class="label">{}</text>"#,
            esc(text)
        );
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
        if small {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" class="small">{}</text>"#,
                r.x + 6.0,
                r.y + 15.0,
                esc(ip.map(String::as_str).unwrap_or("Elastic IP"))
            );
        } else {
            let mark = match worst {
                Some(Severity::Error) => "BLOCKS · ",
                Some(Severity::Warning) => "warning · ",
                _ => "",
            };
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" class="name">{mark}{}</text>"#,
                r.x + 10.0,
                r.y + 19.0,
                esc(&n.addr.to_string())
            );
            let mut ly = r.y + 35.0;
            let idline = match (id, &status) {
                (Some(i), _) => i.clone(),
                (None, Status::Planned) => "(known after apply)".into(),
                _ => String::new(),
            };
            let mut extra = vec![idline];
            if let Some(ip) = ip {
                extra.push(format!("public IP {ip}"));
            }
            let first = extra.join(" · ");
            let _ = write!(
                svg,
                r#"<text x="{}" y="{ly}" class="id">{}</text>"#,
                r.x + 10.0,
                esc(&first)
            );
            if let Some(c) = cost {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" class="cost" text-anchor="end">{}/mo</text>"#,
                    r.x + r.w - 8.0,
                    r.y + 19.0,
                    netplan_engine::pricing::money(*c)
                );
            }
            for l in &n.lines {
                ly += 16.0;
                if ly > r.y + r.h - 4.0 {
                    break;
                }
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{ly}" class="line">{}</text>"#,
                    r.x + 10.0,
                    esc(l)
                );
            }
        }
        svg.push_str("</g>\n");
    }
    // The paths out, over everything.
    for v in input.verdicts.iter().filter(|v| v.internet) {
        for p in &v.paths {
            let mut points: Vec<(f64, f64)> = vec![];
            // From the function, where it sits under this subnet.
            if let (Some(f), Some(sn)) = (layout.rect(&v.function), layout.rect(&p.subnet)) {
                let x = sn.center().0.clamp(f.x + 10.0, f.x + f.w - 10.0);
                points.push((x, f.y + 8.0));
            }
            let hops = hop_addresses(&p.hops);
            for a in &hops {
                // The NAT's own subnet and the VPC frame are not stops on the drawn path.
                if a.kind == Kind::Vpc || (a.kind == Kind::Subnet && Some(a) != Some(&p.subnet)) {
                    continue;
                }
                if let Some(r) = layout.rect(a) {
                    points.push(r.center());
                }
            }
            if p.reaches {
                points.push(layout.internet.center());
            }
            if points.len() < 2 {
                continue;
            }
            // IPv4 and IPv6 side by side; functions sharing a way out share its line.
            let shift = if p.family.contains('6') { 6.0 } else { 0.0 };
            let d: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", x + shift, y + shift))
                .collect();
            let (class, marker, verdict) = if p.reaches {
                ("path reaches", "arrow-ok", "reaches the internet")
            } else {
                ("path blocked", "arrow-blocked", "blocked")
            };
            let label = format!(
                "{} {} from {}: {verdict} — {}",
                v.function,
                p.family,
                p.subnet,
                p.hops.join(" → ")
            );
            let _ = writeln!(
                svg,
                r#"<polyline class="{class}" data-function="{f}" data-family="{fam}" data-subnet="{s}" points="{pts}" marker-end="url(#{marker})" aria-label="{l}"><title>{l}</title></polyline>"#,
                f = esc(&v.function.to_string()),
                fam = esc(p.family),
                s = esc(&p.subnet.to_string()),
                pts = d.join(" "),
                l = esc(&label)
            );
        }
    }
    svg.push_str("</svg>\n");

    // The page: heading, verdict summary, the map, the legend.
    let mut html = String::new();
    let asking: Vec<&Verdict> = input.verdicts.iter().filter(|v| v.internet).collect();
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
    html.push_str(r#"<li><span class="key reaches"></span> a function's path out that reaches the internet</li><li><span class="key blocked"></span> a path that is blocked</li><li><span class="key planned"></span> planned: apply creates it</li><li><span class="key drift"></span> drift or a change apply makes</li><li><span class="key stop"></span> BLOCKS: the component that blocks a path</li></ul>"#);
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
polyline.path{fill:none;stroke-width:3;stroke-linejoin:round;opacity:.85}
polyline.reaches{stroke:#1a7f37}polyline.blocked{stroke:#cf222e;stroke-dasharray:8 5}
.legend ul{list-style:none;padding:0}.legend li{margin:4px 0}
.key{display:inline-block;width:28px;height:0;border-top:3px solid;vertical-align:middle;margin-right:6px}
.key.reaches{border-color:#1a7f37}.key.blocked{border-color:#cf222e;border-top-style:dashed}
.key.planned{border-color:#8c959f;border-top-style:dashed}.key.drift{border-color:#bf8700}.key.stop{border-color:#cf222e;border-top-width:6px}
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
