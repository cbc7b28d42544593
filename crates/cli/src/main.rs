//! The quartet command line.

fn main() {}
