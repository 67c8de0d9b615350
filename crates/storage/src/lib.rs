//! Storage tiers written from Rust (the derived stores below the journal; see
//! `docs/storage.md`).
//!
//! - [`redis_fields`]: the Redis hot tier's key layout and the exact bytes of each hash and
//!   stream entry (the same text Python's `Decimal` prints, so every reader sees one format).
//! - [`redis_tier`]: [`redis_tier::RedisWriter`], which writes them pipelined to a Redis server
//!   or a Redis Cluster, conflating hashes and never blocking its caller for longer than its
//!   timeout when Redis is away.
#![warn(missing_debug_implementations)]

pub mod redis_fields;
pub mod redis_tier;

/// The `redis` crate the writer builds its commands with.
pub use redis;
