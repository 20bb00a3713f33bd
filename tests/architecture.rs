//! Architecture invariants checked by reading the source (ARCHITECTURE.md).
//!
//! **No circle between modules.** In `host/src` (the crate `ansinh`) and
//! `host/sandbox/src` (`ansinh-sandbox`), a module (a file) depends on another
//! when it names it or anything in it: a `use`, a re-export, or a path in code
//! (`crate::…`, `super::…`, `self::…`, or a child module's name). A module
//! declaring its children (`mod x;`) is ownership, not dependence. The graph
//! of those dependences must have no cycle, so that each module can be read,
//! tested and moved with only what is below it. Nor may the folders: taking a
//! top-level module with everything under it as one (`run`, `store`, `trail`),
//! they form layers too, and ARCHITECTURE.md's code map lists them in their
//! order, lowest first: each uses only those listed before it.
//!
//! The source is read as Rust tokens (comments dropped, strings opaque), so a
//! path written in a comment or a message is not a dependence, while one inside
//! a macro's arguments is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::support::workspace;

/// The crates checked: their source roots.
const CRATES: &[&str] = &["host/src", "host/sandbox/src"];

#[test]
fn no_module_depends_on_itself_through_others() {
    for root in CRATES {
        let graph = Graph::read(&workspace().join(root));
        assert!(graph.modules.len() > 5, "{root}: only {:?}", graph.modules.keys());
        for (what, graph) in [("modules", &graph), ("top-level modules", &graph.top_level())] {
            let cycles = graph.cycles();
            assert!(
                cycles.is_empty(),
                "{root}: {what} that depend on themselves through others (each line a cycle):\n  {}",
                cycles.iter().map(|c| c.join(" → ")).collect::<Vec<_>>().join("\n  ")
            );
        }
    }
}

#[test]
fn the_code_map_lists_the_host_layers_lowest_first() {
    let map = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).unwrap();
    let listed = host_layers(&map);
    let graph = Graph::read(&workspace().join("host/src")).top_level();
    let modules: BTreeSet<&String> = graph.modules.keys().filter(|m| *m != "lib").collect();
    assert_eq!(listed.iter().collect::<BTreeSet<_>>(), modules, "ARCHITECTURE.md's code map and host/src differ");
    for (at, module) in listed.iter().enumerate() {
        for used in &graph.modules[module] {
            let place = listed.iter().position(|m| m == used).unwrap_or_else(|| panic!("{used} is not listed"));
            assert!(
                place < at,
                "ARCHITECTURE.md lists `{module}` before `{used}`, which it uses: list them in their order, or \
                 break the dependence"
            );
        }
    }
}

/// The host's top-level modules as the code map lists them: the bullets after
/// the paragraph on `host/`, up to the next paragraph.
fn host_layers(map: &str) -> Vec<String> {
    let start = map.find("**`host/`**").expect("ARCHITECTURE.md has a paragraph on host/");
    map[start..]
        .lines()
        .skip(1)
        .skip_while(|line| !line.starts_with("- `"))
        .take_while(|line| !line.starts_with("**"))
        .filter_map(|line| line.strip_prefix("- `"))
        .map(|line| line.split('`').next().unwrap().trim_end_matches('/').trim_end_matches(".rs").to_owned())
        .collect()
}

#[test]
fn the_reader_sees_every_kind_of_dependence() {
    let dir = tempfile::tempdir().unwrap();
    let file = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    file("lib.rs", "mod a; mod b; mod c; mod d; mod e;");
    file("a/mod.rs", "mod x; pub use x::f; // crate::d::f in a comment is nothing\nconst S: &str = \"crate::d\";");
    file("a/x.rs", "use super::super::b::{self, g as h}; fn f() { crate::c::z(); }");
    file("b.rs", "pub(super) fn g() { m!(crate::c::z); } mod tests { use super::*; use crate::d; }");
    file("c.rs", "use crate::{a::x::f, d};");
    file("d.rs", "pub(crate) fn f(b: u8) { let c = b; }");
    // Through a module imported by name, renamed or not.
    file("e.rs", "use crate::a::{self as q}; use crate::{b, c as r}; fn f() { q::x::f(); b::g(); r::z(); }");
    let graph = Graph::read(dir.path());
    let edges = |m: &str| graph.modules[m].iter().cloned().collect::<Vec<_>>();
    assert_eq!(edges("a"), ["a/x"]);
    assert_eq!(edges("a/x"), ["b", "c"]);
    assert_eq!(edges("b"), ["c", "d"]);
    assert_eq!(edges("c"), ["a/x", "d"]);
    assert!(edges("d").is_empty());
    assert_eq!(edges("e"), ["a", "a/x", "b", "c"]);
    // a/x → c → a/x, and a/x → b → c → a/x: one group, its shortest cycle.
    assert_eq!(graph.cycles(), [vec!["a/x", "c", "a/x"]]);
    // As folders: a (a/x) → c → a.
    assert_eq!(graph.top_level().cycles(), [vec!["a", "c", "a"]]);
}

