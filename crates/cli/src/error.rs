//! The CLI's error currency: a message chain plus whether the input or the run was at fault.

/// Why a subcommand failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bad input (flags, files, configuration): exit code 2.
    Input,
    /// A runtime failure: exit code 1.
    Runtime,
    /// A run that ended without failing but not as asked (a realm stopped by `--timeout` or Ctrl-C): the
    /// given exit code.
    Stopped(u8),
}

/// A failed subcommand.
#[derive(Debug)]
pub struct CliError {
    /// Whose fault.
    pub fault: Fault,
    /// The whole chain, printed with `{:#}`.
    pub error: anyhow::Error,
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self.fault {
            Fault::Input => 2,
            Fault::Runtime => 1,
            Fault::Stopped(code) => code,
        }
    }
}

/// Wrap an error as bad input (exit code 2).
pub fn input(error: impl Into<anyhow::Error>) -> CliError {
    CliError {
        fault: Fault::Input,
        error: error.into(),
    }
}

/// Wrap an error as a runtime failure (exit code 1).
pub fn runtime(error: impl Into<anyhow::Error>) -> CliError {
    CliError {
        fault: Fault::Runtime,
        error: error.into(),
    }
}

/// End with exit code `code` (see [`Fault::Stopped`]), saying why on stderr.
pub fn stopped(code: u8, error: impl Into<anyhow::Error>) -> CliError {
    CliError {
        fault: Fault::Stopped(code),
        error: error.into(),
    }
}

/// A subcommand's result.
pub type CliResult = Result<(), CliError>;
