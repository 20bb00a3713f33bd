//! Plug-in authoring tools behind `ansinh plugin …`: scaffolding a province's
//! crate, building a crate into a component and running YAML test cases
//! through the real sandbox.

pub mod build;
pub mod cases;
pub mod scaffold;