/// Each module (a file, named by its path without `.rs` or `/mod.rs`; the
/// crate root is `lib`) with the modules it depends on.
struct Graph {
    modules: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn read(root: &Path) -> Graph {
        let mut files = Vec::new();
        walk(root, &mut files);
        let names: BTreeMap<Vec<String>, String> = files.iter().map(|f| (segments(root, f), name(root, f))).collect();
        let mut modules = BTreeMap::new();
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let tokens = TokenStream::from_str(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            let here = segments(root, path);
            let mut found = Vec::new();
            let mut reader = Reader { names: &names, found: &mut found, aliases: BTreeMap::new() };
            reader.stream(tokens, &here);
            let me = name(root, path);
            let uses = found.into_iter().filter(|m| *m != me).collect();
            modules.insert(me, uses);
        }
        Graph { modules }
    }

    /// The graph of top-level modules, each with everything under it.
    fn top_level(&self) -> Graph {
        let top = |m: &str| m.split('/').next().unwrap().to_owned();
        let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, uses) in &self.modules {
            let entry = modules.entry(top(m)).or_default();
            entry.extend(uses.iter().map(|u| top(u)).filter(|u| *u != top(m)));
        }
        Graph { modules }
    }

    /// One cycle for each group of modules that depend on each other (a
    /// strongly connected component of two or more): the shortest from the
    /// group's first module in name order back to it.
    fn cycles(&self) -> Vec<Vec<String>> {
        let reach: BTreeMap<&String, BTreeSet<&String>> = self.modules.keys().map(|m| (m, self.reachable(m))).collect();
        let mut cycles = Vec::new();
        let mut done = BTreeSet::new();
        for start in self.modules.keys() {
            if done.contains(start) || !reach[start].contains(start) {
                continue;
            }
            let group: BTreeSet<&String> = reach[start].iter().copied().filter(|m| reach[*m].contains(start)).collect();
            done.extend(group.iter().map(|m| (*m).clone()));
            cycles.push(self.shortest_cycle(start, &group));
        }
        cycles
    }

    /// The modules `from` depends on, directly or through others.
    fn reachable(&self, from: &String) -> BTreeSet<&String> {
        let mut seen = BTreeSet::new();
        let mut queue: Vec<&String> = self.modules[from].iter().collect();
        while let Some(m) = queue.pop() {
            if seen.insert(m) {
                queue.extend(self.modules[m].iter());
            }
        }
        seen
    }

    fn shortest_cycle(&self, start: &String, group: &BTreeSet<&String>) -> Vec<String> {
        let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(at) = queue.pop_front() {
            for next in &self.modules[at] {
                if next == start {
                    // Back along the search: at, ..., start; then forwards, and round.
                    let mut cycle = vec![at.clone()];
                    let mut m = at;
                    while m != start {
                        m = previous[m];
                        cycle.push(m.clone());
                    }
                    cycle.reverse();
                    cycle.push(start.clone());
                    return cycle;
                }
                if group.contains(next) && !previous.contains_key(next) {
                    previous.insert(next, at);
                    queue.push_back(next);
                }
            }
        }
        unreachable!("{start} is in a cycle")
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("main.rs") {
            files.push(path);
        }
    }
}

/// The module path of a file: `run/approve.rs` → [run, approve], `run/mod.rs` → [run], `lib.rs` → [].
fn segments(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn name(root: &Path, file: &Path) -> String {
    let parts = segments(root, file);
    if parts.is_empty() { "lib".to_owned() } else { parts.join("/") }
}

/// Finds the modules a token stream names.
struct Reader<'a> {
    /// Module path → module name, for every file.
    names: &'a BTreeMap<Vec<String>, String>,
    found: &'a mut Vec<String>,
    /// Modules this file imports by name (`use crate::store::{self, runs as r}`),
    /// by the name it uses: a path may start with one.
    aliases: BTreeMap<String, Vec<String>>,
}

