//! Environment variables.

use std::collections::HashMap;
use std::fmt;

/// A source of environment variables. [`ProcessEnvironment`] reads the process's; a `HashMap`
/// (or anything else) stands in for it in tests.
pub trait Environment: fmt::Debug + Send + Sync {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        // The one place the library reads the process environment, on the caller's request.
        #[allow(clippy::disallowed_methods)]
        std::env::var(name).ok()
    }
}

impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Environment for HashMap<&'static str, &'static str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| (*v).to_owned())
    }
}
