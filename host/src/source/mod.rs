//! Where records come from: a Kafka consumer group ([`consumer`]) subscribed
//! to the pipelines' topic patterns ([`topics`]).

pub mod consumer;
pub mod topics;

pub use consumer::{Assignment, Assignments, Source, SourceConfig, SourceError};
