//! Text from logs and AWS, made safe to show and checked against the grammars AWS gives it.

pub mod escape;
pub mod shape;
