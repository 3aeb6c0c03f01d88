//! What a daily user meets beyond plan and apply (issue 12): `netplan map` in a real browser,
//! `netplan output` after an apply on moto, the markdown plan, completions and the manual page, and
//! `--local` installing moto by itself.

use crate::moto::Moto;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A headless Chromium: `NETPLAN_CHROMIUM`, or chromium / chromium-browser / google-chrome on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETPLAN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
    .find(|p| p.is_file())
}

/// The browser, or the reason the test is skipped (a failure where CI asks for one).
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    match chromium() {
        Some(b) => Some(b),
        None if std::env::var_os("NETPLAN_REQUIRE_BROWSER").is_some() => {
            panic!("{test}: no Chromium found and NETPLAN_REQUIRE_BROWSER is set (.ci/run installs Debian's chromium)")
        }
        None => {
            eprintln!("SKIPPED {test}: no headless Chromium on this machine (install Debian's `chromium` package, or set NETPLAN_CHROMIUM)");
            None
        }
    }
}

fn headless(browser: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
    ]);
    let profile = tempfile::tempdir().expect("tempdir").keep();
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Console messages the browser logged (errors, failed loads).
fn console(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Failed to load"))
        .map(str::to_string)
        .collect()
}

/// What the browser saw of a map: each `[data-address]` element, each drawn path.
#[derive(Debug, serde::Deserialize)]
struct Seen {
    nodes: Vec<SeenNode>,
    paths: Vec<SeenPath>,
    errors: Vec<String>,
    legend: String,
    /// A path segment over a text, or over a box that is not one of the link's own.
    crossings: Vec<String>,
    /// A text that runs past the box it is in.
    overflows: Vec<String>,
    /// Path segments measured.
    segments: usize,
}

#[derive(Debug, serde::Deserialize)]
struct SeenNode {
    address: String,
    visible: bool,
    label: String,
    title: String,
    cls: String,
}

#[derive(Debug, serde::Deserialize)]
struct SeenPath {
    function: String,
    cls: String,
    visible: bool,
    stroke: String,
}

