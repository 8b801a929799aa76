//! The one `bindgen!` of the host: Rust types and call stubs for the
//! `sluice:plugin` WIT package's `host` world, which exports every plugin
//! interface. A plugin exports just one of them; the runtime loads each
//! interface on its own (`GuestIndices`), never the whole world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "host",
});

/// The WIT package this host speaks, as `name@version`.
pub const WIT_PACKAGE: &str = "sluice:plugin@0.2.0";
/// The export a transform plugin must provide (without version).
pub const TRANSFORM_EXPORT: &str = "sluice:plugin/transform";
/// The export a generator plugin must provide (without version).
pub const GENERATE_EXPORT: &str = "sluice:plugin/generate";
