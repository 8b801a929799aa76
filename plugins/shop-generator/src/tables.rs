//! The four tables the shop writes, as declared to the host: customers,
//! products, orders and order_items, with the column names the simulation
//! fills in.

use sluice_plugin_sdk::generator::{Column, SqlType, Table};

pub const CUSTOMERS: &str = "customers";
pub const PRODUCTS: &str = "products";
pub const ORDERS: &str = "orders";
pub const ORDER_ITEMS: &str = "order_items";

const MONEY: SqlType = SqlType::Numeric {
    precision: 12,
    scale: 2,
};

/// Every table, in creation order.
pub fn all() -> Vec<Table> {
    use Column as C;
    use SqlType::*;
    vec![
        Table {
            name: CUSTOMERS.into(),
            columns: vec![
                C::required("id", Bigint),
                C::required("name", Text),
                C::required("email", Text),
                C::required("country", Text),
                C::optional("phone", Text),
                C::optional("birth_date", Date),
                C::required("marketing_opt_in", Boolean),
                C::required("created_at", Timestamptz),
                C::required("updated_at", Timestamptz),
            ],
            primary_key: vec!["id".into()],
        },
        Table {
            name: PRODUCTS.into(),
            columns: vec![
                C::required("id", Bigint),
                C::required("sku", Text),
                C::required("name", Text),
                C::required("category", Text),
                C::required("price", MONEY),
                C::optional("weight_kg", Double),
                C::required("active", Boolean),
                C::required("created_at", Timestamptz),
                C::required("updated_at", Timestamptz),
            ],
            primary_key: vec!["id".into()],
        },
        Table {
            name: ORDERS.into(),
            columns: vec![
                C::required("id", Bigint),
                C::required("customer_id", Bigint),
                C::required("status", Text),
                C::required("total", MONEY),
                C::required("currency", Text),
                C::required("placed_at", Timestamptz),
                C::optional("paid_at", Timestamptz),
                C::optional("shipped_at", Timestamptz),
                C::optional("delivered_at", Timestamptz),
                C::optional("cancelled_at", Timestamptz),
                C::optional("note", Text),
            ],
            primary_key: vec!["id".into()],
        },
        Table {
            name: ORDER_ITEMS.into(),
            columns: vec![
                C::required("order_id", Bigint),
                C::required("line_no", Integer),
                C::required("product_id", Bigint),
                C::required("quantity", Integer),
                C::required("unit_price", MONEY),
            ],
            primary_key: vec!["order_id".into(), "line_no".into()],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primary_key_column_is_declared_and_required() {
        for t in all() {
            for k in &t.primary_key {
                let col = t.columns.iter().find(|c| &c.name == k);
                assert!(col.is_some_and(|c| !c.nullable), "{}.{k}", t.name);
            }
        }
    }
}