const PROBE: &str = r#"<script>
(function () {
  const out = { nodes: [], paths: [], errors: [], legend: "" };
  window.addEventListener("error", e => out.errors.push(String(e.message)));
  const visible = el => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none" && parseFloat(s.opacity || "1") > 0;
  };
  for (const el of document.querySelectorAll("svg [data-address]")) {
    const t = el.querySelector("title");
    out.nodes.push({ address: el.dataset.address, visible: visible(el), label: el.getAttribute("aria-label") || "",
                     title: t ? t.textContent : "", cls: el.getAttribute("class") || "" });
  }
  for (const el of document.querySelectorAll("polyline.path")) {
    out.paths.push({ function: el.dataset.function, cls: el.getAttribute("class"), visible: visible(el),
                     stroke: getComputedStyle(el).stroke });
  }
  const legend = document.querySelector(".legend");
  out.legend = legend ? legend.textContent : "";
  // Geometry, in the SVG's own units: each text's box, each component's box, each path's segments.
  const box = el => { const b = el.getBBox(); return { x: b.x, y: b.y, w: b.width, h: b.height }; };
  const svg = document.querySelector("main svg");
  const boxes = [];
  for (const g of svg.querySelectorAll("g.node, g.internet")) {
    const r = g.querySelector("rect");
    if (r) boxes.push({ a: g.dataset.address, r: box(r) });
  }
  const texts = [];
  for (const t of svg.querySelectorAll("text")) {
    const g = t.closest("g");
    const c = g ? g.querySelector("rect") : null;
    texts.push({ t: t.textContent, r: box(t), c: c ? box(c) : null, owner: g ? (g.dataset.address || g.getAttribute("class")) : "svg" });
  }
  const within = (a, b) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.w <= b.x + b.w + 0.5 && a.y + a.h <= b.y + b.h + 0.5;
  out.overflows = texts.filter(t => !t.c || !within(t.r, t.c)).map(t => `${t.owner}: "${t.t}" ${JSON.stringify(t.r)} outside ${JSON.stringify(t.c)}`);
  // Liang-Barsky: does the segment enter the rectangle shrunk by m?
  const crosses = (p, q, r, m) => {
    const x0 = r.x + m, x1 = r.x + r.w - m, y0 = r.y + m, y1 = r.y + r.h - m;
    if (x1 <= x0 || y1 <= y0) return false;
    let t0 = 0, t1 = 1; const dx = q.x - p.x, dy = q.y - p.y;
    for (const [pp, qq] of [[-dx, p.x - x0], [dx, x1 - p.x], [-dy, p.y - y0], [dy, y1 - p.y]]) {
      if (pp === 0) { if (qq < 0) return false; continue; }
      const t = qq / pp;
      if (pp < 0) { if (t > t1) return false; if (t > t0) t0 = t; } else { if (t < t0) return false; if (t < t1) t1 = t; }
    }
    return t1 - t0 > 1e-6;
  };
  out.crossings = []; out.segments = 0;
  for (const el of svg.querySelectorAll("polyline.path")) {
    const own = (el.dataset.hops || "").split(" ");
    const pts = [...el.points].map(p => ({ x: p.x, y: p.y }));
    for (let i = 0; i + 1 < pts.length; i++) {
      out.segments++;
      for (const t of texts) if (crosses(pts[i], pts[i + 1], t.r, 0.5)) out.crossings.push(`${el.dataset.function} ${own.join(">")}: over text "${t.t}"`);
      for (const b of boxes) if (!own.includes(b.a) && crosses(pts[i], pts[i + 1], b.r, 1)) out.crossings.push(`${el.dataset.function} ${own.join(">")}: over ${b.a}`);
    }
  }
  const pre = document.createElement("pre");
  pre.id = "netplan-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Loads the map as a user would (file://), keeps a screenshot, and returns what the page shows.
fn browse(browser: &Path, map: &Path, name: &str) -> Seen {
    // 1. The page as written: no console message at all, and a screenshot.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("map-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join(format!("{name}.png"));
    let out = headless(browser)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1700,1500")
        .arg(format!("file://{}", map.display()))
        .output()
        .expect("chromium runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        console(&err).is_empty(),
        "console messages: {:?}",
        console(&err)
    );
    let png = std::fs::read(&shot).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a screenshot at {}",
        shot.display()
    );
    eprintln!("screenshot kept at {}", shot.display());
    // 2. The same page with a probe script appended, its findings read from the DOM.
    let html = std::fs::read_to_string(map).unwrap();
    let probed = map.with_extension("probe.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let out = headless(browser)
        .arg("--dump-dom")
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"netplan-probe\">")
        .unwrap_or_else(|| panic!("the probe ran: {}", String::from_utf8_lossy(&out.stderr)))
        + "<pre id=\"netplan-probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let seen: Seen = serde_json::from_str(&unescape(&dom[start..end])).expect("the probe's JSON");
    // A map people can read: no path over a label or an unrelated box, no text past its box.
    assert!(seen.segments > 0, "{name}: no path drawn");
    assert!(
        seen.crossings.is_empty(),
        "{name}: {} crossing(s):\n{}",
        seen.crossings.len(),
        seen.crossings.join("\n")
    );
    assert!(
        seen.overflows.is_empty(),
        "{name}: {} text(s) past their box:\n{}",
        seen.overflows.len(),
        seen.overflows.join("\n")
    );
    seen
}

