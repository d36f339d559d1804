//! The `sweep` scenario's picture: one-way p99 latency against offered load, one line per
//! setup, as a self-contained SVG (log scales on both axes).

use std::fmt::Write as _;

/// One setup's points: (offered msg/s, p99 ms).
pub(crate) struct Series {
    /// Legend text.
    pub(crate) label: String,
    /// Points in increasing offered load.
    pub(crate) points: Vec<(f64, f64)>,
}

const W: f64 = 720.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

/// Decades `[lo, hi]` covering `values` (positive), as powers of ten.
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0, 1);
    }
    let (lo, hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (lo, hi.max(lo + 1))
}

/// The plot of `series` under `title`.
pub(crate) fn svg(title: &str, series: &[Series]) -> String {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = decades(all().map(|p| p.0));
    let (y0, y1) = decades(all().map(|p| p.1));
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |v: f64| LEFT + (v.log10() - f64::from(x0)) / f64::from(x1 - x0) * pw;
    let y = |v: f64| TOP + ph - (v.max(1e-9).log10() - f64::from(y0)) / f64::from(y1 - y0) * ph;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(out, r#"<text x="{LEFT}" y="22" font-size="14">{}</text>"#, escape(title));
    for d in x0..=x1 {
        let v = 10f64.powi(d);
        let (px, bottom) = (x(v), TOP + ph);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{bottom}" stroke="#ddd"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{px:.1}" y="{:.1}" text-anchor="middle">{v}</text>"#,
            bottom + 16.0
        );
    }
    for d in y0..=y1 {
        let v = 10f64.powi(d);
        let (py, right) = (y(v), LEFT + pw);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="#ddd"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"#,
            LEFT - 6.0,
            py + 4.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">offered load (signals/s)</text>"#,
        LEFT + pw / 2.0,
        H - 10.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">one-way p99 latency (ms)</text>"#,
        TOP + ph / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> =
            s.points.iter().map(|&(l, ms)| format!("{:.1},{:.1}", x(l), y(ms))).collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for &(l, ms) in &s.points {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(l),
                y(ms)
            );
        }
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = LEFT + pw + 14.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 18.0,
            lx + 24.0,
            ly + 4.0,
            escape(&s.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_series_on_log_axes() {
        let series = [
            Series { label: "a <1>".into(), points: vec![(1000.0, 0.2), (10_000.0, 0.5)] },
            Series { label: "b".into(), points: vec![(1000.0, 3.0)] },
        ];
        let svg = svg("t", &series);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("a &lt;1&gt;"));
        // Decades 10^3..10^4 on x and 10^-1..10^1 on y label the grid.
        assert!(svg.contains(">10000<") && svg.contains(">0.1<") && svg.contains(">10<"));
        assert_eq!(decades([0.2, 3.0].into_iter()), (-1, 1));
    }
}
