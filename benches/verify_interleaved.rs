//! The verify benchmark's three RS256 contenders timed in alternating rounds: the floor (the
//! aws-lc RSA check alone, key pre-parsed, signature pre-decoded), irsa's full verification and
//! jsonwebtoken 12. Criterion measures them one after the other, seconds apart, so a machine
//! whose speed drifts by a few percent (a shared one) skews their ratios; here each round
//! times a block of calls of each, and the ratios are taken within the round.
//!
//! ```text
//! cargo bench --bench verify_interleaved [-- rounds=41 calls=400]
//! ```
//!
//! Prints the median and quartiles over the rounds of irsa / floor and irsa / jsonwebtoken.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    // An experiment's own clock.
    clippy::disallowed_methods
)]

// Shared with the benchmark, which also measures the ES256 token and the cache.
#[allow(dead_code)]
#[path = "support/verify_fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::time::Instant;

use fixture::{Fixture, JwtClaims, now};

/// Nanoseconds for `calls` runs of `f`.
fn time(calls: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_nanos() as f64
}

/// Median and quartiles.
fn summary(mut ratios: Vec<f64>) -> String {
    ratios.sort_by(f64::total_cmp);
    let at = |q: usize| ratios[(ratios.len() - 1) * q / 4];
    format!("{:.4} (quartiles {:.4}–{:.4})", at(2), at(1), at(3))
}

fn main() -> Result<(), String> {
    let (mut rounds, mut calls) = (41, 400);
    // `cargo bench` adds `--bench`.
    for arg in std::env::args().skip(1).filter(|a| a != "--bench") {
        let number = |n: &str| n.parse().map_err(|_| format!("{arg}: not a number"));
        match arg.split_once('=') {
            Some(("rounds", n)) => rounds = number(n)?,
            Some(("calls", n)) => calls = number(n)?,
            _ => return Err(format!("unknown argument {arg:?}: give rounds=N calls=N")),
        }
    }
    let f = Fixture::new();
    let (mut to_floor, mut to_jwt) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let floor = time(calls, || {
            black_box(
                f.parsed
                    .verify_sig(black_box(f.signing_input()), black_box(&f.signature)),
            )
            .unwrap();
        });
        let irsa = time(calls, || {
            black_box(f.verifier.verify(black_box(&f.rs256), now())).unwrap();
        });
        let jwt = time(calls, || {
            black_box(jsonwebtoken::decode::<JwtClaims>(
                black_box(&f.rs256),
                &f.decoding_key,
                &f.validation,
            ))
            .unwrap();
        });
        to_floor.push(irsa / floor);
        to_jwt.push(irsa / jwt);
    }
    println!("{rounds} rounds of {calls} calls each");
    println!("irsa / floor:        {}", summary(to_floor));
    println!("irsa / jsonwebtoken: {}", summary(to_jwt));
    Ok(())
}
