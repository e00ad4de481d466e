//! The process's surroundings behind small traits (layer 3): environment variables, the
//! filesystem and the clock. Library code never reads them ambiently: `provider`, `setup` and
//! `doctor` take them from their caller, so tests run on maps, temporary directories and fixed
//! clocks, and nothing sleeps.
//!
//! | what | trait | the real one | in tests |
//! |------|-------|--------------|----------|
//! | environment variables | [`Environment`] | [`ProcessEnvironment`] | a `HashMap` |
//! | files | [`Fs`] | [`RealFs`] | [`RealFs`] on a temporary directory, or your own |
//! | time | [`TimeSource`] (aws-smithy-async's, as aws-config injects it) | [`SystemTimeSource`] | [`StaticTimeSource`] |
//!
//! ```
//! use std::collections::HashMap;
//! use irsa::env::Environment;
//!
//! let env = HashMap::from([("AWS_REGION", "eu-west-1")]);
//! assert_eq!(env.var("AWS_REGION").as_deref(), Some("eu-west-1"));
//! assert_eq!(env.var("HOME"), None);
//! ```

mod fs;
mod vars;

pub use aws_smithy_async::time::{
    SharedTimeSource, StaticTimeSource, SystemTimeSource, TimeSource,
};
pub use fs::{Fs, RealFs, write_atomic};
pub use vars::{Environment, ProcessEnvironment};
