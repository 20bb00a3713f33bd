//! Hostile plug-ins, many of them, each contained with its own clear error.
//!
//! Most are written here as WebAssembly text: a small core module that speaks
//! the canonical ABI of `sdk/wit/rules.wit` by hand, made into a component with
//! `wit-component` exactly as `ansinh plugin build` does. By hand, a plug-in can
//! do what the SDK would never let it: return pointers out of bounds, alias one
//! huge string a thousand times, loop in its start function or in
//! `cabi_realloc`, export a contract of another version. Beside each hostile
//! one, the national plug-in decides sound cases in the same sandbox, and must
//! give the same output and fuel as in a sandbox that never saw a hostile one.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use crate::support::{self, national_plugin, run_measured};
use ansinh_sandbox::{CONTRACT, DecisionInput, Limits, Plugin, Sandbox};
use ansinh_sandbox::{Month, PersonFacts};

/// The contract as the host runs it.
fn rules_wit() -> String {
    std::fs::read_to_string(support::workspace().join("sdk/wit/rules.wit")).unwrap()
}

/// A core module (WebAssembly text) made into a component exporting the world
/// `rule-plugin` of `wit`, as `ansinh plugin build` does with a Rust crate.
fn componentize(wit: &str, core_wat: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_source("rules.wit", wit).unwrap();
    let world = resolve.select_world(&[package], Some("rule-plugin")).unwrap();
    let mut module = wat::parse_str(core_wat).unwrap_or_else(|e| panic!("{e}\n{core_wat}"));
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    wit_component::ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap()
}

/// A plug-in written by hand against the canonical ABI. Memory map:
///
/// | address | what |
/// |---|---|
/// | 0x100 | `"hostile"`, 0x110 `"0.1.0"`, 0x120 `"social-assistance"`, 0x140 `"elderly_80_no_pension"` |
/// | 0x160 | the list of programmes: one string (0x120, 17) |
/// | 0x200 | the description `describe` returns (48 bytes) |
/// | 0x300 | the `result<decision, string>` `evaluate` returns (56 bytes) |
/// | 0x400-0x1000 | free for a plug-in's own data |
/// | 0x1000- | `cabi_realloc`'s bump heap (the host writes the input there) |
///
/// Layouts (canonical ABI): description = name@0, version@8, scope@16,
/// province option@20 (ptr@24, len@28), programs@32, reads@40;
/// result = case@0, decision@8 = eligible@8, amount@16, category option@24
/// (ptr@28, len@32), reasons@36, explanation@44; err string@8;
/// explanation line = vi@0, en@8, citation@16 (24 bytes).
#[derive(Clone)]
struct Core {
    /// Imports come first in a module.
    imports: Cow<'static, str>,
    memory: Cow<'static, str>,
    /// Run at the start of `cabi_realloc`, which the host calls to pass the input.
    realloc: Cow<'static, str>,
    /// The exported interface, `ansinh:rules/rules@0.1.0` unless a test lies about it.
    interface: Cow<'static, str>,
    describe: Cow<'static, str>,
    evaluate: Cow<'static, str>,
    /// More module fields: functions, data, a start function.
    extra: Cow<'static, str>,
    wit: Cow<'static, str>,
}

const SOUND_DESCRIBE: &str = "(call $national)";
const SOUND_EVALUATE: &str = "(call $eligible (i64.const 100000))";

impl Core {
    /// A plug-in that behaves: national, eligible for 100,000 đồng.
    fn sound() -> Core {
        Core {
            imports: "".into(),
            memory: "(memory (export \"memory\") 1)".into(),
            realloc: "".into(),
            interface: "ansinh:rules/rules@0.1.0".into(),
            describe: SOUND_DESCRIBE.into(),
            evaluate: SOUND_EVALUATE.into(),
            extra: "".into(),
            wit: rules_wit().into(),
        }
    }

    fn evaluate(body: impl Into<Cow<'static, str>>) -> Core {
        Core { evaluate: body.into(), ..Core::sound() }
    }

    fn describe(body: impl Into<Cow<'static, str>>) -> Core {
        Core { describe: body.into(), ..Core::sound() }
    }

    fn with(mut self, extra: impl Into<Cow<'static, str>>) -> Core {
        self.extra = extra.into();
        self
    }

    fn memory(mut self, memory: impl Into<Cow<'static, str>>) -> Core {
        self.memory = memory.into();
        self
    }

    fn wit(mut self, wit: String) -> Core {
        self.wit = wit.into();
        self
    }

    fn imports(mut self, imports: impl Into<Cow<'static, str>>) -> Core {
        self.imports = imports.into();
        self
    }

    fn realloc(mut self, prelude: impl Into<Cow<'static, str>>) -> Core {
        self.realloc = prelude.into();
        self
    }

    fn interface(mut self, interface: impl Into<Cow<'static, str>>) -> Core {
        self.interface = interface.into();
        self
    }

    fn wat(&self) -> String {
        let Core { imports, memory, realloc, interface, describe, evaluate, extra, .. } = self;
        format!(
            r#"(module
  {imports}
  {memory}
  (global $heap (mut i32) (i32.const 0x1000))
  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32) (local $end i32)
    {realloc}
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get 2))))
    (local.set $end (i32.add (local.get $p) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (i32.const -1)
                  (memory.grow (i32.add (i32.const 1)
                    (i32.shr_u (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))) (i32.const 16)))))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (data (i32.const 0x100) "hostile")
  (data (i32.const 0x110) "0.1.0")
  (data (i32.const 0x120) "social-assistance")
  (data (i32.const 0x140) "elderly_80_no_pension")
  (data (i32.const 0x160) "\20\01\00\00\11\00\00\00")
  (func $description (param $name i32) (param $name_len i32) (param $scope i32) (param $province i32)
      (param $province_len i32) (param $programs i32) (param $programs_len i32) (param $reads i32)
      (param $reads_len i32) (result i32)
    (i32.store (i32.const 0x200) (local.get $name))
    (i32.store (i32.const 0x204) (local.get $name_len))
    (i32.store (i32.const 0x208) (i32.const 0x110))
    (i32.store (i32.const 0x20c) (i32.const 5))
    (i32.store8 (i32.const 0x210) (local.get $scope))
    (i32.store8 (i32.const 0x214) (i32.ne (local.get $province) (i32.const 0)))
    (i32.store (i32.const 0x218) (local.get $province))
    (i32.store (i32.const 0x21c) (local.get $province_len))
    (i32.store (i32.const 0x220) (local.get $programs))
    (i32.store (i32.const 0x224) (local.get $programs_len))
    (i32.store (i32.const 0x228) (local.get $reads))
    (i32.store (i32.const 0x22c) (local.get $reads_len))
    (i32.const 0x200))
  (func $national (result i32)
    (call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0x160) (i32.const 1) (i32.const 0) (i32.const 0)))
  (func $decision (param $eligible i32) (param $amount i64) (param $category i32) (param $category_len i32)
      (param $reasons i32) (param $reasons_len i32) (param $lines i32) (param $lines_len i32) (result i32)
    (i32.store8 (i32.const 0x300) (i32.const 0))
    (i32.store8 (i32.const 0x308) (local.get $eligible))
    (i64.store (i32.const 0x310) (local.get $amount))
    (i32.store8 (i32.const 0x318) (i32.ne (local.get $category) (i32.const 0)))
    (i32.store (i32.const 0x31c) (local.get $category))
    (i32.store (i32.const 0x320) (local.get $category_len))
    (i32.store (i32.const 0x324) (local.get $reasons))
    (i32.store (i32.const 0x328) (local.get $reasons_len))
    (i32.store (i32.const 0x32c) (local.get $lines))
    (i32.store (i32.const 0x330) (local.get $lines_len))
    (i32.const 0x300))
  (func $eligible (param $amount i64) (result i32)
    (call $decision (i32.const 1) (local.get $amount) (i32.const 0x140) (i32.const 21)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
  (func $refuse (param $message i32) (param $message_len i32) (result i32)
    (i32.store8 (i32.const 0x300) (i32.const 1))
    (i32.store (i32.const 0x308) (local.get $message))
    (i32.store (i32.const 0x30c) (local.get $message_len))
    (i32.const 0x300))
  (func (export "{interface}#describe") (result i32) (local $i i32)
    {describe})
  (func (export "{interface}#evaluate") (param $input i32) (result i32) (local $i i32)
    {evaluate})
  {extra}
)"#
        )
    }

    fn component(&self) -> Vec<u8> {
        componentize(&self.wit, &self.wat())
    }
}

/// Sound people for the national plug-in: the demo's synthetic population.
fn sound_people(people: u64, seed: u64) -> Vec<(Month, PersonFacts)> {
    let period: Month = "2024-09".parse().unwrap();
    let spec = ansinh::synthetic::Spec { seed, people, province: "001".into(), period };
    ansinh::synthetic::enrolled_facts(&spec).unwrap().into_iter().map(|facts| (period, facts)).collect()
}

