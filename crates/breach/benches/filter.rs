//! The breach filter at scale: `entries` (10^7 by default, `TESSERA_BENCH_ENTRIES`) distinct
//! SHA-1s of synthetic passwords, built into BinaryFuse8 and BinaryFuse16 filters as
//! `tessera breach import` does, written and read back through the file format; then bytes per
//! entry of the file, build time, lookups per second on one core (the full path a sign-in takes:
//! digest → key → filter; half members, half not), and the false-positive rate measured over
//! 10^6 passwords that were not put in. The embedded list's lookups for comparison.
//!
//!     cargo bench -p tessera-breach

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;
use tessera_breach::{Bits, Filter, FilterFile};

fn main() {
    let entries: usize = std::env::var("TESSERA_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    println!("breach filter, {entries} distinct SHA-1s (synthetic passwords):");
    let started = Instant::now();
    let keys: Vec<u64> = (0..entries)
        .map(|i| tessera_breach::key(&tessera_breach::sha1(&format!("breached-{i}"))))
        .collect();
    println!(
        "  hashing the corpus: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let probes = 1_000_000usize;
    let stride = (entries / (probes / 2)).max(1);
    let members: Vec<[u8; 20]> = (0..probes / 2)
        .map(|i| tessera_breach::sha1(&format!("breached-{}", (i * stride) % entries)))
        .collect();
    let strangers: Vec<[u8; 20]> = (0..probes)
        .map(|i| tessera_breach::sha1(&format!("never-breached-{i}")))
        .collect();
    println!(
        "  {:<14} {:>12} {:>12} {:>9} {:>14} {:>11}",
        "filter", "file bytes", "bytes/entry", "build s", "lookups/s", "false pos."
    );
    for bits in [Bits::Eight, Bits::Sixteen] {
        let t = Instant::now();
        let filter = Filter::build(keys.clone(), bits).expect("build");
        let build = t.elapsed();
        let mut file = Vec::with_capacity(filter.fingerprint_bytes() as usize + 64);
        filter.write_to(&mut file).expect("write");
        let back = Filter::read_from(&mut file.as_slice()).expect("read");
        assert!(
            members.iter().all(|d| back.contains(d)),
            "a member was not found"
        );
        let mix: Vec<&[u8; 20]> = members
            .iter()
            .zip(strangers.iter())
            .flat_map(|(a, b)| [a, b])
            .collect();
        let rounds = 5;
        let t = Instant::now();
        let mut found = 0usize;
        for _ in 0..rounds {
            for d in &mix {
                found += usize::from(back.contains(std::hint::black_box(d)));
            }
        }
        let per_second = (mix.len() * rounds) as f64 / t.elapsed().as_secs_f64();
        std::hint::black_box(found);
        let false_positives = strangers.iter().filter(|d| back.contains(d)).count();
        let label = match bits {
            Bits::Eight => "BinaryFuse8",
            Bits::Sixteen => "BinaryFuse16",
        };
        println!(
            "  {:<14} {:>12} {:>12.3} {:>9.2} {:>14.0} {:>10.4}%",
            label,
            file.len(),
            file.len() as f64 / filter.entries() as f64,
            build.as_secs_f64(),
            per_second,
            false_positives as f64 * 100.0 / strangers.len() as f64
        );
        // The same filter looked up where it lies on disk, as `serve` does (page cache warm
        // after the first round; the first round is the cold figure).
        let path =
            std::env::temp_dir().join(format!("tessera-bench-filter-{}", std::process::id()));
        std::fs::write(&path, &file).expect("write file");
        let on_disk = FilterFile::open(&path).expect("open file");
        let mut timings = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            for d in &mix {
                found += usize::from(on_disk.contains(std::hint::black_box(d)).expect("read"));
            }
            timings.push(mix.len() as f64 / t.elapsed().as_secs_f64());
        }
        std::hint::black_box(found);
        let warm = timings[1..].iter().sum::<f64>() / (timings.len() - 1) as f64;
        println!(
            "  {:<14} {:>12} {:>12} {:>9} {:>14.0} (warm; first round {:.0}/s) = {:.3}x in memory, 0 heap bytes",
            format!("{label} file"),
            "",
            "",
            "",
            warm,
            timings[0],
            warm / per_second
        );
        let _ = std::fs::remove_file(&path);
    }
    // With the SHA-1 of the password included (what a sign-in pays from the plain password).
    let t = Instant::now();
    let n = 200_000;
    let mut hits = 0usize;
    for i in 0..n {
        hits += usize::from(tessera_breach::embedded(&tessera_breach::sha1(&format!(
            "pw-{i}"
        ))));
    }
    std::hint::black_box(hits);
    println!(
        "  embedded list ({} passwords), SHA-1 + lookup: {:.0} per second",
        tessera_breach::embedded_len(),
        n as f64 / t.elapsed().as_secs_f64()
    );
}
