//! The simulation: a shop whose customers sign up and change details,
//! whose products are added and repriced, and whose orders go through
//! placed → paid → shipped → delivered, or get cancelled and, after a while,
//! deleted with their lines. Each tick spends exactly its budget of
//! operations; everything comes from one seeded PCG, so a seed fixes the
//! stream.

use std::collections::VecDeque;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use sluice_plugin_sdk::generator::{Fields, Op, TableState, Value};

use crate::config::{Config, Mix};
use crate::names;
use crate::tables::{CUSTOMERS, ORDERS, ORDER_ITEMS, PRODUCTS};

const MICROS: i64 = 1_000_000;
const DAY_1950: i32 = -7305;
const DAY_2005: i32 = 13148;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Placed,
    Paid,
    Shipped,
}

#[derive(Debug, Clone)]
struct OpenOrder {
    id: i64,
    status: Status,
    lines: i32,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    NewCustomer,
    UpdateCustomer,
    NewProduct,
    RepriceProduct,
    PlaceOrder,
    AdvanceOrder,
    CancelOrder,
    PurgeCancelled,
}

/// The shop's state between ticks.
#[derive(Debug)]
pub struct Shop {
    rng: Pcg64,
    cfg: Config,
    /// Simulated time, microseconds since the epoch.
    clock: i64,
    /// Customers have ids 1..=customers (they are never deleted).
    customers: i64,
    next_product: i64,
    /// Products created by this run, with their current price in cents.
    products: Vec<(i64, i64)>,
    next_order: i64,
    open: Vec<OpenOrder>,
    /// Cancelled orders waiting to be deleted: (id, lines, cancelled at).
    cancelled: VecDeque<(i64, i32, i64)>,
}

impl Shop {
    pub fn new(seed: u64, cfg: Config) -> Result<Self, String> {
        let clock = cfg.validate()?;
        Ok(Self {
            rng: Pcg64::seed_from_u64(seed),
            cfg,
            clock,
            customers: 0,
            next_product: 1,
            products: Vec::new(),
            next_order: 1,
            open: Vec::new(),
            cancelled: VecDeque::new(),
        })
    }

    /// Go on after the largest ids in the database (another writer's, or an
    /// earlier run's). Orders placed by others stay where they are: this
    /// simulation only moves its own orders along.
    pub fn resume(&mut self, state: &[TableState]) {
        for s in state {
            let max = s.max_key.unwrap_or(0);
            match s.table.as_str() {
                CUSTOMERS => self.customers = self.customers.max(max),
                PRODUCTS => self.next_product = self.next_product.max(max + 1),
                ORDERS => self.next_order = self.next_order.max(max + 1),
                _ => {}
            }
        }
    }

    /// Exactly `budget` operations.
    pub fn tick(&mut self, budget: u32) -> Vec<Op> {
        let mut ops = Vec::with_capacity(budget as usize);
        while ops.len() < budget as usize {
            let room = budget as usize - ops.len();
            let event = self.pick(room);
            self.apply(event, room, &mut ops);
        }
        ops
    }

    /// A weighted pick among the events that can happen now and fit `room`.
    fn pick(&mut self, room: usize) -> Event {
        let Mix {
            new_customer,
            update_customer,
            new_product,
            reprice_product,
            place_order,
            advance_order,
            cancel_order,
            purge_cancelled,
        } = self.cfg.mix;
        let cancellable = self.open.iter().any(|o| o.status != Status::Shipped);
        let purge_due = self.cancelled.front().is_some_and(|&(_, lines, at)| {
            (lines as usize) < room
                && self.clock - at
                    >= i64::from(self.cfg.purge_cancelled_after_hours) * 3600 * MICROS
        });
        let candidates = [
            (Event::NewCustomer, new_customer, true),
            (Event::UpdateCustomer, update_customer, self.customers > 0),
            (Event::NewProduct, new_product, true),
            (
                Event::RepriceProduct,
                reprice_product,
                !self.products.is_empty(),
            ),
            (
                Event::PlaceOrder,
                place_order,
                room >= 2 && self.customers > 0 && !self.products.is_empty(),
            ),
            (Event::AdvanceOrder, advance_order, !self.open.is_empty()),
            (Event::CancelOrder, cancel_order, cancellable),
            (Event::PurgeCancelled, purge_cancelled, purge_due),
        ];
        let total: u32 = candidates.iter().filter(|c| c.2).map(|c| c.1).sum();
        let mut roll = self.rng.random_range(0..total);
        for (event, weight, ok) in candidates {
            if !ok {
                continue;
            }
            if roll < weight {
                return event;
            }
            roll -= weight;
        }
        Event::NewCustomer
    }

