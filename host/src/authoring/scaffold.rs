//! `ansinh plugin new`: a province's plug-in crate under the workspace's
//! `plugins/`, that reuses the national rules and passes its starter cases
//! as it is written.
//!
//! The templates live in `template/`; `{{name}}`-style holes are filled in.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::identity::provinces;

/// A programme a province can write a plug-in for, and the national crates it reuses.
struct Program {
    code: &'static str,
    dependencies: &'static [&'static str],
    lib: &'static str,
    cases: &'static str,
}

const PROGRAMS: [Program; 2] = [
    Program {
        code: "social-assistance",
        dependencies: &["national-social-assistance"],
        lib: include_str!("template/social-assistance.rs.in"),
        cases: include_str!("template/social-assistance.yaml.in"),
    },
    Program {
        code: "social-pension",
        dependencies: &["national-social-assistance", "social-pension"],
        lib: include_str!("template/social-pension.rs.in"),
        cases: include_str!("template/social-pension.yaml.in"),
    },
];

const MANIFEST: &str = include_str!("template/Cargo.toml.in");
const README: &str = include_str!("template/README.md.in");

/// Write the crate `name` for `province` and `program` under `workspace/plugins`;
/// returns its folder. Nothing is written if anything is wrong.
pub fn new_plugin(workspace: &Path, name: &str, province: &str, program: &str) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let province_name = provinces::name(province).with_context(|| {
        format!("--province {province:?}: expected a 3-digit province code of identity.md, e.g. 001 for Hà Nội")
    })?;
    let Some(template) = PROGRAMS.iter().find(|p| p.code == program) else {
        let known: Vec<_> = PROGRAMS.iter().map(|p| p.code).collect();
        bail!("--program {program:?}: plug-ins can be made for {}", known.join(", "));
    };
    let dir = workspace.join("plugins").join(name);
    if dir.exists() {
        bail!("{} already exists: choose another name", dir.display());
    }
    let fill = |text: &str| {
        let dependencies: Vec<String> = template
            .dependencies
            .iter()
            .map(|d| format!("{d} = {{ path = \"../{d}\", default-features = false }}"))
            .collect();
        text.replace("{{name}}", name)
            .replace("{{province}}", province)
            .replace("{{province_name}}", province_name)
            .replace("{{program}}", program)
            .replace("{{dependencies}}", &dependencies.join("\n"))
    };
    // Written in a temporary folder, then renamed: never half a crate. Not
    // under plugins/, where cargo would take it for a member meanwhile.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".new-plugin-{name}-"))
        .tempdir_in(workspace)
        .with_context(|| format!("writing under {}", workspace.display()))?;
    std::fs::create_dir(staging.path().join("src"))?;
    for (file, text) in
        [("Cargo.toml", MANIFEST), ("README.md", README), ("cases.yaml", template.cases), ("src/lib.rs", template.lib)]
    {
        std::fs::write(staging.path().join(file), fill(text)).with_context(|| format!("writing {file}"))?;
    }
    std::fs::rename(staging.keep(), &dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A crate name that is also a fine folder and component name.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        bail!(
            "plug-in name {name:?}: expected lower-case letters, digits and '-', starting with a letter, e.g. quang-ninh-social-assistance"
        );
    }
    Ok(())
}

/// The ansinh workspace that holds `from`: the nearest folder upwards with
/// `sdk/wit/rules.wit` and `plugins/`.
pub fn find_workspace(from: &Path) -> anyhow::Result<PathBuf> {
    let from = from.canonicalize().with_context(|| format!("reading {}", from.display()))?;
    from.ancestors()
        .find(|dir| dir.join("sdk/wit/rules.wit").is_file() && dir.join("plugins").is_dir())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside an ansinh checkout (no sdk/wit/rules.wit above it): plug-ins are written in one, \
                 beside the national rules they reuse",
                from.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["quang-ninh-social-assistance", "hanoi2"] {
            check_name(good).unwrap();
        }
        for bad in ["", "Hanoi", "2hanoi", "ha noi", "hanoi-", "hà-nội", "../x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_hole_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plugins")).unwrap();
        for program in PROGRAMS {
            let name = format!("x-{}", program.code);
            let made = new_plugin(dir.path(), &name, "022", program.code).unwrap();
            for file in ["Cargo.toml", "README.md", "cases.yaml", "src/lib.rs"] {
                let text = std::fs::read_to_string(made.join(file)).unwrap();
                assert!(!text.contains("{{"), "{file}: {text}");
                assert!(text.contains(&name) || text.contains("022"), "{file}");
            }
            assert!(
                new_plugin(dir.path(), &name, "022", program.code).unwrap_err().to_string().contains("already exists")
            );
        }
        assert!(new_plugin(dir.path(), "y", "999", "social-assistance").is_err());
        assert!(new_plugin(dir.path(), "y", "022", "funeral").unwrap_err().to_string().contains("social-pension"));
        // Nothing half-written is left behind.
        let left: Vec<_> =
            std::fs::read_dir(dir.path().join("plugins")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
