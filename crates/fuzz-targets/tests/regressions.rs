//! Replays every input kept under `regressions/{target}/` (crashes the fuzzers found, once
//! fixed, and seeds worth keeping) through its target, on the stable toolchain, in CI.

use std::path::Path;

#[test]
fn every_kept_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut replayed = 0;
    for (name, target) in tessera_fuzz_targets::TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no kept inputs under {}", root.display());
}