impl Reader<'_> {
    /// Read `tokens`, which are in the module at `here` (a file's, or an inline one's).
    fn stream(&mut self, tokens: TokenStream, here: &[String]) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            // `mod name { ... }`: an inline module.
            if let (TokenTree::Ident(m), Some(TokenTree::Ident(n)), Some(TokenTree::Group(g))) =
                (&tokens[i], tokens.get(i + 1), tokens.get(i + 2))
                && m == "mod"
                && g.delimiter() == Delimiter::Brace
            {
                let mut inner = here.to_vec();
                inner.push(n.to_string());
                self.stream(g.stream(), &inner);
                i += 3;
                continue;
            }
            // `pub(crate)`, `pub(super)`: a visibility, not a dependence.
            if let (TokenTree::Ident(p), Some(TokenTree::Group(g))) = (&tokens[i], tokens.get(i + 1))
                && p == "pub"
                && g.delimiter() == Delimiter::Parenthesis
            {
                i += 2;
                continue;
            }
            match &tokens[i] {
                TokenTree::Group(g) => self.stream(g.stream(), here),
                TokenTree::Ident(first) if !preceded_by_path_separator(&tokens, i) => {
                    let is_use = i > 0 && matches!(&tokens[i - 1], TokenTree::Ident(u) if u == "use");
                    let name = first.to_string();
                    // A module imported by name: the path goes on inside it.
                    if let Some(module) = self.aliases.get(&name).cloned()
                        && is_path_separator(&tokens, i + 1)
                    {
                        i = match tokens.get(i + 3) {
                            Some(TokenTree::Ident(_)) => self.path(&tokens, i + 3, module, false),
                            _ => {
                                self.record(&module);
                                i + 3
                            }
                        };
                        continue;
                    }
                    let start = match name.as_str() {
                        "crate" => Some(Vec::new()),
                        "super" | "self" => Some(here.to_vec()),
                        // A child module of this one, by its bare name, as a path
                        // (`approve::Tally`; not a variable that has its name).
                        other if is_use || is_path_separator(&tokens, i + 1) => {
                            let mut child = here.to_vec();
                            child.push(other.to_owned());
                            self.names.contains_key(&child).then_some(here.to_vec())
                        }
                        _ => None,
                    };
                    if let Some(start) = start {
                        i = self.path(&tokens, i, start, is_use);
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Read the path starting at `tokens[i]` from the module `at`; the index after it.
    fn path(&mut self, tokens: &[TokenTree], mut i: usize, mut at: Vec<String>, is_use: bool) -> usize {
        loop {
            match &tokens[i] {
                TokenTree::Ident(s) if s == "super" => {
                    at.pop();
                }
                TokenTree::Ident(s) if s == "crate" => at.clear(),
                TokenTree::Ident(s) if s == "self" => {}
                TokenTree::Ident(s) => at.push(s.to_string()),
                // `use a::{b, c::d}`: each branch from here.
                TokenTree::Group(g) if g.delimiter() == Delimiter::Brace && is_use => {
                    for branch in split_commas(g.stream()) {
                        if !branch.is_empty() {
                            self.path(&branch, 0, at.clone(), true);
                        }
                    }
                    return i + 1;
                }
                _ => break,
            }
            if !is_path_separator(tokens, i + 1) {
                i += 1;
                break;
            }
            i += 3;
            if i >= tokens.len() {
                break;
            }
        }
        self.record(&at);
        // `use a::b::module;` or `use a::b::module as m;` names a module for what follows.
        if is_use && self.names.contains_key(&at) {
            let renamed = match (tokens.get(i), tokens.get(i + 1)) {
                (Some(TokenTree::Ident(word)), Some(TokenTree::Ident(name))) if word == "as" => Some(name.to_string()),
                _ => None,
            };
            if let Some(name) = renamed.or_else(|| at.last().cloned()) {
                self.aliases.insert(name, at.clone());
            }
        }
        i
    }

    /// The deepest module that `path` is in or names.
    fn record(&mut self, path: &[String]) {
        if let Some(module) = (0..=path.len()).rev().find_map(|n| self.names.get(&path[..n])) {
            self.found.push(module.clone());
        }
    }
}

fn is_path_separator(tokens: &[TokenTree], i: usize) -> bool {
    matches!((tokens.get(i), tokens.get(i + 1)), (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
        if a.as_char() == ':' && b.as_char() == ':')
}

fn preceded_by_path_separator(tokens: &[TokenTree], i: usize) -> bool {
    i >= 2 && is_path_separator(tokens, i - 2)
}

fn split_commas(stream: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut branches = vec![Vec::new()];
    for token in stream {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => branches.push(Vec::new()),
            _ => branches.last_mut().unwrap().push(token),
        }
    }
    branches
}
