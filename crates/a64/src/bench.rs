//! A fixed integer workload for measuring the interpreter (placeholder until the workload lands).
