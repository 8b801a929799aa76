//! `shop-generator`: a generator plugin that simulates a web shop
//! (customers, products, orders, order lines) for `sluice generate`. The
//! logic is in [`shop`]; this file is the thin [`Generator`] shell.

mod config;
mod names;
mod shop;
mod tables;

use sluice_plugin_sdk::generator::{Generator, Op, Table, TableState};

pub use config::{Config, Mix};

/// The shop simulation as a sluice generator.
#[derive(Debug)]
pub struct ShopGenerator(shop::Shop);

impl Generator for ShopGenerator {
    type Config = Config;
    const NAME: &'static str = "shop-generator";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "A web shop: customers, products, orders and order lines with an order lifecycle";

    fn new(seed: u64, config: Config) -> Result<Self, String> {
        shop::Shop::new(seed, config).map(Self)
    }

    fn tables(&self) -> Vec<Table> {
        tables::all()
    }

    fn resume(&mut self, state: &[TableState]) -> Result<(), String> {
        self.0.resume(state);
        Ok(())
    }

    fn tick(&mut self, budget: u32) -> Result<Vec<Op>, String> {
        Ok(self.0.tick(budget))
    }
}

sluice_plugin_sdk::export_generator!(ShopGenerator);

#[cfg(test)]
mod tests;
