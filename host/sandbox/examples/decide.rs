//! One decision, as the host makes it: load a plug-in, give it one input, print
//! the checked output and the fuel it took.
//!
//! ```sh
//! ansinh plugin build plugins/national-social-assistance
//! cargo run -p ansinh-sandbox --example decide -- target/plugins/national-social-assistance.wasm
//! cargo run -p ansinh-sandbox --example decide -- PLUGIN.wasm input.json
//! ```
//!
//! `input.json` is a decision's input as the host stores it (the `input` column
//! of a decision, the shape of a plug-in test case): the paid month, the
//! programme, the province, the verification verdict and the person's facts.
//! Without it, a person of 84 living in Hà Nội with no pension is decided.

use ansinh_sandbox::{DecisionInput, Disability, Household, Limits, Month, PersonFacts, Sandbox, Sex};
use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().context("usage: decide PLUGIN.wasm [INPUT.json]")?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading the plug-in {path}"))?;
    let sandbox = Sandbox::new(Limits::default(), None)?;
    let plugin = sandbox.load(&bytes).with_context(|| format!("loading the plug-in {path}"))?;
    let d = plugin.description();
    println!("{} {} (sha256 {}), reads {}", d.name, d.version, plugin.hash(), d.reads.join(", "));

    let input = match args.next() {
        Some(file) => {
            let json = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
            serde_json::from_str::<DecisionInput>(&json).with_context(|| format!("{file}: not a decision's input"))?
        }
        None => {
            let person = PersonFacts {
                birth_date: "1940-05-12".parse().ok(),
                sex: Some(Sex::Female),
                residence_province: Some("001".into()),
                death_date: Some(None),
                household: Some(Household::None),
                disability: Some(Disability::None),
                has_pension: Some(false),
                difficult_commune: Some(false),
                statuses: Some(vec![]),
                dependent_children: Some(0),
            };
            let period: Month = "2024-09".parse().map_err(anyhow::Error::msg)?;
            // Cut down to what the plug-in declared it reads, as the host does.
            plugin.input(period, "social-assistance", "001", true, &person)
        }
    };
    println!("input:  {}", input.canonical_json());
    let evaluation = plugin.evaluate(&input);
    match evaluation.result {
        Ok(decision) => println!("output: {}", decision.json),
        Err(error) => println!("error:  {error}"),
    }
    println!("fuel:   {}", evaluation.fuel);
    Ok(())
}
