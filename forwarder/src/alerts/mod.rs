//! Grouping, flood control, rendering and publishing.

pub mod flood;
pub mod group;
pub mod publish;
pub mod render;
