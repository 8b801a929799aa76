//! The one `bindgen!` of the host: Rust types and call stubs for the
//! `sluice:plugin` WIT package's `transformer` world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "transformer",
});

/// The WIT package this host speaks, as `name@version`.
pub const WIT_PACKAGE: &str = "sluice:plugin@0.1.0";
/// The export a transform plugin must provide (without version).
pub const TRANSFORM_EXPORT: &str = "sluice:plugin/transform";
