//! The benchmark's result: one row per workload or ceiling, each with the targets that judge it
//! (a ratio to a ceiling or to another row of the same run), printed as one table and written as
//! JSON.

use serde::Serialize;

use super::load::Measurement;

/// A target: `ratio` of this row's figure to a reference figure, against a bound.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What the row is compared with (`write ceiling c4`, `W3 p50 at 1000000`).
    pub reference: String,
    /// The reference figure.
    pub reference_value: f64,
    /// This row's figure divided by the reference.
    pub ratio: f64,
    /// The bound, e.g. `>= 0.5` or `<= 1.5`.
    pub target: String,
    /// Whether the bound holds.
    pub met: bool,
}

impl Check {
    fn new(
        reference: String,
        value: f64,
        reference_value: f64,
        bound: f64,
        at_least: bool,
    ) -> Self {
        let ratio = value / reference_value.max(1e-9);
        Self {
            reference,
            reference_value,
            ratio,
            target: format!("{} {bound}", if at_least { ">=" } else { "<=" }),
            met: if at_least {
                ratio >= bound
            } else {
                ratio <= bound
            },
        }
    }

    /// `value / reference >= bound`.
    pub fn at_least(reference: String, value: f64, reference_value: f64, bound: f64) -> Self {
        Self::new(reference, value, reference_value, bound, true)
    }

    /// `value / reference <= bound`.
    pub fn at_most(reference: String, value: f64, reference_value: f64, bound: f64) -> Self {
        Self::new(reference, value, reference_value, bound, false)
    }
}

/// One measured line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `W1`, `W3`, … or `ceiling:http`, `ceiling:db-write`, `ceiling:db-read`.
    pub id: String,
    /// What was measured.
    pub name: String,
    /// Users in the tenant (or members in the group, for W7 and W8).
    pub size: u64,
    /// Connections (or threads, for the database ceilings).
    pub concurrency: usize,
    /// The figures.
    pub measurement: Measurement,
    /// The server's peak RSS during this row, in MiB (none for the database ceilings).
    pub peak_rss_mb: Option<f64>,
    /// The targets judging this row.
    pub checks: Vec<Check>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `nproc`.
    pub nproc: usize,
    /// `git rev-parse --short HEAD` (`-dirty` with uncommitted changes).
    pub git_revision: String,
    /// The database engine.
    pub backend: String,
    /// `SQLITE_SYNCHRONOUS` of the server and of the ceilings.
    pub durability: String,
    /// Whether this was the tiny smoke run.
    pub smoke: bool,
    /// The server's RSS after start, before any request, in MiB.
    pub idle_rss_mb: Option<f64>,
    /// Idle RSS below 30 MiB.
    pub idle_rss_met: Option<bool>,
    /// Seconds each seeding step took, with the users it wrote.
    pub seeding: Vec<Seeding>,
    /// Every row.
    pub rows: Vec<Row>,
    /// Failed steps in all rows.
    pub errors: u64,
    /// The run's wall time, in seconds.
    pub wall_seconds: f64,
    /// `/proc/loadavg` when the run started and ended: other work on the machine shows here.
    pub load_average: [String; 2],
}

/// One seeding step.
#[derive(Debug, Clone, Serialize)]
pub struct Seeding {
    /// What was seeded.
    pub what: String,
    /// Rows of users (or memberships) written.
    pub count: u64,
    /// Seconds it took.
    pub seconds: f64,
}

fn fmt_rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Report {
    /// The table, as printed.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "nproc {}  git {}  backend {}  durability {}  idle RSS {}  wall {:.0} s{}\n",
            self.nproc,
            self.git_revision,
            self.backend,
            self.durability,
            self.idle_rss_mb
                .map(|m| format!(
                    "{m:.1} MiB ({})",
                    if self.idle_rss_met == Some(true) {
                        "< 30: met"
                    } else {
                        "< 30: MISSED"
                    }
                ))
                .unwrap_or_else(|| "?".into()),
            self.wall_seconds,
            if self.smoke { "  (smoke)" } else { "" }
        ));
        out.push_str(&format!(
            "load average at start {}, at end {}\n",
            self.load_average[0], self.load_average[1]
        ));
        for s in &self.seeding {
            out.push_str(&format!(
                "seeded {} ({}) in {:.1} s\n",
                s.what, s.count, s.seconds
            ));
        }
        let header = [
            "workload",
            "size",
            "c",
            "req/s",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors",
            "peak RSS",
            "ratio to reference (target)",
        ];
        let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
        for r in &self.rows {
            let m = &r.measurement;
            let checks = r
                .checks
                .iter()
                .map(|c| {
                    format!(
                        "{:.2}x {} {:.1} ({}{})",
                        c.ratio,
                        c.reference,
                        c.reference_value,
                        c.target,
                        if c.met { ": met" } else { ": MISSED" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            lines.push(vec![
                format!("{} {}", r.id, r.name),
                r.size.to_string(),
                r.concurrency.to_string(),
                fmt_rate(m.requests_per_s),
                fmt_rate(m.steps_per_s),
                format!("{:.2}", m.latency.p50_ms),
                format!("{:.2}", m.latency.p99_ms),
                format!("{:.1}", m.latency.max_ms),
                m.errors.to_string(),
                r.peak_rss_mb
                    .map(|v| format!("{v:.0} MiB"))
                    .unwrap_or_else(|| "-".into()),
                checks,
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (n, line) in lines.iter().enumerate() {
            let cells: Vec<String> = line
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 || i == line.len() - 1 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            out.push_str(cells.join(" | ").trim_end());
            out.push('\n');
            if n == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("-|-"));
                out.push('\n');
            }
        }
        for r in &self.rows {
            if let Some(e) = &r.measurement.first_error {
                out.push_str(&format!("{} {}: first error: {e}\n", r.id, r.name));
            }
        }
        out
    }

    /// Rows that failed a step or did nothing at all: what the smoke run fails on.
    pub fn broken_rows(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.measurement.errors > 0 || r.measurement.steps == 0)
            .map(|r| format!("{} {} (size {}, c{})", r.id, r.name, r.size, r.concurrency))
            .collect()
    }
}
