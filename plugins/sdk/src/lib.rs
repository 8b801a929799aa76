//! Guest-side SDK for Sluice plugins: transforms and generators.
//!
//! A plugin is a type implementing [`Transform`]: it is built from its
//! `[config]` table and turns one Arrow [`RecordBatch`] into another. The SDK
//! owns everything else: Arrow IPC decoding and encoding, config parsing with
//! precise errors, and the WIT export shell ([`export_transform!`]), so the
//! plugin's own code is plain Rust that `cargo test` runs natively.
//!
//! # Layout
//! - [`ipc`]: Arrow IPC stream bytes ⇄ [`RecordBatch`].
//! - [`decimal`]: Debezium's base64 decimals ⇄ exact decimal text.
//! - [`kafka`]: the raw Kafka batch schema and the capture-file format.
//! - [`row`]: a row-wise helper for plugins that think in records, not columns.
//! - [`shell`]: the functions the export shell calls; testable natively.
//! - [`generator`]: the [`generator::Generator`] trait and its types, for
//!   business simulations exported with [`export_generator!`].
//! - `bindings`, `generator_bindings` (wasm32 only): the wit-bindgen output
//!   for the `transformer` and `generator` worlds of `sluice:plugin`.

pub mod decimal;
pub mod generator;
pub mod ipc;
pub mod kafka;
pub mod row;
pub mod shell;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[allow(unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "transformer",
        pub_export_macro: true,
        default_bindings_module: "sluice_plugin_sdk::bindings",
        export_macro_name: "export",
    });
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[allow(unsafe_code, clippy::all)]
pub mod generator_bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "generator",
        pub_export_macro: true,
        default_bindings_module: "sluice_plugin_sdk::generator_bindings",
        export_macro_name: "export_generate",
    });
}

pub use arrow_array::{self, Array, ArrayRef, RecordBatch};
pub use arrow_buffer;
pub use arrow_schema::{self, DataType, Field, Schema, SchemaRef, TimeUnit};

/// Column names of the raw Kafka batch that the first stage of a chain receives.
pub mod kafka_columns {
    pub const KEY: &str = "key";
    pub const VALUE: &str = "value";
    pub const TOPIC: &str = "topic";
    pub const PARTITION: &str = "partition";
    pub const OFFSET: &str = "offset";
    pub const TIMESTAMP_MS: &str = "timestamp_ms";
    pub const HEADERS: &str = "headers";
}

/// One input row that could not be processed; the host dead-letters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Index of the row in the input batch.
    pub row: u32,
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, message: impl Into<String>) -> Self {
        Self {
            row: u32::try_from(row).unwrap_or(u32::MAX),
            message: message.into(),
        }
    }
}

/// What a transform returns for one batch.
#[derive(Debug, Clone)]
pub struct Output {
    pub batch: RecordBatch,
    pub errors: Vec<RowError>,
    /// One-off remarks for the operator (deduplicated by the host).
    pub notes: Vec<String>,
}

impl Output {
    /// An output with no row errors and no notes.
    pub fn ok(batch: RecordBatch) -> Self {
        Self {
            batch,
            errors: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A transform stage. Implement this, then call [`export_transform!`].
pub trait Transform: Sized + 'static {
    /// The plugin's `[config]` table, deserialized strictly
    /// (use `#[serde(deny_unknown_fields)]`).
    type Config: serde::de::DeserializeOwned;

    /// Plugin name as reported by `describe`.
    const NAME: &'static str;
    /// Plugin version as reported by `describe` (usually `CARGO_PKG_VERSION`).
    const VERSION: &'static str;
    /// One line saying what the plugin does.
    const DESCRIPTION: &'static str;

    /// Build the plugin from its configuration, or say what is wrong with it.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// Transform one batch. Return `Err` only when the whole batch is bad;
    /// per-row problems go into [`Output::errors`].
    fn process(&mut self, batch: RecordBatch) -> Result<Output, String>;
}

/// Export a [`Transform`] implementation as the plugin's `transform` interface.
///
/// On native targets this expands to nothing, so the crate's logic stays
/// testable with `cargo test`.
#[macro_export]
macro_rules! export_transform {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::bindings::exports::sluice::plugin::transform::{Guest, Output, PluginInfo};
            use $crate::bindings::sluice::plugin::types::RowError;

            ::std::thread_local! {
                static STATE: ::std::cell::RefCell<Option<$ty>> = const { ::std::cell::RefCell::new(None) };
            }

            struct Shell;

            impl Guest for Shell {
                fn describe() -> PluginInfo {
                    let (name, version, description) = $crate::shell::describe::<$ty>();
                    PluginInfo { name, version, description }
                }

                fn init(config: String) -> Result<(), String> {
                    let plugin = $crate::shell::init::<$ty>(&config)?;
                    STATE.with(|s| *s.borrow_mut() = Some(plugin));
                    Ok(())
                }

                fn process(batch: Vec<u8>) -> Result<Output, String> {
                    STATE.with(|s| {
                        let mut state = s.borrow_mut();
                        let plugin = state.as_mut().ok_or_else(|| "process called before init".to_string())?;
                        let out = $crate::shell::process(plugin, &batch)?;
                        Ok(Output {
                            batch: out.batch,
                            errors: out.errors.into_iter().map(|e| RowError { row: e.row, message: e.message }).collect(),
                            notes: out.notes,
                        })
                    })
                }
            }

            $crate::bindings::export!(Shell with_types_in $crate::bindings);
        };
    };
}

/// Export a [`generator::Generator`] implementation as the plugin's
/// `generate` interface. On native targets this expands to nothing.
#[macro_export]
macro_rules! export_generator {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::generator::wit;
            use $crate::generator_bindings::exports::sluice::plugin::generate::{
                Guest, Op, PluginInfo, Table, TableState,
            };

            ::std::thread_local! {
                static STATE: ::std::cell::RefCell<Option<$ty>> = const { ::std::cell::RefCell::new(None) };
            }

            fn with<R>(f: impl FnOnce(&mut $ty) -> Result<R, String>) -> Result<R, String> {
                STATE.with(|s| match s.borrow_mut().as_mut() {
                    Some(g) => f(g),
                    None => Err("called before init".to_string()),
                })
            }

            struct Shell;

            impl Guest for Shell {
                fn describe() -> PluginInfo {
                    use $crate::generator::Generator as _;
                    PluginInfo {
                        name: <$ty>::NAME.into(),
                        version: <$ty>::VERSION.into(),
                        description: <$ty>::DESCRIPTION.into(),
                    }
                }

                fn init(seed: u64, config: String) -> Result<Vec<Table>, String> {
                    let (g, tables) = $crate::generator::init::<$ty>(seed, &config)?;
                    STATE.with(|s| *s.borrow_mut() = Some(g));
                    Ok(tables.into_iter().map(wit::table).collect())
                }

                fn resume(state: Vec<TableState>) -> Result<(), String> {
                    let state: Vec<_> = state.into_iter().map(wit::state).collect();
                    with(|g| $crate::generator::Generator::resume(g, &state))
                }

                fn tick(budget: u32) -> Result<Vec<Op>, String> {
                    let ops = with(|g| $crate::generator::Generator::tick(g, budget))?;
                    Ok(ops.into_iter().map(wit::op).collect())
                }
            }

            $crate::generator_bindings::export_generate!(Shell with_types_in $crate::generator_bindings);
        };
    };
}