/// The resources a config declares (low level, after expansion), from `netplan graph`.
fn declared(dir: &Path) -> Vec<String> {
    let out = netplan(dir, &["graph", "--format", "dot"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut names: Vec<String> = stdout(&out)
        .split('"')
        .filter(|w| {
            w.split_once('.').is_some_and(|(k, n)| {
                !k.is_empty()
                    && !n.is_empty()
                    && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
        })
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() > 10, "{names:?}");
    names
}

#[test]
fn map_of_the_seed_shows_every_resource_and_both_functions_reaching_out_in_a_browser() {
    let Some(browser) = browser_or_skip("map (seed)") else {
        return;
    };
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let out = netplan(dir, &["map", "-o", "map.html"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 function(s) reach the internet"),
        "{}",
        stderr(&out)
    );
    let html = std::fs::read_to_string(dir.join("map.html")).unwrap();
    // Self-contained: nothing fetched, no script.
    assert!(
        !html.contains("<script") && !html.contains(" src=") && !html.contains("href="),
        "self-contained"
    );
    let seen = browse(&browser, &dir.join("map.html"), "seed");
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    for addr in declared(dir) {
        let n = seen
            .nodes
            .iter()
            .find(|n| n.address == addr)
            .unwrap_or_else(|| panic!("{addr} is not on the map"));
        assert!(n.visible, "{addr} is not visible");
        assert!(
            n.label.contains(&addr) && n.title.contains(&addr),
            "{addr}: {n:?}"
        );
        assert!(
            n.cls.contains("planned"),
            "{addr}: nothing applied yet, so planned: {}",
            n.cls
        );
    }
    let reaching: Vec<&SeenPath> = seen
        .paths
        .iter()
        .filter(|p| p.cls.contains("reaches"))
        .collect();
    for f in ["lambda_function.probe", "lambda_function.probe_node"] {
        assert!(
            reaching.iter().any(|p| p.function == f && p.visible),
            "{f}'s path: {:?}",
            seen.paths
        );
    }
    assert!(
        seen.paths.iter().all(|p| !p.cls.contains("blocked")),
        "{:?}",
        seen.paths
    );
    // The NAT gateways carry their monthly cost.
    let nat = seen
        .nodes
        .iter()
        .find(|n| n.address == "nat_gateway.main_a")
        .unwrap();
    assert!(nat.title.contains("$32.85/month"), "{}", nat.title);
}

/// The seed with one function, and with three: every path drawn along lanes, none over a label or
/// another box, no text past its box (`browse` measures it in the browser).
#[test]
fn map_paths_keep_clear_of_labels_and_boxes_with_one_and_three_functions() {
    let Some(browser) = browser_or_skip("map (1 and 3 functions)") else {
        return;
    };
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let seed = std::fs::read_to_string(&cfg).unwrap();
    let at = seed.find("[function.probe_node]").unwrap();
    let one = seed[..at].to_string();
    let three = format!(
        "{seed}\n[function.third]\nnetwork = \"network.main\"\nruntime = \"python3.13\"\nhandler = \"lambda_function.lambda_handler\"\nsource = \"functions/probe\"\n"
    );
    for (name, text, functions) in [("one", one, 1), ("three", three, 3)] {
        std::fs::write(&cfg, text).unwrap();
        let out = netplan(dir, &["map", "-o", "map.html"], None);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let seen = browse(&browser, &dir.join("map.html"), name);
        let drawn: std::collections::BTreeSet<&str> =
            seen.paths.iter().map(|p| p.function.as_str()).collect();
        assert_eq!(drawn.len(), functions, "{name}: {drawn:?}");
        assert!(seen.paths.iter().all(|p| p.cls.contains("reaches")));
    }
}

#[test]
fn map_of_a_blocked_function_draws_its_path_blocked_and_names_the_fix() {
    let Some(browser) = browser_or_skip("map (blocked)") else {
        return;
    };
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
        .replace("ipv6_dual_stack = true\n", "");
    std::fs::write(&cfg, text).unwrap();
    let out = netplan(dir, &["map", "-o", "map.html"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 of 2 function(s) blocked"),
        "{}",
        stderr(&out)
    );
    let seen = browse(&browser, &dir.join("map.html"), "blocked");
    let blocked: Vec<&SeenPath> = seen
        .paths
        .iter()
        .filter(|p| p.cls.contains("blocked"))
        .collect();
    assert!(
        blocked
            .iter()
            .any(|p| p.function == "lambda_function.probe" && p.visible),
        "{:?}",
        seen.paths
    );
    assert!(
        blocked.iter().all(|p| p.stroke.contains("207, 34, 46")),
        "drawn red: {blocked:?}"
    );
    // The blocking component is marked, with the reason and the fix as its tooltip and in the legend.
    let stop: Vec<&SeenNode> = seen
        .nodes
        .iter()
        .filter(|n| n.cls.contains("blocked"))
        .collect();
    assert!(!stop.is_empty(), "a component is marked as blocking");
    assert!(
        stop.iter()
            .all(|n| n.title.contains("BLOCKS") && n.title.contains("fix:")),
        "{stop:?}"
    );
    assert!(
        seen.legend.contains("What blocks") && seen.legend.contains("no route to 0.0.0.0/0"),
        "{}",
        seen.legend
    );
}

#[test]
fn output_after_an_apply_on_moto_holds_both_nat_public_ips_as_moto_reports_them() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    let out = netplan_moto(dir, &["output", "--json"], moto.port);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut ours: Vec<String> = all["network.main.nat_public_ips"]
        .as_array()
        .unwrap_or_else(|| panic!("{all:#}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ours.sort();
    let theirs = moto
        .py("ips=sorted(a['PublicIp'] for g in ec2.describe_nat_gateways()['NatGateways'] if g['State']=='available' for a in g['NatGatewayAddresses'])\nprint(' '.join(ips))")
        .unwrap();
    let theirs: Vec<String> = theirs.split_whitespace().map(str::to_string).collect();
    assert_eq!(ours.len(), 2, "{all:#}");
    assert_eq!(ours, theirs);
    let vpc = moto.py("print(ec2.describe_vpcs(Filters=[{'Name':'tag:netplan:stack','Values':['lambda-egress']}])['Vpcs'][0]['VpcId'])").unwrap();
    assert_eq!(all["network.main.vpc_id"], vpc.trim());
    assert_eq!(
        all["network.main.private_subnet_ids"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{all:#}"
    );
    assert!(
        all["function.probe.arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:lambda:")),
        "{all:#}"
    );
    assert!(
        all["function.probe.role_arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:iam::")),
        "{all:#}"
    );
    // One value, raw, for scripts; a name that does not exist is an error with a suggestion.
    let out = netplan_moto(
        dir,
        &["output", "network.main.nat_public_ips", "--raw"],
        moto.port,
    );
    let mut raw: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    raw.sort();
    assert_eq!(raw, ours);
    let out = netplan_moto(dir, &["output", "network.main.nat_public_ip"], moto.port);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean network.main.nat_public_ips"),
        "{}",
        stderr(&out)
    );
    // The text listing says what each is.
    let out = netplan_moto(dir, &["output"], moto.port);
    assert!(
        stdout(&out).contains("network.main.nat_public_ips")
            && stdout(&out).contains("allow-lists"),
        "{}",
        stdout(&out)
    );
    // The live map: what exists, with ids and public IPs, and drift marked.
    moto.py(&format!(
        "ec2.create_tags(Resources=['{}'], Tags=[{{'Key':'owner','Value':'someone else'}}])",
        vpc.trim()
    ))
    .unwrap();
    let out = netplan_moto(dir, &["map", "--live", "-o", "live.html"], moto.port);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("live.html")).unwrap();
    assert!(html.contains("what exists in the account (live)"), "live");
    assert!(
        html.contains(&format!(
            r#"class="frame drift" data-address="vpc.main" data-id="{}""#,
            vpc.trim()
        )),
        "the VPC's drift is marked"
    );
    for ip in &ours {
        assert!(html.contains(&format!("public IP {ip}")), "{ip} on the map");
    }
    assert!(
        html.contains(r#"class="node nat_gateway exists""#),
        "the NAT gateways exist"
    );
    // Ids and public addresses keep within their boxes, and paths clear of them, in a browser.
    if let Some(browser) = browser_or_skip("map (live)") {
        let seen = browse(&browser, &dir.join("live.html"), "live");
        assert!(
            seen.paths.iter().any(|p| p.cls.contains("reaches")),
            "{:?}",
            seen.paths
        );
    }
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
}

#[test]
fn plan_as_markdown_has_the_changes_the_cost_and_the_verdicts_folded() {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let fake = dir.join("fake.json");
    let out = netplan(dir, &["plan", "--format", "markdown"], Some(&fake));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("### netplan plan — stack `lambda-egress`"),
        "{md}"
    );
    assert!(md.contains("**Plan:** "), "{md}");
    assert!(
        md.contains("**Cost:** $73.00/month (+$73.00/month)"),
        "{md}"
    );
    assert!(
        md.contains("**Check:** ✅ 2 of 2 function(s) reach the internet"),
        "{md}"
    );
    assert!(md.contains("<details><summary>Changes ("), "{md}");
    assert!(md.contains("| ➕ | `vpc.main` | create |"), "{md}");
    assert!(
        md.contains("```diff\n") && md.contains("\n+  vpc.main {"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Monthly cost: $73.00/month"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Internet access (netplan check)</summary>"),
        "{md}"
    );
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "{md}"
    );
    assert!(!md.contains('\u{1b}'), "no colour codes");
    // After apply: no changes, still the verdicts.
    let out = netplan(dir, &["apply", "--auto-approve"], Some(&fake));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = netplan(dir, &["plan", "--format", "markdown"], Some(&fake));
    let md = stdout(&out);
    assert!(
        md.contains("**No changes.**") && md.contains("**Check:** ✅"),
        "{md}"
    );
    assert!(!md.contains("<summary>Changes"), "{md}");
}

#[test]
fn completions_and_the_manual_page_come_from_the_same_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = netplan(dir, &["completions", shell], None);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for cmd in ["plan", "apply", "destroy", "check", "cost", "map", "output"] {
            assert!(text.contains(cmd), "{shell} completes {cmd}");
        }
    }
    // bash loads it and completes `netplan pl` to plan.
    let out = netplan(dir, &["completions", "bash"], None);
    std::fs::write(dir.join("netplan.bash"), out.stdout).unwrap();
    let script = format!(
        "source {}; COMP_WORDS=(netplan pl); COMP_CWORD=1; COMP_LINE='netplan pl'; COMP_POINT=10; _netplan netplan pl netplan; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        dir.join("netplan.bash").display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(stdout(&out).trim(), "plan", "{}", stderr(&out));
    // The manual page: roff with every command.
    let out = netplan(dir, &["man"], None);
    let roff = stdout(&out);
    assert!(
        roff.starts_with(".ie") || roff.contains(".TH netplan"),
        "{roff}"
    );
    for cmd in ["plan", "apply", "map", "output", "completions"] {
        assert!(roff.contains(cmd), "the page lists {cmd}");
    }
    let out = netplan(dir, &["man", "--dir", "man"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = std::fs::read_to_string(dir.join("man/netplan-plan.1")).unwrap();
    assert!(
        plan.contains(".TH netplan-plan") && plan.contains("markdown"),
        "{plan}"
    );
    // man renders it where man is installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let out = Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(dir.join("man/netplan.1"))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("netplan"), "{}", stdout(&out));
    }
}

#[test]
fn local_mode_installs_moto_by_itself_when_it_is_not_on_the_path() {
    // A PATH with Python but without moto_server, and an empty cache: the README's quick start on a
    // fresh machine. (Downloads moto from the Python package index.)
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let Some(python) = python else {
        eprintln!("SKIPPED local install: no system python3");
        return;
    };
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&python, bin.path().join("python3")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let cache = tempfile::tempdir().unwrap();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let run = |args: &[&str]| {
        Command::new(bin_path())
            .args(args)
            .current_dir(dir)
            .env("PATH", &path)
            .env("NETPLAN_CACHE_DIR", cache.path())
            .env("NO_COLOR", "1")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("NETPLAN_FAKE_CLOUD")
            .output()
            .expect("netplan runs")
    };
    let out = run(&["--local", "apply", "--auto-approve"]);
    let err = stderr(&out);
    let _ = run(&["local", "down"]);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("installing moto[server]==") && err.contains("installed moto"),
        "{err}"
    );
    assert!(cache
        .path()
        .join(format!("moto-{}/bin/moto_server", "5.2.1"))
        .is_file());
    // Without Python, the message says exactly that, with the fix.
    let out = Command::new(bin_path())
        .args(["--local", "plan"])
        .current_dir(dir)
        .env("PATH", bin.path().join("nothing"))
        .env("NETPLAN_CACHE_DIR", tempfile::tempdir().unwrap().path())
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("there is no python3 on this machine")
            && stderr(&out).contains("install Python 3"),
        "{}",
        stderr(&out)
    );
}

fn bin_path() -> &'static str {
    bin()
}

