//! Files are replaced whole: a writer killed at any moment (SIGKILL, no chance to clean up)
//! leaves the old file or the new one, never a mix or a truncated file.
//!
//! The test binary re-runs itself as the writer: with `IRSA_ATOMIC_WRITER` set, this test
//! writes two 8 MiB files in turn to that path until it is killed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use irsa::env::write_atomic;

const WRITER: &str = "IRSA_ATOMIC_WRITER";
const SIZE: usize = 8 << 20;

#[cfg(unix)]
#[test]
fn a_writer_killed_mid_write_leaves_the_old_file_or_the_new_one() {
    if let Some(path) = std::env::var_os(WRITER) {
        let path = Path::new(&path);
        // Tell the parent that writing begins now.
        std::fs::write(path.with_extension("started"), b"").unwrap();
        for byte in [b'a', b'b'].into_iter().cycle() {
            write_atomic(path, &vec![byte; SIZE], 0o644).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("discovery.json");
    write_atomic(&path, &vec![b'a'; SIZE], 0o644).unwrap();
    let mut caught_between = 0;
    for round in 0..20u64 {
        let mut writer = Command::new(std::env::current_exe().unwrap())
            .args([
                "atomic::a_writer_killed_mid_write_leaves_the_old_file_or_the_new_one",
                "--exact",
                "--test-threads=1",
            ])
            .env(WRITER, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Once the writer runs, kill it at a different point of its write cycle each round.
        let started = path.with_extension("started");
        while !started.exists() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(5 + 7 * round));
        writer.kill().unwrap();
        writer.wait().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), SIZE, "round {round}: the file is whole");
        assert!(
            bytes.iter().all(|b| *b == bytes[0]) && [b'a', b'b'].contains(&bytes[0]),
            "round {round}: the file is one write, not a mix"
        );
        // A temporary file left behind means the kill landed between open and rename.
        std::fs::remove_file(&started).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != "discovery.json" {
                caught_between += 1;
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
    }
    assert!(
        caught_between > 0,
        "no kill landed inside a write: the test proved nothing"
    );
}