    fn apply(&mut self, event: Event, room: usize, ops: &mut Vec<Op>) {
        match event {
            Event::NewCustomer => {
                let op = self.new_customer();
                self.push(ops, op);
            }
            Event::UpdateCustomer => {
                let op = self.update_customer();
                self.push(ops, op);
            }
            Event::NewProduct => {
                let op = self.new_product();
                self.push(ops, op);
            }
            Event::RepriceProduct => {
                let op = self.reprice_product();
                self.push(ops, op);
            }
            Event::PlaceOrder => {
                for op in self.place_order(room) {
                    self.push(ops, op);
                }
            }
            Event::AdvanceOrder => {
                let op = self.advance_order();
                self.push(ops, op);
            }
            Event::CancelOrder => {
                let op = self.cancel_order();
                self.push(ops, op);
            }
            Event::PurgeCancelled => {
                for op in self.purge_cancelled() {
                    self.push(ops, op);
                }
            }
        }
    }

    /// Append `op` and move the simulated clock on.
    fn push(&mut self, ops: &mut Vec<Op>, op: Op) {
        ops.push(op);
        let mean = self.cfg.seconds_per_op * MICROS as f64;
        self.clock += (self.rng.random::<f64>() * 2.0 * mean) as i64;
    }

    fn now(&self) -> Value {
        Value::Timestamp(self.clock)
    }

    fn pick_from<'a>(&mut self, list: &'a [&'a str]) -> &'a str {
        list.choose(&mut self.rng).copied().unwrap_or_default()
    }

    /// A country with a skew toward the head of the list.
    fn country(&mut self) -> &'static str {
        let n = names::COUNTRIES.len();
        let i = (self.rng.random::<f64>().powi(2) * n as f64) as usize;
        names::COUNTRIES[i.min(n - 1)]
    }

    fn new_customer(&mut self) -> Op {
        self.customers += 1;
        let id = self.customers;
        let first = self.pick_from(names::FIRST_NAMES);
        let last = self.pick_from(names::LAST_NAMES);
        let email = self.email(first, last, id);
        let phone = self.rng.random_bool(0.7).then(|| self.phone());
        let birth = self
            .rng
            .random_bool(0.8)
            .then(|| Value::Date(self.rng.random_range(DAY_1950..DAY_2005)));
        let row = fields([
            ("id", Value::Int(id)),
            ("name", format!("{first} {last}").into()),
            ("email", email.into()),
            ("country", self.country().into()),
            ("phone", phone.into()),
            ("birth_date", birth.unwrap_or(Value::Null)),
            ("marketing_opt_in", self.rng.random_bool(0.35).into()),
            ("created_at", self.now()),
            ("updated_at", self.now()),
        ]);
        Op::Insert {
            table: CUSTOMERS.into(),
            row,
        }
    }