/// The national plug-in's bytes, and what it decides for the sound people in a
/// sandbox that never saw a hostile plug-in: canonical JSON (or error) and fuel.
struct Baseline {
    national: Vec<u8>,
    inputs: Vec<DecisionInput>,
    decided: Vec<(Result<String, String>, u64)>,
}

fn baseline() -> &'static Baseline {
    static BASELINE: OnceLock<Baseline> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let national = std::fs::read(national_plugin()).unwrap();
        let pristine = Sandbox::new(Limits::default(), None).unwrap();
        let plugin = pristine.load(&national).unwrap();
        let inputs: Vec<DecisionInput> = sound_people(40, 7)
            .iter()
            .map(|(period, facts)| plugin.input(*period, "social-assistance", "001", true, facts))
            .collect();
        let decided = decide(&plugin, &inputs);
        assert!(decided.iter().any(|(r, _)| r.as_ref().is_ok_and(|j| j.contains("\"eligible\":true"))));
        Baseline { national, inputs, decided }
    })
}

fn decide(plugin: &Plugin, inputs: &[DecisionInput]) -> Vec<(Result<String, String>, u64)> {
    inputs
        .iter()
        .map(|input| {
            let e = plugin.evaluate(input);
            (e.result.map(|o| o.json).map_err(|e| e.to_string()), e.fuel)
        })
        .collect()
}

/// A sandbox with the national plug-in loaded beside whatever hostile ones a
/// test gives it.
struct Bench {
    sandbox: Sandbox,
    national: Arc<Plugin>,
}

impl Bench {
    fn new() -> Bench {
        let sandbox = Sandbox::new(Limits::default(), None).unwrap();
        let national = sandbox.load(&baseline().national).unwrap();
        Bench { sandbox, national }
    }

    /// The sound decisions are exactly as in a sandbox without hostile plug-ins.
    fn assert_sound(&self, after: &str) {
        let base = baseline();
        let now = decide(&self.national, &base.inputs);
        assert!(now == base.decided, "after {after}, the national plug-in decided differently");
    }

    /// Load `bytes` and, if that succeeds, decide one person: the error, or
    /// (as `Err`) the decision it should not have made.
    fn error_of(&self, bytes: &[u8]) -> Result<String, String> {
        let plugin = match self.sandbox.load(bytes) {
            Ok(plugin) => plugin,
            Err(error) => return Ok(format!("load: {error}")),
        };
        let facts = sound_people(1, 1).remove(0).1;
        let input = plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts);
        let evaluation = plugin.evaluate(&input);
        match evaluation.result {
            Ok(output) => Err(format!("decided {} (fuel {})", output.json, evaluation.fuel)),
            Err(error) => Ok(format!("evaluate: {error}")),
        }
    }
}

#[test]
fn the_hand_written_template_is_sound() {
    let bench = Bench::new();
    let plugin = bench.sandbox.load(&Core::sound().component()).unwrap();
    assert_eq!(plugin.description().name, "hostile");
    assert_eq!(plugin.description().programs, ["social-assistance"]);
    let facts = sound_people(1, 1).remove(0).1;
    let e = plugin.evaluate(&plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts));
    let json = e.result.unwrap().json;
    assert_eq!(
        json,
        r#"{"eligible":true,"amount":100000,"category":"elderly_80_no_pension","reasons":[],"explanation":[]}"#
    );
    bench.assert_sound("the sound template");
}

/// Fill `len` bytes at `at` with `byte`, after growing memory to hold them.
fn fill(at: u32, byte: u8, len: u32) -> String {
    format!("{} (memory.fill (i32.const {at}) (i32.const {byte}) (i32.const {len}))", grow_to(at + len))
}

/// Grow memory to hold `bytes`, if it does not already.
fn grow_to(bytes: u32) -> String {
    let pages = bytes.div_ceil(1 << 16);
    format!(
        "(if (i32.lt_u (memory.size) (i32.const {pages})) \
         (then (drop (memory.grow (i32.sub (i32.const {pages}) (memory.size))))))"
    )
}

/// Write `count` copies of the 8-byte pair (`ptr`, `len`) from `at`, after
/// growing memory to hold them: a list of strings, all aliasing one.
fn alias(at: u32, count: u32, ptr: u32, len: u32) -> String {
    format!(
        r#"{grow}
        (local.set $i (i32.const 0))
        (loop $l
          (i32.store (i32.add (i32.const {at}) (i32.shl (local.get $i) (i32.const 3))) (i32.const {ptr}))
          (i32.store (i32.add (i32.const {at4}) (i32.shl (local.get $i) (i32.const 3))) (i32.const {len}))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const {count}))))"#,
        grow = grow_to((at + 8 * count).max(ptr + len)),
        at4 = at + 4,
    )
}

/// An explanation line at 0x400: vi = (`ptr`, `len`), en and citation empty.
fn one_line(ptr: u32, len: u32) -> String {
    format!(
        "(i32.store (i32.const 0x400) (i32.const {ptr})) (i32.store (i32.const 0x404) (i32.const {len})) \
         (call $decision (i32.const 1) (i64.const 100000) (i32.const 0x140) (i32.const 21) \
         (i32.const 0) (i32.const 0) (i32.const 0x400) (i32.const 1))"
    )
}

/// A decision that is eligible for 100,000 with category (`ptr`, `len`) and
/// reasons (`reasons`, `count`).
fn with_category(ptr: u32, len: u32) -> String {
    format!(
        "(call $decision (i32.const 1) (i64.const 100000) (i32.const {ptr}) (i32.const {len}) \
         (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))"
    )
}

/// The contract with one more interface imported by the world (a world that
/// reaches out), in a package of its own declared before it.
fn wit_importing(package: &str, interface: &str, function: &str) -> (String, String) {
    let foreign = format!("package {package};\ninterface {interface} {{ {function} }}\n");
    let rules = rules_wit().replace(
        "world rule-plugin {\n",
        &format!("world rule-plugin {{\n    import {};\n", qualified(package, interface)),
    );
    (foreign, rules)
}

/// `wasi:random@0.2.0` + `random` → `wasi:random/random@0.2.0`.
fn qualified(package: &str, interface: &str) -> String {
    let (name, version) = package.split_once('@').unwrap();
    format!("{name}/{interface}@{version}")
}

/// A plug-in that imports `function` of `interface` from `package` and calls it
/// in `evaluate`, as one that reads the clock, draws a random number, opens a
/// file or a socket would.
fn importing(package: &str, interface: &str, wit_fn: &str, core_import: &str, call: &str) -> Vec<u8> {
    let (foreign, rules) = wit_importing(package, interface, wit_fn);
    let core = Core::evaluate(format!("{call} (call $eligible (i64.const 100000))"))
        .imports(format!("(import \"{}\" {core_import})", qualified(package, interface)));
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_source("foreign.wit", &foreign).unwrap();
    let package = resolve.push_source("rules.wit", &rules).unwrap();
    let world = resolve.select_world(&[package], Some("rule-plugin")).unwrap();
    let mut module = wat::parse_str(core.wat()).unwrap();
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    wit_component::ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap()
}

/// One hostile plug-in and every fragment its error must contain.
struct Hostile {
    name: &'static str,
    bytes: Vec<u8>,
    expect: Vec<String>,
}

fn hostile(name: &'static str, bytes: Vec<u8>, expect: &[&str]) -> Hostile {
    Hostile { name, bytes, expect: expect.iter().map(|s| s.to_string()).collect() }
}

/// What wasmtime says when a plug-in's output is more than the host copies
/// out of it for one call (4 MiB).
const COPY_REFUSED: &str = "evaluate: trapped: too much data is being copied between the host and the guest: fuel allocated for hostcalls has been exhausted";

