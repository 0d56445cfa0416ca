//! Prints the header kernel's cost report: integer operations per nonce as
//! the driver receives them, the minimum SHA-256d needs, and the rate model
//! (docs/KERNEL-COST.md is this output).
//!
//! Try: `cargo run --release --example kernel_cost`

fn main() {
    match hashrig::gpu::cost::report() {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("kernel_cost: {e}");
            std::process::exit(1);
        }
    }
}