    fn email(&mut self, first: &str, last: &str, id: i64) -> String {
        let local = [names::ascii_fold(first), names::ascii_fold(last)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(".");
        let local = if local.is_empty() {
            "customer".into()
        } else {
            local
        };
        let domain = self.pick_from(&["example.com", "example.org", "example.de"]);
        format!("{local}.{id}@{domain}")
    }

    fn phone(&mut self) -> String {
        let cc = self.pick_from(&["1", "44", "49", "33", "81", "48"]);
        format!(
            "+{cc} {:03} {:07}",
            self.rng.random_range(100..1000),
            self.rng.random_range(0..10_000_000)
        )
    }

    fn update_customer(&mut self) -> Op {
        let id = self.rng.random_range(1..=self.customers);
        let set = match self.rng.random_range(0..3) {
            0 => ("country", self.country().into()),
            1 => (
                "phone",
                self.rng.random_bool(0.5).then(|| self.phone()).into(),
            ),
            _ => ("marketing_opt_in", self.rng.random_bool(0.5).into()),
        };
        Op::Update {
            table: CUSTOMERS.into(),
            key: fields([("id", Value::Int(id))]),
            set: fields([set, ("updated_at", self.now())]),
        }
    }

    fn new_product(&mut self) -> Op {
        let id = self.next_product;
        self.next_product += 1;
        let cents = self.rng.random_range(199..50_000);
        self.products.push((id, cents));
        let category = self.pick_from(names::CATEGORIES);
        let name = format!(
            "{} {}",
            self.pick_from(names::ADJECTIVES),
            self.pick_from(names::NOUNS)
        );
        // Digital goods (books as e-books, some electronics) have no weight.
        let weight = (!self.rng.random_bool(0.15))
            .then(|| Value::Double(f64::from(self.rng.random_range(50..20_000)) / 1000.0));
        Op::Insert {
            table: PRODUCTS.into(),
            row: fields([
                ("id", Value::Int(id)),
                ("sku", format!("SKU-{id:06}").into()),
                ("name", name.into()),
                ("category", category.into()),
                ("price", money(cents)),
                ("weight_kg", weight.unwrap_or(Value::Null)),
                ("active", true.into()),
                ("created_at", self.now()),
                ("updated_at", self.now()),
            ]),
        }
    }

    fn reprice_product(&mut self) -> Op {
        let i = self.rng.random_range(0..self.products.len());
        let (id, cents) = self.products[i];
        let factor = self.rng.random_range(85..=115);
        let cents = (cents * factor / 100).max(99);
        self.products[i].1 = cents;
        Op::Update {
            table: PRODUCTS.into(),
            key: fields([("id", Value::Int(id))]),
            set: fields([("price", money(cents)), ("updated_at", self.now())]),
        }
    }

    /// The order row, then its lines: `1 + lines` operations, within `room`.
    fn place_order(&mut self, room: usize) -> Vec<Op> {
        let id = self.next_order;
        self.next_order += 1;
        let max_lines = (self.cfg.max_items_per_order as usize).min(room - 1);
        let lines = self.rng.random_range(1..=max_lines);
        let mut items = Vec::with_capacity(lines);
        let mut total = 0;
        for line in 1..=lines {
            let &(product, price) = self.products.choose(&mut self.rng).unwrap_or(&(1, 100));
            let qty = if self.rng.random_bool(0.8) {
                1
            } else {
                self.rng.random_range(2..6)
            };
            total += price * qty;
            items.push(Op::Insert {
                table: ORDER_ITEMS.into(),
                row: fields([
                    ("order_id", Value::Int(id)),
                    ("line_no", Value::Int(line as i64)),
                    ("product_id", Value::Int(product)),
                    ("quantity", Value::Int(qty)),
                    ("unit_price", money(price)),
                ]),
            });
        }
        let customer = self.rng.random_range(1..=self.customers);
        let note = self
            .rng
            .random_bool(0.1)
            .then(|| self.pick_from(names::NOTES));
        let order = Op::Insert {
            table: ORDERS.into(),
            row: fields([
                ("id", Value::Int(id)),
                ("customer_id", Value::Int(customer)),
                ("status", "placed".into()),
                ("total", money(total)),
                ("currency", self.pick_from(names::CURRENCIES).into()),
                ("placed_at", self.now()),
                ("paid_at", Value::Null),
                ("shipped_at", Value::Null),
                ("delivered_at", Value::Null),
                ("cancelled_at", Value::Null),
                ("note", note.into()),
            ]),
        };
        self.open.push(OpenOrder {
            id,
            status: Status::Placed,
            lines: lines as i32,
        });
        std::iter::once(order).chain(items).collect()
    }

    fn advance_order(&mut self) -> Op {
        let i = self.rng.random_range(0..self.open.len());
        let order = &mut self.open[i];
        let (status, column) = match order.status {
            Status::Placed => {
                order.status = Status::Paid;
                ("paid", "paid_at")
            }
            Status::Paid => {
                order.status = Status::Shipped;
                ("shipped", "shipped_at")
            }
            Status::Shipped => ("delivered", "delivered_at"),
        };
        let id = order.id;
        if status == "delivered" {
            self.open.swap_remove(i);
        }
        order_update(id, status, column, self.now())
    }

    fn cancel_order(&mut self) -> Op {
        let cancellable: Vec<usize> = (0..self.open.len())
            .filter(|&i| self.open[i].status != Status::Shipped)
            .collect();
        let i = cancellable[self.rng.random_range(0..cancellable.len())];
        let order = self.open.swap_remove(i);
        self.cancelled
            .push_back((order.id, order.lines, self.clock));
        order_update(order.id, "cancelled", "cancelled_at", self.now())
    }

    /// Delete the oldest cancelled order's lines, then the order.
    fn purge_cancelled(&mut self) -> Vec<Op> {
        let Some((id, lines, _)) = self.cancelled.pop_front() else {
            return Vec::new();
        };
        let mut ops: Vec<Op> = (1..=lines)
            .map(|line| Op::Delete {
                table: ORDER_ITEMS.into(),
                key: fields([
                    ("order_id", Value::Int(id)),
                    ("line_no", Value::Int(i64::from(line))),
                ]),
            })
            .collect();
        ops.push(Op::Delete {
            table: ORDERS.into(),
            key: fields([("id", Value::Int(id))]),
        });
        ops
    }
}

fn order_update(id: i64, status: &str, column: &str, at: Value) -> Op {
    Op::Update {
        table: ORDERS.into(),
        key: fields([("id", Value::Int(id))]),
        set: fields([("status", status.into()), (column, at)]),
    }
}

/// Cents as decimal text: 1999 → "19.99".
fn money(cents: i64) -> Value {
    Value::Numeric(format!("{}.{:02}", cents / 100, cents % 100))
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Fields {
    pairs.into_iter().map(|(c, v)| (c.to_string(), v)).collect()
}
