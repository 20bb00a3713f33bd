//! Decisions per second of a plug-in, a fresh instance per decision, as `run
//! evaluate` makes them (verification and storage not included).
//!
//! ```sh
//! ansinh plugin build plugins/national-social-assistance
//! cargo bench -p ansinh-sandbox [-- PLUGIN.wasm PEOPLE ROUNDS]
//! ```
//!
//! PLUGIN.wasm defaults to the national plug-in as `ansinh plugin build` leaves
//! it (`target/plugins/national-social-assistance.wasm`), PEOPLE to 20,000,
//! ROUNDS to 7. The people are made here, from a fixed seed, in a mix like the
//! demo's synthetic province (`host/src/synthetic.rs`: the elderly, disability,
//! orphans, single parents, people who are not eligible, some who died before
//! the month or live in another province), with every fact the host knows, so
//! that every path of the rules is taken whatever the plug-in reads.
//! Times ROUNDS rounds on one thread and on every core, and prints each round
//! and the median. A benchmark, not a test: these machines are shared, so read
//! medians and ratios.

use std::path::PathBuf;
use std::time::Instant;

use ansinh_sandbox::{DecisionInput, Disability, Household, Limits, Month, PersonFacts, Plugin, Sandbox, Sex, Status};
use anyhow::Context;
use chrono::NaiveDate;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; everything else is ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins/national-social-assistance.wasm");
    let path = args.next().map_or(default, PathBuf::from);
    let people: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse())?;

    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading the plug-in {}; build it first with `cargo run -- plugin build plugins/national-social-assistance`, \
             or give a .wasm: cargo bench -p ansinh-sandbox -- PLUGIN.wasm",
            path.display()
        )
    })?;
    let sandbox = Sandbox::new(Limits::default(), None)?;
    let plugin = sandbox.load(&bytes)?;
    let period = Month::new(2024, 9).expect("a month");
    let inputs: Vec<DecisionInput> =
        population(people, period).iter().map(|f| plugin.input(period, "social-assistance", "001", true, f)).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    let d = plugin.description();
    println!("{} {}, {} bytes, {people} varied people, {rounds} rounds", d.name, d.version, bytes.len());
    for workers in [1, threads] {
        let mut rates: Vec<f64> = (0..rounds).map(|_| round(&plugin, &inputs, workers)).collect();
        rates.sort_by(f64::total_cmp);
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{workers} thread(s): median {:.0} decisions/s ({:.2} µs per decision per thread); rounds: {}",
            rates[rates.len() / 2],
            workers as f64 * 1e6 / rates[rates.len() / 2],
            shown.join(" ")
        );
    }
    Ok(())
}

/// Decide everyone once on `workers` threads; decisions per second.
fn round(plugin: &Plugin, inputs: &[DecisionInput], workers: usize) -> f64 {
    let started = Instant::now();
    let chunk = inputs.len().div_ceil(workers);
    std::thread::scope(|s| {
        for part in inputs.chunks(chunk) {
            s.spawn(move || {
                for input in part {
                    let e = plugin.evaluate(input);
                    assert!(e.result.is_ok(), "{:?}", e.result);
                }
            });
        }
    });
    inputs.len() as f64 / started.elapsed().as_secs_f64()
}

/// `people` people in a mix of profiles like the demo's (per 1,000, as
/// `host/src/synthetic.rs` documents it), from a fixed seed.
fn population(people: usize, period: Month) -> Vec<PersonFacts> {
    let mut rng = SplitMix(2026);
    (0..people).map(|_| person(&mut rng, period)).collect()
}

fn person(rng: &mut SplitMix, period: Month) -> PersonFacts {
    let mut p = PersonFacts {
        sex: Some(if rng.below(2) == 0 { Sex::Female } else { Sex::Male }),
        residence_province: Some("001".into()),
        death_date: Some(None),
        household: Some(Household::None),
        disability: Some(Disability::None),
        has_pension: Some(false),
        difficult_commune: Some(false),
        statuses: Some(vec![]),
        dependent_children: Some(0),
        ..PersonFacts::default()
    };
    let poor = |rng: &mut SplitMix| if rng.below(2) == 0 { Household::Poor } else { Household::NearPoor };
    let (age, statuses) = match rng.below(1000) {
        0..300 => (rng.between(80, 100), vec![]),
        300..390 => {
            p.household = Some(Household::Poor);
            (rng.between(60, 79), vec![Status::NoSupporter])
        }
        390..410 => {
            p.household = Some(Household::Poor);
            (rng.between(60, 95), vec![Status::NoSupporter, Status::CommunityCare])
        }
        410..450 => {
            p.household = Some(poor(rng));
            p.difficult_commune = Some(true);
            (rng.between(75, 79), vec![])
        }
        450..580 => {
            p.disability = Some(Disability::Severe);
            (disabled_age(rng), vec![])
        }
        580..660 => {
            p.disability = Some(Disability::EspeciallySevere);
            (disabled_age(rng), vec![])
        }
        660..730 => (rng.between(0, 15), vec![Status::Orphan]),
        730..760 => (rng.between(16, 22), vec![Status::Orphan, Status::Studying]),
        760..775 => {
            p.household = Some(Household::Poor);
            (rng.between(0, 15), vec![Status::Hiv])
        }
        775..800 => {
            p.household = Some(Household::Poor);
            (rng.between(16, 59), vec![Status::Hiv])
        }
        800..860 => {
            p.household = Some(poor(rng));
            p.dependent_children = Some(rng.between(1, 4));
            (rng.between(20, 50), vec![Status::SingleParent])
        }
        860..890 => {
            p.household = Some(poor(rng));
            p.difficult_commune = Some(true);
            (rng.between(0, 2), vec![])
        }
        890..950 => {
            p.has_pension = Some(true);
            (rng.between(60, 79), vec![])
        }
        950..990 => (rng.between(25, 59), vec![]),
        _ => (rng.between(23, 24), vec![Status::Orphan, Status::Studying]),
    };
    p.statuses = Some(statuses);
    let first = period.first_day();
    let born = NaiveDate::from_ymd_opt(i32::from(period.year()) - age as i32, 1 + rng.below(12), 1 + rng.below(28));
    p.birth_date = born.filter(|b| *b < first).or(Some(first - chrono::Days::new(1)));
    // About 1.5% died before the month, 3% live in another province.
    match rng.below(1000) {
        0..15 => p.death_date = Some(Some(first - chrono::Days::new(u64::from(1 + rng.below(300))))),
        15..45 => p.residence_province = Some("031".into()),
        _ => {}
    }
    p
}

/// A child, an adult or an elderly person, as the synthetic province spreads disability.
fn disabled_age(rng: &mut SplitMix) -> u32 {
    match rng.below(3) {
        0 => rng.between(0, 15),
        1 => rng.between(16, 59),
        _ => rng.between(60, 95),
    }
}

/// splitmix64: a fixed, dependency-free stream of integers, so that the same
/// people are made on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0..n.
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }

    /// lo..=hi.
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }
}