fn hostile_plugins() -> Vec<Hostile> {
    vec![
        hostile(
            "endless loop in evaluate",
            Core::evaluate("(loop $l (br $l)) (unreachable)").component(),
            &["evaluate: used up its fuel budget of 20000000 units (an endless loop?)"],
        ),
        hostile(
            "recursion without end (the host's wasm stack)",
            Core::evaluate("(drop (call $down (i32.const 0))) (call $eligible (i64.const 1))")
                .with("(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))")
                .component(),
            &["evaluate: overflowed its stack (runaway recursion?)"],
        ),
        hostile(
            "memory growth without end, a page at a time",
            Core::evaluate(
                "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (call $eligible (i64.const 1))",
            )
            .component(),
            &["evaluate: tried to grow its memory beyond the limit of 16777216 bytes"],
        ),
        hostile(
            "memory growth to 4 GiB at once",
            Core::evaluate("(drop (memory.grow (i32.const 65535))) (call $eligible (i64.const 1))").component(),
            &["evaluate: tried to grow its memory beyond the limit of 16777216 bytes"],
        ),
        hostile(
            "a 2 MiB string in the output",
            Core::evaluate(format!("{} {}", fill(0x10000, b'x', 2 << 20), one_line(0x10000, 2 << 20))).component(),
            &["evaluate: returned an invalid decision: output is 2097173 bytes, above the limit of 16384"],
        ),
        hostile(
            // More than the host copies out of a plug-in for one call.
            "an 8 MiB string in the output",
            Core::evaluate(format!("{} {}", fill(0x10000, b'x', 8 << 20), one_line(0x10000, 8 << 20))).component(),
            &[COPY_REFUSED],
        ),
        hostile(
            "a list of 100,000 explanation lines",
            Core::evaluate(format!(
                "{} (call $decision (i32.const 1) (i64.const 100000) (i32.const 0x140) (i32.const 21) \
                 (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 100000))",
                fill(0x10000, 0, 24 * 100_000)
            ))
            .component(),
            &[COPY_REFUSED],
        ),
        hostile(
            "one 8 MiB string aliased 1,000 times in the reasons (8 GiB if copied)",
            Core::evaluate(format!(
                "{} {} (call $decision (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x400) (i32.const 1000) (i32.const 0) (i32.const 0))",
                fill(0x10000, b'x', 8 << 20),
                alias(0x400, 1000, 0x10000, 8 << 20)
            ))
            .component(),
            &[COPY_REFUSED],
        ),
        hostile(
            "JSON escaping takes the output over the limit",
            Core::evaluate(format!("{} {}", fill(0x10000, b'"', 9000), one_line(0x10000, 9000))).component(),
            &["evaluate: returned an invalid decision: output is 18129 bytes, above the limit of 16384"],
        ),
        hostile(
            "more than 16 KiB of explanation in many short lines",
            Core::evaluate(format!(
                "{} (call $decision (i32.const 1) (i64.const 100000) (i32.const 0x140) (i32.const 21) \
                 (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 1000))",
                alias(0x10000, 3000, 0x140, 21)
            ))
            .component(),
            &["evaluate: returned an invalid decision: output is 63021 bytes, above the limit of 16384"],
        ),
        hostile(
            "40,000 empty explanation lines",
            Core::evaluate(format!(
                "{} (call $decision (i32.const 1) (i64.const 100000) (i32.const 0x140) (i32.const 21) \
                 (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 40000))",
                fill(0x10000, 0, 24 * 40_000)
            ))
            .component(),
            &["evaluate: returned an invalid decision: output is 1280097 bytes, above the limit of 16384"],
        ),
        hostile(
            "an amount one đồng above the cap",
            Core::evaluate("(call $eligible (i64.const 100000001))").component(),
            &["evaluate: returned an invalid decision: amount 100000001 is above the limit of 100000000 đồng per month"],
        ),
        hostile(
            // The amount is a u64: "minus 500,000" can only arrive as its two's
            // complement, 2^64 - 500,000, which the cap refuses.
            "a negative amount (-500,000 written into the u64)",
            Core::evaluate("(call $eligible (i64.const -500000))").component(),
            &["evaluate: returned an invalid decision: amount 18446744073709051616 is above the limit of 100000000"],
        ),
        hostile(
            "a contract with a signed amount (s64)",
            Core::evaluate("(call $eligible (i64.const -500000))")
                .wit(rules_wit().replace("amount: u64,", "amount: s64,"))
                .component(),
            &["load: it does not export the contract ansinh:rules/rules@0.1.0 (failed to convert function to given type: type mismatch with results: type mismatch for field amount: expected `u64` found `s64`)"],
        ),
        hostile(
            "eligible for nothing",
            Core::evaluate("(call $eligible (i64.const 0))").component(),
            &["evaluate: returned an invalid decision: eligible with amount 0 (expected a positive monthly amount)"],
        ),
        hostile(
            "eligible without a category",
            Core::evaluate(with_category(0, 0)).component(),
            &["evaluate: returned an invalid decision: eligible without a category"],
        ),
        hostile(
            "an empty category",
            Core::evaluate(with_category(0x140, 0)).component(),
            &["evaluate: returned an invalid decision: category \"\" is not a code (expected 1-64 of a-z, 0-9, _)"],
        ),
        hostile(
            "a category of 65 characters",
            Core::evaluate(format!("{} {}", fill(0x10000, b'a', 65), with_category(0x10000, 65))).component(),
            &["evaluate: returned an invalid decision: category \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is not a code"],
        ),
        hostile(
            "a category that tries SQL",
            Core::evaluate(with_category(0x400, 26)).with(r#"(data (i32.const 0x400) "x'; DROP TABLE payments;--")"#).component(),
            &["evaluate: returned an invalid decision: category \"x'; DROP TABLE payments;--\" is not a code"],
        ),
        hostile(
            "a reason that is not a code",
            Core::evaluate(
                "(i32.store (i32.const 0x400) (i32.const 0x100)) (i32.store (i32.const 0x404) (i32.const 3)) \
                 (i32.store (i32.const 0x408) (i32.const 0x410)) (i32.store (i32.const 0x40c) (i32.const 9)) \
                 (call $decision (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x400) (i32.const 2) (i32.const 0) (i32.const 0))",
            )
            .with(r#"(data (i32.const 0x410) "Not Ready")"#)
            .component(),
            &["evaluate: returned an invalid decision: reason \"Not Ready\" is not a code"],
        ),
        hostile(
            "a panic (unreachable)",
            Core::evaluate("(unreachable)").component(),
            &["evaluate: trapped on `unreachable`: a Rust plug-in panicked or aborted"],
        ),
        hostile(
            "a division by zero",
            Core::evaluate("(drop (i32.div_u (i32.const 1) (i32.sub (local.get $input) (local.get $input)))) (unreachable)")
                .component(),
            &["evaluate: trapped: wasm trap: integer divide by zero"],
        ),
        hostile(
            "a result pointer out of bounds",
            Core::evaluate("(i32.const -8)").component(),
            &["evaluate: trapped: pointer out of bounds of memory"],
        ),
        hostile(
            "a string out of bounds",
            Core::evaluate(with_category(0xfff0, 0x7fff_ffff)).component(),
            &["evaluate: trapped: string pointer/length out of bounds of memory"],
        ),
        hostile(
            "a category that is not UTF-8",
            Core::evaluate(with_category(0x400, 2)).with(r#"(data (i32.const 0x400) "\ff\fe")"#).component(),
            &["evaluate: trapped: invalid utf-8 sequence of 1 bytes from index 0"],
        ),
        hostile(
            "an invalid result case",
            Core::evaluate("(drop (call $eligible (i64.const 1))) (i32.store8 (i32.const 0x300) (i32.const 7)) (i32.const 0x300)").component(),
            &["evaluate: trapped: invalid expected discriminant"],
        ),
        hostile(
            "a list pointer not aligned",
            Core::evaluate(
                "(call $decision (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x401) (i32.const 1) (i32.const 0) (i32.const 0))",
            )
            .component(),
            &["evaluate: trapped: list pointer is not aligned"],
        ),
        hostile(
            "a refusal of 2 MiB",
            Core::evaluate(format!("{} (call $refuse (i32.const 0x10000) (i32.const {}))", fill(0x10000, b'x', 2 << 20), 2 << 20))
                .component(),
            &[&format!("evaluate: refused to decide: {}…", "x".repeat(500))],
        ),
        hostile(
            "an endless loop in cabi_realloc, while the host passes the input",
            Core::sound().realloc("(loop $l (br $l))").component(),
            &["evaluate: used up its fuel budget of 20000000 units"],
        ),
        hostile(
            "cabi_realloc answers out of bounds",
            Core::sound().realloc("(return (i32.const -16))").component(),
            &["evaluate: trapped: realloc return: beyond end of memory"],
        ),
        hostile(
            "an endless loop in post-return",
            Core::sound()
                .with(r#"(func (export "cabi_post_ansinh:rules/rules@0.1.0#evaluate") (param i32) (loop $l (br $l)))"#)
                .component(),
            &["evaluate: used up its fuel budget of 20000000 units (an endless loop?)"],
        ),
        hostile(
            "an endless loop in the start function",
            Core::sound().with("(func $spin (loop $l (br $l))) (start $spin)").component(),
            &["load: its describe() failed: used up its fuel budget of 20000000 units"],
        ),
        hostile(
            "describe panics",
            Core::describe("(unreachable)").component(),
            &["load: its describe() failed: trapped on `unreachable`"],
        ),
        hostile(
            "describe loops",
            Core::describe("(loop $l (br $l)) (unreachable)").component(),
            &["load: its describe() failed: used up its fuel budget of 20000000 units"],
        ),
        hostile(
            "a province scope with a province that is not a code",
            Core::describe(
                "(call $description (i32.const 0x100) (i32.const 7) (i32.const 1) (i32.const 0x400) (i32.const 9) \
                 (i32.const 0x160) (i32.const 1) (i32.const 0) (i32.const 0))",
            )
            .with(r#"(data (i32.const 0x400) "Hà Nội")"#)
            .component(),
            &["load: its describe() is invalid: scope is province, expected a 3-digit province code, found Some(\"Hà Nội\")"],
        ),
        hostile(
            "a national scope with a province",
            Core::describe(
                "(call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0x400) (i32.const 3) \
                 (i32.const 0x160) (i32.const 1) (i32.const 0) (i32.const 0))",
            )
            .with(r#"(data (i32.const 0x400) "001")"#)
            .component(),
            &["load: its describe() is invalid: scope is national but a province is given"],
        ),
        hostile(
            "a description without a name",
            Core::describe(
                "(call $description (i32.const 0x100) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x160) (i32.const 1) (i32.const 0) (i32.const 0))",
            )
            .component(),
            &["load: its describe() is invalid: name (1-64 bytes) and version (1-32 bytes) are required"],
        ),
        hostile(
            "a description without programmes",
            Core::describe(
                "(call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x160) (i32.const 0) (i32.const 0) (i32.const 0))",
            )
            .component(),
            &["load: its describe() is invalid: programs must name at least one programme"],
        ),
        hostile(
            "a description reading a person field that does not exist",
            Core::describe(
                "(call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x160) (i32.const 1) (i32.const 0x400) (i32.const 1))",
            )
            .with(r#"(data (i32.const 0x400) "\c8")"#)
            .component(),
            &["load: its describe() failed: trapped: unexpected discriminant: 200"],
        ),
        hostile(
            "a programme name of 8 MiB aliased 1,000 times",
            Core::describe(format!(
                "{} {} (call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x400) (i32.const 1000) (i32.const 0) (i32.const 0))",
                fill(0x10000, b'x', 8 << 20),
                alias(0x400, 1000, 0x10000, 8 << 20)
            ))
            .component(),
            &["load: its describe() failed: trapped: too much data is being copied between the host and the guest"],
        ),
        hostile(
            "64 MiB of initial memory",
            Core::sound().memory("(memory (export \"memory\") 1024)").component(),
            &["load: it needs more than a decision may have (module memory does not fit in pooling allocator requirements", "memory has a minimum byte size of 67108864 which exceeds the limit of 0x1000000 bytes"],
        ),
        hostile(
            "a data segment beyond the memory limit",
            Core::sound().with(r#"(data (i32.const 0x2000000) "x")"#).component(),
            &["load: its describe() failed: accessed memory out of bounds"],
        ),
        hostile(
            "a table of ten million entries",
            Core::sound().with("(table 10000000 funcref)").component(),
            &["load: it needs more than a decision may have (module table does not fit in pooling allocator requirements", "minimum element size of 10000000 which exceeds the limit of 20000"],
        ),
        hostile(
            "reads the wall clock",
            importing(
                "wasi:clocks@0.2.0",
                "wall-clock",
                "record datetime { seconds: u64, nanoseconds: u32 }\n now: func() -> datetime;",
                "\"now\" (func $now (param i32))",
                "(call $now (i32.const 0x400))",
            ),
            &["load: it imports `wasi:clocks/wall-clock@0.2.0`; a rule plug-in may import nothing"],
        ),
        hostile(
            "draws a random number",
            importing(
                "wasi:random@0.2.0",
                "random",
                "get-random-u64: func() -> u64;",
                "\"get-random-u64\" (func $random (result i64))",
                "(drop (call $random))",
            ),
            &["load: it imports `wasi:random/random@0.2.0`; a rule plug-in may import nothing"],
        ),
        hostile(
            "opens a file",
            importing(
                "wasi:filesystem@0.2.0",
                "types",
                "read-via-stream: func(path: string) -> u32;",
                "\"read-via-stream\" (func $open (param i32 i32) (result i32))",
                "(drop (call $open (i32.const 0x100) (i32.const 7)))",
            ),
            &["load: it imports `wasi:filesystem/types@0.2.0`; a rule plug-in may import nothing"],
        ),
        hostile(
            "opens a socket",
            importing(
                "wasi:sockets@0.2.0",
                "tcp",
                "start-connect: func(address: string, port: u16) -> u32;",
                "\"start-connect\" (func $connect (param i32 i32 i32) (result i32))",
                "(drop (call $connect (i32.const 0x100) (i32.const 7) (i32.const 443)))",
            ),
            &["load: it imports `wasi:sockets/tcp@0.2.0`; a rule plug-in may import nothing"],
        ),
        hostile(
            "calls a host function the contract does not have",
            host_log(),
            &["load: it imports `ansinh:rules/host@0.1.0`; a rule plug-in may import nothing"],
        ),
        hostile(
            "built against the contract 0.2.0",
            Core::sound()
                .wit(rules_wit().replace("package ansinh:rules@0.1.0;", "package ansinh:rules@0.2.0;"))
                .interface("ansinh:rules/rules@0.2.0")
                .component(),
            &["load: it does not export the contract ansinh:rules/rules@0.1.0"],
        ),
        hostile(
            "built against the contract 0.0.9",
            Core::sound()
                .wit(rules_wit().replace("package ansinh:rules@0.1.0;", "package ansinh:rules@0.0.9;"))
                .interface("ansinh:rules/rules@0.0.9")
                .component(),
            &["load: it does not export the contract ansinh:rules/rules@0.1.0"],
        ),
        hostile(
            "evaluate returns a bare decision (wrong signature)",
            Core::evaluate("(drop (call $eligible (i64.const 1))) (i32.const 0x308)")
                .wit(rules_wit().replace(
                    "evaluate: func(input: input) -> result<decision, string>;",
                    "evaluate: func(input: input) -> decision;",
                ))
                .component(),
            &["load: it does not export the contract ansinh:rules/rules@0.1.0 (failed to convert function to given type: type mismatch with results: expected `result` found `record`)"],
        ),
        hostile(
            "the core module of a real plug-in, not made a component",
            std::fs::read(national_core_module()).unwrap(),
            &["load: a core WebAssembly module, not a component"],
        ),
        hostile(
            "a zero-length file",
            Vec::new(),
            &["load: not a WebAssembly file: it starts with nothing (the file is empty)"],
        ),
        hostile(
            "a component-level start function",
            wat::parse_str(COMPONENT_START).unwrap(),
            &["load: not a valid WebAssembly component: failed to parse WebAssembly module: support for component model `value`s is not enabled"],
        ),
        hostile(
            "a component that imports a core module",
            wat::parse_str(r#"(component (import "m" (core module (import "" "memory" (memory 1)))))"#).unwrap(),
            &["load: it imports `m`; a rule plug-in may import nothing"],
        ),
        hostile(
            "a shared memory (threads)",
            wat::parse_str(SHARED_MEMORY).unwrap(),
            &["load: not a valid WebAssembly component: failed to parse WebAssembly module: threads must be enabled for shared memories"],
        ),
        hostile(
            // Each memory alone is within the limit; together they are 512 MiB
            // a decision, and 32 of the pool's memory slots.
            "32 core instances, each with a memory of 256 pages (512 MiB in all)",
            with_core_instances(&Core::sound().memory("(memory (export \"memory\") 256)").component(), "(module (memory 256))", 31),
            &["load: it needs more than a decision may have (The component transitively contains 32 Wasm linear memories, which exceeds the configured maximum of 2 in the pooling allocator)"],
        ),
        hostile(
            "two memories of 144 pages (9 MiB each, 18 MiB together)",
            with_core_instances(&Core::sound().memory("(memory (export \"memory\") 144)").component(), "(module (memory 144))", 1),
            &["load: its memories need more than the limit of 16777216 bytes for all of a decision's memories together"],
        ),
    ]
}

/// `component` with `count` more core instances of `module` (WebAssembly
/// text), in sections appended at its end: instances nothing calls, which the
/// engine makes all the same for every decision, memories included.
fn with_core_instances(component: &[u8], module: &str, count: u32) -> Vec<u8> {
    // Core modules are numbered in the order of their sections.
    let modules = sections(component).filter(|(id, _)| *id == CORE_MODULE_SECTION).count() as u32;
    let mut out = component.to_vec();
    push_section(&mut out, CORE_MODULE_SECTION, &wat::parse_str(module).unwrap());
    let mut instances = leb128(count);
    for _ in 0..count {
        // 0x00: instantiate the module, with no arguments.
        instances.push(0x00);
        instances.extend(leb128(modules));
        instances.push(0x00);
    }
    push_section(&mut out, CORE_INSTANCE_SECTION, &instances);
    out
}

/// Section ids of the component binary format.
const CUSTOM_SECTION: u8 = 0;
const CORE_MODULE_SECTION: u8 = 1;
const CORE_INSTANCE_SECTION: u8 = 2;

/// The top-level sections of a component or module: (id, contents).
fn sections(wasm: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut at = 8; // after the magic and the version
    std::iter::from_fn(move || {
        let id = *wasm.get(at)?;
        let (size, width) = read_leb128(&wasm[at + 1..]);
        let start = at + 1 + width;
        at = start + size as usize;
        Some((id, &wasm[start..at]))
    })
}

fn push_section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    out.extend(leb128(contents.len() as u32));
    out.extend_from_slice(contents);
}

fn leb128(mut n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// An unsigned LEB128 number and the bytes it took.
fn read_leb128(bytes: &[u8]) -> (u32, usize) {
    let mut n = 0u32;
    for (i, b) in bytes.iter().enumerate() {
        n |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (n, i + 1);
        }
    }
    panic!("a LEB128 number runs off the end")
}

/// A component whose own start function calls a lifted core function that loops.
const COMPONENT_START: &str = r#"
(component
  (core module $m (func (export "spin") (loop $l (br $l))))
  (core instance $i (instantiate $m))
  (func $spin (canon lift (core func $i "spin")))
  (start $spin)
)
"#;

/// A component whose core module declares a shared memory, as a threaded one would.
const SHARED_MEMORY: &str = r#"
(component
  (core module $m (memory 1 1 shared))
  (core instance $i (instantiate $m))
)
"#;

/// A plug-in that calls a `log` function of the host, which the contract does not have.
fn host_log() -> Vec<u8> {
    let wit = rules_wit().replace(
        "world rule-plugin {\n",
        "interface host {\n    log: func(message: string);\n}\n\nworld rule-plugin {\n    import host;\n",
    );
    Core::evaluate("(call $log (i32.const 0x100) (i32.const 7)) (call $eligible (i64.const 100000))")
        .imports(r#"(import "ansinh:rules/host@0.1.0" "log" (func $log (param i32 i32)))"#)
        .wit(wit)
        .component()
}

/// The core module `ansinh plugin build` made the national plug-in's component from.
fn national_core_module() -> std::path::PathBuf {
    let component = national_plugin();
    component.parent().unwrap().join("wasm32-unknown-unknown/release/national_social_assistance.wasm")
}

#[test]
fn every_hostile_plugin_is_contained_with_its_own_error() {
    let bench = Bench::new();
    bench.assert_sound("nothing");
    let plugins = hostile_plugins();
    assert!(plugins.len() >= 25, "the issue asks for at least 25 hostile plug-ins, not {}", plugins.len());
    let mut wrong = Vec::new();
    for h in &plugins {
        match bench.error_of(&h.bytes) {
            Ok(error) if h.expect.iter().all(|e| error.contains(e.as_str())) => {
                // Contained the same way the second time: the error is a
                // function of the bytes, not of what ran before.
                assert_eq!(bench.error_of(&h.bytes), Ok(error), "{}", h.name);
            }
            got => wrong.push(format!("{}: expected {:?}, got {got:?}", h.name, h.expect)),
        }
        bench.assert_sound(h.name);
    }
    assert!(
        wrong.is_empty(),
        "{} of {} hostile plug-ins not contained as expected:\n{}",
        wrong.len(),
        plugins.len(),
        wrong.join("\n")
    );
}

/// Fuel is counted for a hostile plug-in as for any other: the same each time.
#[test]
fn a_runaway_uses_exactly_its_budget_and_a_trap_the_same_fuel_each_time() {
    let bench = Bench::new();
    let facts = sound_people(1, 1).remove(0).1;
    let fuel_of = |core: Core| {
        let plugin = bench.sandbox.load(&core.component()).unwrap();
        let input = plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts);
        let (a, b) = (plugin.evaluate(&input), plugin.evaluate(&input));
        assert_eq!(a, b);
        a.fuel
    };
    assert_eq!(fuel_of(Core::evaluate("(loop $l (br $l)) (unreachable)")), Limits::default().fuel);
    let trapped = fuel_of(Core::evaluate(format!("{} (unreachable)", fill(0x10000, b'x', 1000))));
    assert!(trapped > 0 && trapped < 10_000, "{trapped}");
    bench.assert_sound("the runaways");
}

/// Fresh instance per decision: state a plug-in keeps in a global, in its
/// memory, or in the size of its memory, is never seen by the next decision.
#[test]
fn no_state_leaks_from_one_decision_to_the_next() {
    let bench = Bench::new();
    let facts = sound_people(1, 1).remove(0).1;
    let counters = [
        (
            "a global counter",
            Core::evaluate(
                "(global.set $calls (i32.add (global.get $calls) (i32.const 1))) \
                 (call $eligible (i64.add (i64.const 100000) (i64.mul (i64.const 1000) (i64.extend_i32_u (global.get $calls)))))",
            )
            .with("(global $calls (mut i32) (i32.const 0))"),
        ),
        (
            "a counter in linear memory",
            Core::evaluate(
                "(i32.store (i32.const 0x400) (i32.add (i32.load (i32.const 0x400)) (i32.const 1))) \
                 (call $eligible (i64.add (i64.const 100000) (i64.mul (i64.const 1000) (i64.load32_u (i32.const 0x400)))))",
            ),
        ),
        (
            "a counter in a grown page of memory",
            Core::evaluate(
                "(drop (memory.grow (i32.const 1))) \
                 (i32.store (i32.const 0x10400) (i32.add (i32.load (i32.const 0x10400)) (i32.const 1))) \
                 (call $eligible (i64.add (i64.const 100000) (i64.mul (i64.const 1000) \
                   (i64.extend_i32_u (i32.add (i32.load (i32.const 0x10400)) (i32.sub (memory.size) (i32.const 2)))))))",
            ),
        ),
        (
            "a data segment it overwrites",
            Core::evaluate(
                "(i32.store8 (i32.const 0x500) (i32.add (i32.load8_u (i32.const 0x500)) (i32.const 1))) \
                 (call $eligible (i64.add (i64.const 99000) (i64.mul (i64.const 1000) (i64.load8_u (i32.const 0x500)))))",
            )
            .with(r#"(data (i32.const 0x500) "\01")"#),
        ),
    ];
    for (name, core) in counters {
        let plugin = bench.sandbox.load(&core.component()).unwrap();
        let input = plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts);
        for call in 1..=5 {
            // Interleaved with the national plug-in, which reuses the same pool slots.
            let e = plugin.evaluate(&input);
            let output = e.result.unwrap_or_else(|err| panic!("{name}, call {call}: {err}")).output;
            assert_eq!(output.amount, 101_000, "{name}: call {call} saw state from an earlier decision");
            bench.assert_sound(name);
        }
    }
}

/// A small deterministic generator (SplitMix64), so that a failure names a
/// seed that reproduces it.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn truncated_and_random_bytes_are_refused_cleanly() {
    let bench = Bench::new();
    let national = &baseline().national;
    // Every prefix length up to 64 bytes, then 200 spread over the whole file.
    let lengths = (0..64).chain((1..200).map(|i| i * national.len() / 200));
    for len in lengths {
        let error = bench.sandbox.load(&national[..len]).expect_err("a truncated plug-in must be refused").to_string();
        let expected = match len {
            0 => "not a WebAssembly file: it starts with nothing (the file is empty)".to_owned(),
            1..4 => format!("not a WebAssembly file: it starts with {}", hex_head(&national[..len])),
            // The header alone is an empty component.
            8 => format!("it does not export the contract {CONTRACT}"),
            _ => "not a valid WebAssembly component: ".to_owned(),
        };
        assert!(error.starts_with(&expected), "{len} bytes: {error}");
    }
    bench.assert_sound("truncated plug-ins");

    let mut rng = SplitMix(2026);
    for round in 0..200 {
        let len = 1 + rng.below(4096);
        let mut bytes = rng.bytes(len);
        if round % 2 == 1 {
            // Past the magic and the component's version: the parser must refuse it.
            bytes.splice(0..0, *b"\0asm\x0d\x00\x01\x00");
        }
        let error = bench.sandbox.load(&bytes).expect_err("random bytes must be refused").to_string();
        let expected = if bytes.starts_with(b"\0asm") {
            "not a valid WebAssembly component: ".to_owned()
        } else {
            format!("not a WebAssembly file: it starts with {},", hex_head(&bytes))
        };
        assert!(error.starts_with(&expected), "round {round}: {error}");
    }
    bench.assert_sound("random bytes");
}

fn hex_head(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// What `cargo fuzz run loader` does, bounded and seeded, so that every test
/// run goes through the loader with mutated components: flipped, overwritten,
/// inserted and removed bytes of valid ones. Each must load or be refused; a
/// panic fails the test and names the case.
#[test]
fn mutated_components_load_or_are_refused_without_panicking() {
    let limits = Limits { fuel: 2_000_000, ..Limits::default() };
    let sandbox = Sandbox::new(limits, None).unwrap();
    let seeds = [
        Core::sound().component(),
        Core::evaluate(format!("{} {}", fill(0x10000, b'x', 100), one_line(0x10000, 100))).component(),
    ];
    let mut rng = SplitMix(20_261_125);
    let (mut loaded, mut refused) = (0, 0);
    for case in 0..2000 {
        let mut bytes = seeds[case % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next() as u8,
                2 => bytes.insert(at, rng.next() as u8),
                _ => drop(bytes.remove(at)),
            }
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match sandbox.load(&bytes) {
            Ok(plugin) => {
                let facts = sound_people(1, 1).remove(0).1;
                let input = plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts);
                let _ = plugin.evaluate(&input);
                true
            }
            Err(_) => false,
        }));
        match outcome {
            Ok(true) => loaded += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("mutation {case} (seed 20261125) panicked the loader: {}", hex::encode(&bytes)),
        }
    }
    assert!(refused > 0 && loaded > 0, "loaded {loaded}, refused {refused}: the mutations should do both");
}

/// `plugin test` cases for any plug-in: `count` people aged 84, which the
/// sound template decides as expected.
fn cases_file(dir: &std::path::Path, count: usize) -> std::path::PathBuf {
    let mut yaml = String::new();
    for i in 1..=count {
        yaml.push_str(&format!(
            "- name: person {i}\n  period: 2024-09\n  program: social-assistance\n  province: \"001\"\n  verified: true\n  \
             person: {{ birth_date: 1940-05-12, sex: female, residence_province: \"001\" }}\n  \
             expect: {{ eligible: true, amount: 100000, category: elderly_80_no_pension }}\n"
        ));
    }
    let path = dir.join("cases.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The host's memory stays bounded whatever a plug-in does. Bound: a sound
/// plug-in's own peak (engine, compiler, compiled code, one instance) plus
/// 48 MiB, which covers a plug-in's whole linear memory (16 MiB), what the
/// host copies out of it for one call (4 MiB, twice over for the lifted
/// values and allocator slack) and the refused output measured in between;
/// repeating the misbehaviour 40 times must not add to it (nothing is kept).
/// Before the 4 MiB copy limit, the aliased-string plug-in alone could make
/// the host copy 128 MiB per decision (wasmtime's default).
#[test]
fn host_memory_stays_bounded_under_the_worst_plugins() {
    const MARGIN_KIB: i64 = 48 << 10;
    let dir = tempfile::tempdir().unwrap();
    let cases = cases_file(dir.path(), 40);
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let sound = write("sound", Core::sound().component());
    let (code, said, baseline) =
        run_measured(support::ansinh().args(["plugin", "test", "--plugin"]).arg(&sound).arg(&cases));
    assert_eq!((code, said.lines().last()), (0, Some("40 passed, 0 failed")), "{said}");

    let runs = [
        (
            "memory growth without end",
            Core::evaluate("(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (unreachable)"),
            "tried to grow its memory beyond the limit of 16777216 bytes",
        ),
        (
            "a 2 MiB string in the output",
            Core::evaluate(format!("{} {}", fill(0x10000, b'x', 2 << 20), one_line(0x10000, 2 << 20))),
            "output is 2097173 bytes, above the limit of 16384",
        ),
        (
            "an 8 MiB string aliased 1,000 times",
            Core::evaluate(format!(
                "{} {} (call $decision (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x400) (i32.const 1000) (i32.const 0) (i32.const 0))",
                fill(0x10000, b'x', 8 << 20),
                alias(0x400, 1000, 0x10000, 8 << 20)
            )),
            "too much data is being copied between the host and the guest",
        ),
        (
            "a refusal of 2 MiB",
            Core::evaluate(format!(
                "{} (call $refuse (i32.const 0x10000) (i32.const {}))",
                fill(0x10000, b'x', 2 << 20),
                2 << 20
            )),
            "refused to decide: xxxxxxxxxx",
        ),
    ];
    let mut peaks = vec![format!("sound: {baseline} KiB")];
    for (name, core, error) in runs {
        let plugin = write("hostile", core.component());
        let (code, said, peak) =
            run_measured(support::ansinh().args(["plugin", "test", "--plugin"]).arg(&plugin).arg(&cases));
        assert_eq!(code, 1, "{name}: every case fails, the command does not crash:\n{said}");
        assert_eq!(said.lines().filter(|l| l.contains(error)).count(), 40, "{name}:\n{said}");
        assert_eq!(said.lines().last(), Some("0 passed, 40 failed"), "{name}");
        peaks.push(format!("{name}: {peak} KiB"));
        assert!(peak < baseline + MARGIN_KIB, "{name}: peak {peak} KiB, bound {} KiB", baseline + MARGIN_KIB);
    }
    let refusals = [
        (
            "64 MiB of initial memory",
            Core::sound().memory("(memory (export \"memory\") 1024)"),
            "memory has a minimum byte size of 67108864",
        ),
        (
            "a programme name of 8 MiB aliased 1,000 times",
            Core::describe(format!(
                "{} {} (call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) \
                 (i32.const 0x400) (i32.const 1000) (i32.const 0) (i32.const 0))",
                fill(0x10000, b'x', 8 << 20),
                alias(0x400, 1000, 0x10000, 8 << 20)
            )),
            "too much data is being copied between the host and the guest",
        ),
    ];
    for (name, core, error) in refusals {
        let plugin = write("refused", core.component());
        let (code, said, peak) = run_measured(support::ansinh().args(["plugin", "inspect"]).arg(&plugin));
        assert_eq!(code, 1, "{name}:\n{said}");
        assert!(said.contains("refused.wasm") && said.contains(error), "{name}:\n{said}");
        peaks.push(format!("{name}: {peak} KiB"));
        assert!(peak < baseline + MARGIN_KIB, "{name}: peak {peak} KiB, bound {} KiB", baseline + MARGIN_KIB);
    }
    println!("peak resident memory of `ansinh`: {}", peaks.join("; "));
}

/// `ansinh plugin inspect` refuses what the sandbox refuses, naming the file and the reason.
#[test]
fn inspect_names_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let all = hostile_plugins();
    for name in [
        "draws a random number",
        "built against the contract 0.2.0",
        "a contract with a signed amount (s64)",
        "a province scope with a province that is not a code",
        "a zero-length file",
    ] {
        let h = all.iter().find(|h| h.name == name).unwrap();
        let path = dir.path().join("suspect.wasm");
        std::fs::write(&path, &h.bytes).unwrap();
        let said = support::fails(support::ansinh().args(["plugin", "inspect"]).arg(&path));
        assert!(said.contains("loading the plug-in") && said.contains("suspect.wasm"), "{name}: {said}");
        for expected in &h.expect {
            assert!(said.contains(expected.trim_start_matches("load: ")), "{name}: expected {expected:?} in {said}");
        }
    }
}

/// A plug-in that turns floating-point operations into NaNs and returns the
/// bits of each as a reason code, `nan_` and the bits in hex (16 digits for an
/// f64, 8 for an f32): 0/0, √-1, ∞-∞, a signalling NaN with a payload plus
/// zero, the minimum of a negative NaN with a payload and 1, an f32 NaN with a
/// payload promoted, the nearest integer of a NaN with a payload, 0/0 in a SIMD
/// lane; then, as f32, 0/0 and a negative NaN with a payload demoted. Without
/// NaN canonicalisation their bits depend on the processor (x86 gives
/// 0xfff8000000000000 for 0/0, ARM 0x7ff8000000000000; payloads propagate or
/// not); with it, every one is the canonical NaN. Every operand goes through a
/// mutable global, so that nothing is folded at compile time.
fn nan_core() -> Core {
    Core::evaluate("(call $nans (local.get $input))").with(
        r#"(global $z (mut i64) (i64.const 0))
  (func $hex (param $at i32) (param $bits i64) (param $digits i32) (local $i i32) (local $d i32)
    (i32.store (local.get $at) (i32.const 0x5f6e616e)) ;; "nan_"
    (loop $l
      (local.set $d (i32.wrap_i64 (i64.and (i64.shr_u (local.get $bits)
        (i64.extend_i32_u (i32.shl (i32.sub (i32.sub (local.get $digits) (i32.const 1)) (local.get $i)) (i32.const 2))))
        (i64.const 15))))
      (i32.store8 (i32.add (i32.add (local.get $at) (i32.const 4)) (local.get $i))
        (i32.add (local.get $d) (select (i32.const 0x30) (i32.const 0x57) (i32.lt_u (local.get $d) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $digits)))))
  ;; Reason n: its text at 0x400 + 32n, its (ptr, len) at 0x800 + 8n.
  (func $reason (param $n i32) (param $bits i64) (param $digits i32) (local $at i32)
    (local.set $at (i32.add (i32.const 0x400) (i32.shl (local.get $n) (i32.const 5))))
    (call $hex (local.get $at) (local.get $bits) (local.get $digits))
    (i32.store (i32.add (i32.const 0x800) (i32.shl (local.get $n) (i32.const 3))) (local.get $at))
    (i32.store (i32.add (i32.const 0x804) (i32.shl (local.get $n) (i32.const 3))) (i32.add (i32.const 4) (local.get $digits))))
  (func $r64 (param $n i32) (param $x f64) (call $reason (local.get $n) (i64.reinterpret_f64 (local.get $x)) (i32.const 16)))
  (func $r32 (param $n i32) (param $x f32)
    (call $reason (local.get $n) (i64.extend_i32_u (i32.reinterpret_f32 (local.get $x))) (i32.const 8)))
  (func $f64 (param $bits i64) (result f64) (f64.reinterpret_i64 (i64.or (local.get $bits) (global.get $z))))
  (func $f32 (param $bits i32) (result f32)
    (f32.reinterpret_i32 (i32.or (local.get $bits) (i32.wrap_i64 (global.get $z)))))
  (func $nans (param $input i32) (result i32)
    (global.set $z (i64.extend_i32_u (i32.sub (local.get $input) (local.get $input))))
    (call $r64 (i32.const 0) (f64.div (call $f64 (i64.const 0)) (call $f64 (i64.const 0))))
    (call $r64 (i32.const 1) (f64.sqrt (call $f64 (i64.const 0xbff0000000000000))))
    (call $r64 (i32.const 2) (f64.sub (call $f64 (i64.const 0x7ff0000000000000)) (call $f64 (i64.const 0x7ff0000000000000))))
    (call $r64 (i32.const 3) (f64.add (call $f64 (i64.const 0x7ff0000000000001)) (call $f64 (i64.const 0))))
    (call $r64 (i32.const 4) (f64.min (call $f64 (i64.const 0xfff8000000000abc)) (call $f64 (i64.const 0x3ff0000000000000))))
    (call $r64 (i32.const 5) (f64.promote_f32 (call $f32 (i32.const 0x7f800001))))
    (call $r64 (i32.const 6) (f64.nearest (call $f64 (i64.const 0x7ff4000000000abc))))
    (call $r64 (i32.const 7) (f64x2.extract_lane 0
      (f64x2.div (f64x2.splat (call $f64 (i64.const 0))) (f64x2.splat (call $f64 (i64.const 0))))))
    (call $r32 (i32.const 8) (f32.div (call $f32 (i32.const 0)) (call $f32 (i32.const 0))))
    (call $r32 (i32.const 9) (f32.demote_f64 (call $f64 (i64.const 0xfff8000000000abc))))
    (call $decision (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0x800) (i32.const 10) (i32.const 0) (i32.const 0)))"#,
    )
}

/// What [`nan_core`] must decide everywhere: every NaN canonical.
fn canonical_nans() -> String {
    let reasons: Vec<String> = std::iter::repeat_n("\"nan_7ff8000000000000\"", 8)
        .chain(std::iter::repeat_n("\"nan_7fc00000\"", 2))
        .map(str::to_owned)
        .collect();
    format!(r#"{{"eligible":false,"amount":0,"category":null,"reasons":[{}],"explanation":[]}}"#, reasons.join(","))
}

/// NaN canonicalisation: a plug-in that makes NaNs whose bits differ by
/// processor (and by payload) gets the canonical NaN every time, so that its
/// output is the same on every run and machine. The bits are asserted as
/// literals, the machine-independent values, not compared with this machine's.
#[test]
fn nan_bit_patterns_are_canonical_on_every_run() {
    let bench = Bench::new();
    let plugin = bench.sandbox.load(&nan_core().component()).unwrap();
    let facts = sound_people(1, 1).remove(0).1;
    let input = plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts);
    let first = plugin.evaluate(&input);
    assert_eq!(first.result.as_ref().map(|o| o.json.as_str()), Ok(canonical_nans().as_str()));
    for _ in 0..5 {
        assert_eq!(plugin.evaluate(&input), first, "a second run differs");
    }
    // A second engine, which compiles the plug-in again.
    let other = Sandbox::new(Limits::default(), None).unwrap();
    assert_eq!(other.load(&nan_core().component()).unwrap().evaluate(&input), first, "another engine differs");
    bench.assert_sound("the NaNs");
}

/// A plug-in that counts down from a million before it answers: a few
/// milliseconds, so that when many threads decide with it, most of them hold
/// an instance at the same moment, whatever the machine.
fn slow_core() -> Core {
    Core::evaluate(
        "(local.set $i (i32.const 1000000)) \
         (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i))) \
         (call $eligible (i64.const 100000))",
    )
}

/// More threads than the pool has instance slots (64): none fails for want of
/// a slot, and each gets exactly the outputs and fuel of one thread alone: the
/// national plug-in over the sound people, a slow plug-in that keeps instances
/// busy, and the NaN plug-in.
#[test]
fn ninety_six_threads_on_one_sandbox_decide_as_one_thread_does() {
    const THREADS: usize = 96;
    const ROUNDS: usize = 3;
    let bench = Bench::new();
    let base = baseline();
    let slow = bench.sandbox.load(&slow_core().component()).unwrap();
    let nan = bench.sandbox.load(&nan_core().component()).unwrap();
    let facts = sound_people(1, 1).remove(0).1;
    let input = slow.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts);
    let (slow_once, nan_once) = (once_of(&slow, &input), once_of(&nan, &input));
    assert!(slow_once.0.is_ok(), "{slow_once:?}");
    assert_eq!(nan_once.0.as_deref(), Ok(canonical_nans().as_str()));

    let start = std::sync::Barrier::new(THREADS);
    let (decided, wrong) = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (bench, start, input) = (&bench, &start, &input);
                let (slow, nan, slow_once, nan_once) = (&slow, &nan, &slow_once, &nan_once);
                s.spawn(move || {
                    let mut wrong = Vec::new();
                    let mut check =
                        |what: String, got: (Result<String, String>, u64), expected: &(Result<String, String>, u64)| {
                            if got != *expected {
                                wrong.push(format!("thread {t}, {what}: {got:?}, one thread: {expected:?}"));
                            }
                        };
                    start.wait();
                    for round in 0..ROUNDS {
                        check(format!("round {round}, slow"), once_of(slow, input), slow_once);
                        // Each thread starts at another person, so that all kinds of decision overlap.
                        for k in 0..base.inputs.len() {
                            let i = (t + k) % base.inputs.len();
                            let e = bench.national.evaluate(&base.inputs[i]);
                            let got = (e.result.map(|o| o.json).map_err(|e| e.to_string()), e.fuel);
                            check(format!("round {round}, person {i}"), got, &base.decided[i]);
                        }
                        check(format!("round {round}, NaNs"), once_of(nan, input), nan_once);
                    }
                    wrong
                })
            })
            .collect();
        let wrong: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        (THREADS * ROUNDS * (base.inputs.len() + 2), wrong)
    });
    assert!(
        wrong.is_empty(),
        "{} of {decided} decisions on {THREADS} threads differ from one thread's; the first:\n{}",
        wrong.len(),
        wrong.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    bench.assert_sound("96 threads");
}

/// One decision's (canonical JSON or error, fuel).
fn once_of(plugin: &Plugin, input: &DecisionInput) -> (Result<String, String>, u64) {
    decide(plugin, std::slice::from_ref(input)).remove(0)
}

/// The memory limit is per decision: all of a decision's memories count
/// together, at instantiation and when they grow, and a component with more
/// memories than a decision may have is refused at load, before it runs.
#[test]
fn a_decisions_memories_count_together() {
    let bench = Bench::new();
    let all = hostile_plugins();
    for name in [
        "32 core instances, each with a memory of 256 pages (512 MiB in all)",
        "two memories of 144 pages (9 MiB each, 18 MiB together)",
    ] {
        let h = all.iter().find(|h| h.name == name).unwrap();
        let error = match bench.sandbox.load(&h.bytes) {
            Ok(plugin) => panic!("{name}: loaded ({:?}), expected {:?}", plugin.description(), h.expect),
            Err(error) => format!("load: {error}"),
        };
        assert!(h.expect.iter().all(|e| error.contains(e.as_str())), "{name}: expected {:?}, got {error}", h.expect);
    }
    // A second memory that grows (in its start function, at instantiation) into
    // what the first one leaves: 9 MiB + 64 KiB, then 8.9 MiB more.
    let grows = with_core_instances(
        &Core::sound().memory("(memory (export \"memory\") 144)").component(),
        "(module (memory 1) (func $grow (drop (memory.grow (i32.const 143)))) (start $grow))",
        1,
    );
    let error = bench.sandbox.load(&grows).map(|p| format!("{p:?}")).expect_err("two memories of 18 MiB together");
    assert!(
        error.to_string().contains(
            "its memories need more than the limit of 16777216 bytes for all of a decision's memories together"
        ),
        "{error}"
    );
    // Two small memories are within the limits: such a plug-in loads and decides.
    let small = with_core_instances(&Core::sound().component(), "(module (memory 1))", 1);
    let plugin = bench.sandbox.load(&small).unwrap();
    let facts = sound_people(1, 1).remove(0).1;
    let e = plugin.evaluate(&plugin.input("2024-09".parse().unwrap(), "social-assistance", "001", true, &facts));
    assert!(e.result.is_ok(), "{:?}", e.result);
    bench.assert_sound("many memories");
}

/// A core module with one proposal the contract does not need, in a component.
fn using(proposal: &str) -> Vec<u8> {
    wat::parse_str(format!("(component (core module $m {proposal}) (core instance (instantiate $m)))"))
        .unwrap_or_else(|e| panic!("{e}\n{proposal}"))
}

/// The WebAssembly proposals past 2.0 that no plug-in needs are switched off:
/// a component using any of them is refused at load as not valid, naming the
/// proposal. Types, memories and tags are refused by the parser; an
/// instruction when its function is validated, which wasmtime does as it
/// compiles. (Extended constant expressions stay: the Python plug-in's
/// dynamically linked libraries need them.)
#[test]
fn proposals_the_contract_does_not_need_are_switched_off() {
    const PARSER: &str = "not a valid WebAssembly component: failed to parse WebAssembly module: ";
    const VALIDATOR: &str = "not a valid WebAssembly component: failed to compile: ";
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let proposals = [
        ("memory64", "(memory i64 1)", PARSER, "memory64 must be enabled for 64-bit memories"),
        ("multi-memory", "(memory 1) (memory 1)", PARSER, "multiple memories"),
        ("threads", "(memory 1 1 shared)", PARSER, "threads must be enabled for shared memories"),
        ("GC", "(type (struct (field i32)))", PARSER, "struct indexed types not supported without the gc feature"),
        (
            "function references",
            "(type $f (func)) (func (param (ref null $f)))",
            PARSER,
            "function references required for index reference types",
        ),
        ("exceptions", "(tag $e) (func (throw $e))", PARSER, "exceptions proposal not enabled"),
        (
            "custom page sizes",
            "(memory 1 (pagesize 1))",
            PARSER,
            "the custom page sizes proposal must be enabled to customize a memory's page size",
        ),
        ("tail calls", "(func $f (return_call $f))", VALIDATOR, "tail calls support is not enabled"),
        (
            "relaxed SIMD",
            "(func (result v128) (i32x4.relaxed_trunc_f32x4_s (v128.const i32x4 0 0 0 0)))",
            VALIDATOR,
            "relaxed SIMD support is not enabled",
        ),
        (
            "wide arithmetic",
            "(func (result i64 i64) (i64.add128 (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)))",
            VALIDATOR,
            "wide arithmetic support is not enabled",
        ),
    ];
    let mut wrong = Vec::new();
    for (name, wat, prefix, says) in proposals {
        match sandbox.load(&using(wat)) {
            Ok(_) => wrong.push(format!("{name}: loaded")),
            Err(error) => {
                let error = error.to_string();
                if !(error.starts_with(prefix) && error.contains(says)) {
                    wrong.push(format!("{name}: {error}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "not refused as switched off:\n{}", wrong.join("\n"));
}

/// A plug-in of 100 MB is refused on its size, before it is hashed, parsed or
/// compiled, by the sandbox and so by every command that loads one. This one
/// is a sound plug-in with a 100 MB custom section, which the engine would
/// otherwise skip and load.
#[test]
fn a_plugin_of_100_mb_is_refused_before_it_is_compiled() {
    let mut bytes = Core::sound().component();
    let mut padding = leb128(7);
    padding.extend_from_slice(b"padding");
    padding.resize(100 << 20, 0);
    push_section(&mut bytes, CUSTOM_SECTION, &padding);
    let expected = format!("it is {} bytes, above the limit of 33554432 bytes (32 MiB) for a plug-in", bytes.len());

    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let error = sandbox.load(&bytes).map(|p| format!("{p:?}")).expect_err("100 MB");
    assert!(error.to_string().starts_with(&expected), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.wasm");
    std::fs::write(&path, &bytes).unwrap();
    let said = support::fails(support::ansinh().args(["plugin", "inspect"]).arg(&path));
    assert!(said.contains("big.wasm") && said.contains(&expected), "{said}");
}

/// What a hostile plug-in says to steer an approver's terminal: up four lines,
/// clear the line, and write a total of its own on a line of its own.
const STEERING: &str = "\x1b[4A\x1b[2KTo pay: 1 VND\n";

/// A plug-in that reads `birth-date` and decides people born in 1950 or
/// before (the cases' person, 1940) soundly, and refuses everyone younger
/// with [`STEERING`] as its message: so it can be released, and then speaks
/// in a run's report. Input layout (canonical ABI): period@0, program@4,
/// province@12, person@20 = birth-date option (tag@20, year@22).
fn steering_plugin() -> Vec<u8> {
    let steering = STEERING.bytes().map(|b| format!("\\{b:02x}")).collect::<String>();
    Core {
        describe: "(call $description (i32.const 0x100) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 0) \
                   (i32.const 0x160) (i32.const 1) (i32.const 0x190) (i32.const 1))"
            .into(),
        evaluate: format!(
            "(if (result i32) (i32.gt_u (i32.load16_u (i32.add (local.get $input) (i32.const 22))) (i32.const 1950)) \
             (then (call $refuse (i32.const 0x400) (i32.const {len}))) (else {SOUND_EVALUATE}))",
            len = STEERING.len()
        )
        .into(),
        extra: format!(
            r#"(data (i32.const 0x190) "\00") ;; reads: [birth-date], the first person-field
            (data (i32.const 0x400) "{steering}")"#
        )
        .into(),
        ..Core::sound()
    }
    .component()
}

/// Issue 12, item 5: escape codes from a plug-in, a file or a person reach no
/// terminal raw. The plug-in's message is listed by `run show` (plug-in
/// errors) and by `run diff` (candidate errors) with every control character
/// escaped, and the report's own "To pay" line stays the only one; a name with
/// an escape code is refused as an account's name, naming the character.
fn escape_codes_reach_no_terminal(t: support::Driver) {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("steering.wasm");
    std::fs::write(&plugin, steering_plugin()).unwrap();
    let (registry, enrolment) = t.population(12, 60, "2024-09");
    t.import(&registry, &enrolment);
    t.release(&plugin, &cases_file(dir.path(), 1), "national", "2021-07");
    let run = t.create_run("2024-09");
    t.evaluate(&run);
    let escaped = r"\u{1b}[4A\u{1b}[2KTo pay: 1 VND\u{a}";

    let shown = support::stdout(&support::ok(t.cli().args(["run", "show", &run])));
    assert!(!shown.contains('\x1b'), "an escape code reached the terminal:\n{shown}");
    assert!(shown.contains(&format!("× refused to decide: {escaped}")), "{shown}");
    let to_pay: Vec<&str> = shown.lines().filter(|l| l.starts_with("To pay:")).collect();
    assert_eq!(to_pay.len(), 1, "the plug-in wrote a line of its own:\n{shown}");
    assert!(!to_pay[0].starts_with("To pay: 1 VND"), "{shown}");

    // The same plug-in as a candidate over the run: its messages as listed.
    let diff = support::stdout(&support::ok(t.cli().args(["run", "diff", &run, "--plugin"]).arg(&plugin)));
    assert!(!diff.contains('\x1b') && diff.contains(escaped), "{diff}");

    // An account's name: refused, not escaped, and not echoed raw either.
    let fresh = support::Driver::new(t.backend);
    let said = support::fails(fresh.bare().args(["accounts", "init", "Lan\x1b[2K"]));
    assert!(!said.contains('\x1b'), "{said}");
    assert!(said.contains(r"Lan\u{1b}[2K has U+001B at character 4"), "{said}");
    assert_eq!(fresh.scalar("SELECT COUNT(*) FROM accounts"), 0);
}

on_both_backends!(escape_codes_reach_no_terminal);
