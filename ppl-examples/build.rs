//! Records the git commit the examples are built from (`PPL_GIT_COMMIT`, empty when there is
//! no git or no checkout), for the provenance in every `summary.json`.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=PPL_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves; only paths that exist (a missing one would rebuild every time).
    let git = Path::new("../.git");
    let mut watch = vec![git.join("HEAD"), git.join("packed-refs")];
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
        if let Some(r) = head.strip_prefix("ref: ") {
            watch.push(git.join(r.trim()));
        }
    }
    for p in watch.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
