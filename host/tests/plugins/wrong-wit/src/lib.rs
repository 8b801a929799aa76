//! A purpose-built bad plugin: a well-formed transform, but built against
//! `sluice:plugin@0.1.0` (its own `wit/`), so the host (0.2.0) must refuse
//! it at load time with a message naming both versions.

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "transformer" });

    use exports::sluice::plugin::transform::{Guest, Output, PluginInfo};

    struct Shell;

    impl Guest for Shell {
        fn describe() -> PluginInfo {
            PluginInfo {
                name: "wrong-wit".into(),
                version: "0.1.0".into(),
                description: "built for another WIT".into(),
            }
        }
        fn init(_config: String) -> Result<(), String> {
            Ok(())
        }
        fn process(batch: Vec<u8>) -> Result<Output, String> {
            Ok(Output {
                batch,
                errors: Vec::new(),
                notes: Vec::new(),
            })
        }
    }

    export!(Shell);
}
