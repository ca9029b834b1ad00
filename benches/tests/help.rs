//! The benchmark runners' command lines: `--help` lists every flag with its default (or what
//! happens without it), and a bad flag is a clap error.

use std::process::Command;

fn help(exe: &str) -> String {
    let out = Command::new(exe).arg("--help").output().unwrap();
    assert!(out.status.success(), "{exe} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The `--flag` lines of a help text, `--help` left out.
fn flags(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("--"))
        .collect()
}

#[test]
fn every_runner_lists_every_flag_with_its_default_in_help() {
    let runners = [
        (
            env!("CARGO_BIN_EXE_svi_steps"),
            &[
                "--model",
                "--steps",
                "--reps",
                "--warmup",
                "--seed",
                "--validation",
                "--batch-shares",
                "--sampling",
                "--undo",
                "--pool-wait",
            ][..],
        ),
        (env!("CARGO_BIN_EXE_amortized_memory"), &["--rows", "--compare"][..]),
    ];
    for (exe, expected) in runners {
        let text = help(exe);
        let lines = flags(&text);
        let names: Vec<&str> = lines.iter().map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(names, expected, "{exe}:\n{text}");
        for l in &lines {
            assert!(l.to_lowercase().contains("default"), "{exe}: no default in `{l}`");
        }
        let out = Command::new(exe).arg("--bogus").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{exe} --bogus");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
    }
    // The values the comparison script relies on.
    let text = help(env!("CARGO_BIN_EXE_svi_steps"));
    assert!(
        text.contains("[default: digits]")
            && text.contains("[default: first-step]")
            && text.contains("[default: last-update]")
            && text.contains("[default: auto]"),
        "{text}"
    );
}

/// `--batch-shares`, `--sampling device` and `--undo off` on a workload that takes its data whole (and
/// draws on the host) are refused with a message that names the flag and the workload, before
/// any step runs.
#[test]
fn batch_shares_device_sampling_and_undo_on_a_small_model_are_refused() {
    for (flag, value) in [("--batch-shares", "2"), ("--sampling", "device"), ("--undo", "off")] {
        let out = Command::new(env!("CARGO_BIN_EXE_svi_steps"))
            .args(["--model", "logistic", flag, value, "--steps", "1", "--reps", "1"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.contains("`logistic`"), "{err}");
        assert!(out.stdout.is_empty(), "no result line for a refused run");
    }
}