/// `local down` signals only the emulator it started: a recorded pid that now belongs to another
/// process (pids are reused) is left alone, and said so.
#[cfg(unix)]
#[test]
fn local_down_never_signals_a_process_that_is_not_the_emulator() {
    let tmp = tempfile::tempdir().unwrap();
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    std::fs::create_dir_all(tmp.path().join(".netplan")).unwrap();
    std::fs::write(
        tmp.path().join(".netplan/local.json"),
        format!(
            r#"{{"pid": {}, "port": 9, "started_at": "2026-01-01T00:00:00Z"}}"#,
            other.id()
        ),
    )
    .unwrap();
    let out = netplan(tmp.path(), &["local", "down"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("belongs to another process, left alone"),
        "{}",
        stdout(&out)
    );
    assert!(
        other.try_wait().unwrap().is_none(),
        "the other process was signalled"
    );
    assert!(!tmp.path().join(".netplan/local.json").exists());
    let _ = other.kill();
    let _ = other.wait();
}

/// A network with one NAT gateway: nothing blocks, so the legend has no "What blocks"; the warnings
/// (cross-AZ traffic, for both functions) are listed once each.
#[test]
fn map_legend_lists_each_warning_once_and_blocks_only_what_blocks() {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("nat_gateways = \"per_az\"", "nat_gateways = \"single\"");
    std::fs::write(&cfg, text).unwrap();
    let out = netplan(dir, &["map", "-o", "map.html"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("map.html")).unwrap();
    let legend = &html[html.find("<section class=\"legend\"").unwrap()..];
    assert!(!legend.contains("What blocks"), "{legend}");
    let warnings: Vec<&str> = legend
        .split("<li class=\"warning\"")
        .skip(1)
        .map(|w| &w[..w.find("</li>").unwrap()])
        .collect();
    assert!(!warnings.is_empty(), "{legend}");
    let mut unique = warnings.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), warnings.len(), "each once: {warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("lambda_function.probe, lambda_function.probe_node")),
        "one entry names both functions: {warnings:#?}"
    );
}
