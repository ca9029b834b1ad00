//! Data-parallel SVI (`Svi::with_peers`): peers as threads (burn-collective) and as
//! processes over loopback (this binary started again as the other peer) take the same steps
//! as a single process on the same minibatches, and a peer that stops, crashes or hangs makes
//! the others fail with a clear error within a bounded time.
//!
//! Its own test binary: burn-collective keeps one collective per backend type per process,
//! and a process joins one process-peer fit at a time, so these tests run one at a time (a
//! lock) and reset the collective before each.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use burn::backend::{Autodiff, NdArray};
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t1;
use ppl_dist::{Constraint, Normal};
use ppl_infer::collective::Peers;
use ppl_infer::{InferError, Svi, SviConfig};

type B = Autodiff<NdArray<f64>>;
type Inner = NdArray<f64>;

#[path = "shared/split_rows.rs"]
mod split_rows;

use split_rows::{local_guide, local_model, logistic_data, logistic_model, split_config, ROWS};

/// One collective per backend type per process: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    burn_collective::reset_collective::<Inner>();
    guard
}

/// A mean-field guide whose locations start at `init` (peers given different starts must
/// all take peer 0's).
fn guide(init: f64) -> impl Fn(&mut Ctx<B>) + Clone + Send + Sync + 'static {
    move |ctx: &mut Ctx<B>| {
        for site in ["w", "b"] {
            let loc = ctx.param(&format!("{site}_loc"), ctx.full([1], init), Constraint::Real);
            let scale = ctx.param(&format!("{site}_scale"), ctx.full([1], 0.5), Constraint::Positive);
            ctx.sample(site, Normal::new(loc, scale));
        }
    }
}

fn data() -> Data<B> {
    logistic_data::<B>(&Default::default())
}

/// [`split_config`]: 20 steps, the last minibatch of each epoch smaller than the peers.
fn config() -> SviConfig {
    split_config()
}

fn params<M: ppl_infer::SviModel<B>, Q: ppl_infer::SviGuide<B>>(svi: &Svi<B, M, Q>) -> Vec<f64> {
    ["w_loc", "w_scale", "b_loc", "b_scale"]
        .iter()
        .flat_map(|n| svi.param(n).unwrap().to_vec())
        .collect()
}

/// The single-process fit: parameters and losses.
fn single_process() -> (Vec<f64>, Vec<f64>) {
    let mut svi = Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &Default::default());
    svi.fit(&data()).unwrap();
    assert_eq!(svi.steps(), 20);
    (params(&svi), svi.losses().to_vec())
}

/// One peer's fit (its guide starting at `init`), stopping after `max_steps` if given.
fn peer_fit(peers: Peers, init: f64, max_steps: Option<usize>) -> Result<(Vec<f64>, Vec<f64>), InferError> {
    let config = SviConfig { max_steps, ..config() };
    let mut svi = Svi::from_fns(logistic_model::<B>, guide(init), config, &Default::default()).with_peers(peers)?;
    svi.fit(&data())?;
    Ok((params(&svi), svi.losses().to_vec()))
}

fn assert_same_steps(peer: &(Vec<f64>, Vec<f64>), single: &(Vec<f64>, Vec<f64>), what: &str) {
    for (a, b) in peer.0.iter().zip(&single.0) {
        assert!(
            (a - b).abs() <= 1e-6,
            "{what}: parameters {:?} vs single process {:?}",
            peer.0,
            single.0
        );
    }
    assert_eq!(peer.1.len(), single.1.len(), "{what}: steps");
    for (a, b) in peer.1.iter().zip(&single.1) {
        assert!(
            (a - b).abs() <= 1e-9 * (a.abs() + b.abs()),
            "{what}: losses {:?} vs {:?}",
            peer.1,
            single.1
        );
    }
}

#[test]
fn peers_as_threads_take_the_single_process_steps() {
    let _serial = serial();
    let single = single_process();
    for count in [2, 3] {
        let handles: Vec<_> = (0..count)
            .map(|k| {
                // Each peer's guide starts elsewhere: all must take peer 0's start (0.0).
                std::thread::spawn(move || peer_fit(Peers::threads(k, count), 0.25 * k as f64, None))
            })
            .collect();
        let fits: Vec<_> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        for (k, fit) in fits.iter().enumerate() {
            assert_same_steps(fit, &single, &format!("peer {k} of {count}"));
            assert_eq!(fit.0, fits[0].0, "peer {k} of {count} differs from peer 0 (bitwise)");
        }
    }
}

/// With device sampling the peers draw from burn's one RNG per backend at the same time;
/// each draw is seeded and made under one lock, so a seed still fixes the fit: two runs of
/// two peers give the same parameters bit for bit.
#[test]
fn thread_peers_with_device_sampling_are_reproducible() {
    let _serial = serial();
    let run = || {
        let handles: Vec<_> = (0..2)
            .map(|k| {
                std::thread::spawn(move || {
                    let config = SviConfig {
                        sampling: ppl_infer::Sampling::Device,
                        ..config()
                    };
                    let mut svi = Svi::from_fns(logistic_model::<B>, guide(0.0), config, &Default::default())
                        .with_peers(Peers::threads(k, 2))
                        .unwrap();
                    svi.fit(&data()).unwrap();
                    params(&svi)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    };
    let (first, second) = (run(), run());
    assert_eq!(first[0], first[1], "the peers differ");
    assert_eq!(first, second, "two runs with one seed differ");
}

#[test]
fn a_thread_peer_that_stops_fails_the_others_within_the_timeout() {
    let _serial = serial();
    let timeout = Duration::from_secs(3);
    // Peer 1 leaves after 3 steps (its Svi dropped: it says so), or vanishes (never says).
    for vanish in [false, true] {
        burn_collective::reset_collective::<Inner>();
        let start = Instant::now();
        let leader = std::thread::spawn(move || peer_fit(Peers::threads(0, 2).with_timeout(timeout), 0.0, None));
        let other = std::thread::spawn(move || {
            let config = SviConfig {
                max_steps: Some(3),
                ..config()
            };
            let mut svi = Svi::from_fns(logistic_model::<B>, guide(0.0), config, &Default::default())
                .with_peers(Peers::threads(1, 2).with_timeout(timeout))
                .unwrap();
            svi.fit(&data()).unwrap();
            if vanish {
                std::mem::forget(svi);
            }
        });
        other.join().unwrap();
        let error = leader.join().unwrap().unwrap_err().to_string();
        let waited = start.elapsed();
        assert!(error.starts_with("peer 0 of 2, step 3:"), "{error}");
        let timed_out = error.contains("no answer from the other peers within 3");
        if vanish {
            assert!(timed_out, "{error}");
        } else {
            // Said at once when the leaving reaches the collective before peer 0's exchange;
            // otherwise the exchange waits for a peer that has left, and the timeout says it.
            assert!(error.contains("only 1 of 2 peers took part") || timed_out, "{error}");
        }
        assert!(waited < Duration::from_secs(30), "the failure took {waited:?}");
    }
    burn_collective::reset_collective::<Inner>();
}

#[test]
fn peers_started_with_other_seeds_or_data_fail_by_name() {
    let _serial = serial();
    // Peer 1 has another seed, then fewer data rows than peer 0: both peers stop at joining,
    // peer 1 saying what differs.
    for (seed, rows, want) in [(7, ROWS, "seed 7, peer 0's 0"), (0, ROWS - 8, "data rows, peer 0's")] {
        let handles: Vec<_> = (0..2)
            .map(|k| {
                std::thread::spawn(move || {
                    let config = SviConfig {
                        seed: if k == 1 { seed } else { 0 },
                        ..config()
                    };
                    let all = data();
                    let data = if k == 1 {
                        all.select_rows(&(0..rows).collect::<Vec<_>>())
                    } else {
                        all
                    };
                    let mut svi = Svi::from_fns(logistic_model::<B>, guide(0.0), config, &Default::default())
                        .with_peers(Peers::threads(k, 2))
                        .unwrap();
                    (svi.fit(&data).unwrap_err().to_string(), svi.steps())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let (e0, e1) = (&results[0].0, &results[1].0);
        assert!(e1.starts_with("peer 1 of 2, step 0:") && e1.contains(want), "{e1}");
        assert!(e1.contains("every peer must run the same fit"), "{e1}");
        assert!(
            e0.contains("another peer was started with other settings than peer 0"),
            "{e0}"
        );
        assert_eq!((results[0].1, results[1].1), (0, 0), "no step taken");
    }
}

#[test]
fn peer_settings_and_objectives_that_cannot_split_are_refused() {
    let dev = Default::default();
    let svi = || Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &dev);
    let err = svi().with_peers(Peers::threads(3, 2)).err().unwrap().to_string();
    assert!(err.contains("peer id 3 out of range for 2 peers"), "{err}");
    let renyi = SviConfig {
        elbo: ppl_infer::Elbo::Renyi {
            alpha: 0.5,
            particles: 4,
        },
        ..config()
    };
    let err = Svi::from_fns(logistic_model::<B>, guide(0.0), renyi, &dev)
        .with_peers(Peers::threads(0, 2))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("Rényi bound"), "{err}");
    let shares = SviConfig {
        batch_shares: 2,
        ..config()
    };
    let err = Svi::from_fns(logistic_model::<B>, guide(0.0), shares, &dev)
        .with_peers(Peers::threads(0, 2))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("batch_shares = 2"), "{err}");
}

#[test]
fn peer_zero_writes_the_checkpoint_and_every_peer_resumes_from_it() {
    let _serial = serial();
    let dev = Default::default();
    let data = data();
    // 20 minibatches of 13 rows, then of 1 (fewer rows than peers).
    let batches: Vec<Data<B>> = (0..20)
        .map(|i| {
            let size = if i % 4 == 3 { 1 } else { 13 };
            data.select_rows(&(0..size).map(|r| (7 * i + 3 * r) % ROWS).collect::<Vec<_>>())
        })
        .collect();
    let mut single = Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &dev);
    for b in &batches {
        single.step(b, ROWS).unwrap();
    }
    let want = params(&single);
    let dir = |k: usize| std::env::temp_dir().join(format!("ppl-dp-ckpt-{}-{k}", std::process::id()));
    // Both peers have left the first fit before either joins the second.
    let left = std::sync::Arc::new(std::sync::Barrier::new(2));
    let run = |k: usize, batches: Vec<Data<B>>| {
        let (dir0, own, left) = (dir(0), dir(k), left.clone());
        std::thread::spawn(move || {
            let dev = Default::default();
            let mut first = Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &dev)
                .with_peers(Peers::threads(k, 2))
                .unwrap();
            for b in &batches[..10] {
                first.step(b, ROWS).unwrap();
            }
            first.save_checkpoint(&own).unwrap();
            drop(first);
            left.wait();
            let wrote = own.exists();
            // Every peer resumes from peer 0's checkpoint.
            let mut resumed = Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &dev)
                .with_peers(Peers::threads(k, 2))
                .unwrap();
            resumed.load_checkpoint(&dir0).unwrap();
            for b in &batches[10..] {
                resumed.step(b, ROWS).unwrap();
            }
            (wrote, params(&resumed))
        })
    };
    let handles: Vec<_> = (0..2).map(|k| run(k, batches.clone())).collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results[0].0, "peer 0 writes its checkpoint");
    assert!(!results[1].0, "peer 1 writes none");
    for (k, (_, got)) in results.iter().enumerate() {
        for (a, b) in got.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-6,
                "peer {k} resumed: {got:?} vs uninterrupted single process {want:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir(0));
}

#[test]
fn a_bad_step_on_one_peer_is_a_bad_step_on_every_peer() {
    let _serial = serial();
    // Row 35 (in peer 1's share of the one minibatch of 40 rows) has x = NaN: its logit is
    // an invalid parameter.
    let dev = Default::default();
    let base = data();
    let mut x = base.get("x").unwrap().to_vec();
    let y = base.get("y").unwrap().to_vec();
    x[35] = f64::NAN;
    let bad = Data::new().with("x", t1::<B>(&x, &dev)).with("y", t1::<B>(&y, &dev));
    let handles: Vec<_> = (0..2)
        .map(|k| {
            let bad = bad.clone();
            std::thread::spawn(move || {
                let mut svi = Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &Default::default())
                    .with_peers(Peers::threads(k, 2))
                    .unwrap();
                let error = svi.step(&bad, ROWS).unwrap_err().to_string();
                (error, svi.steps())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (e0, e1) = (&results[0].0, &results[1].0);
    assert!(
        e1.contains("site `y`") && e1.contains("`logits` = NaN"),
        "peer 1 names the site: {e1}"
    );
    assert!(
        e0.starts_with("peer 0 of 2, step 0:") && e0.contains("another peer's loss was not finite"),
        "{e0}"
    );
    assert_eq!((results[0].1, results[1].1), (0, 0), "no update on either peer");
}

#[test]
fn thread_peers_draw_their_own_rows_local_latents() {
    // Four equal rows, two peers of two rows each. Peer 0's rows draw what a single process
    // draws for the first two rows; had peer 1 drawn the same noise (shares of one length
    // from one key), the step's loss would be exactly the single process's on those two rows.
    let _serial = serial();
    let dev = Default::default();
    let rows = |n: usize| Data::new().with("x", t1::<B>(&vec![0.7; n], &dev));
    let mut single = Svi::from_fns(local_model::<B>, local_guide::<B>, config(), &dev);
    let two_rows = single.step(&rows(2), ROWS).unwrap();
    let handles: Vec<_> = (0..2)
        .map(|k| {
            std::thread::spawn(move || {
                let dev = Default::default();
                let data = Data::new().with("x", t1::<B>(&[0.7; 4], &dev));
                let mut svi = Svi::from_fns(local_model::<B>, local_guide::<B>, config(), &dev)
                    .with_peers(Peers::threads(k, 2))
                    .unwrap();
                svi.step(&data, ROWS).unwrap()
            })
        })
        .collect();
    let losses: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(losses[0], losses[1], "the peers report one loss");
    let peer_one = 2.0 * losses[0] - two_rows;
    assert!(
        (peer_one - two_rows).abs() > 1e-6 * two_rows.abs(),
        "peer 1's rows drew peer 0's noise: share losses {two_rows} and {peer_one}"
    );
}

// ---- Peers as processes (`Peers::processes`, loopback) ----
//
// Peer 0 runs in this test process; peer 1 is this test binary started again, running only
// the ignored `process_peer` test, told its part by environment variables.

/// The variables that make `process_peer` a peer: its id, peer 0's address, the file it
/// writes its result to, the step after which it stops, and whether it then crashes (ends
/// its process without leaving) instead of leaving.
const PEER_ID: &str = "PPL_TEST_PEER_ID";
const PEER_ADDRESS: &str = "PPL_TEST_PEER_ADDRESS";
const PEER_OUT: &str = "PPL_TEST_PEER_OUT";
const PEER_STOP_AFTER: &str = "PPL_TEST_PEER_STOP_AFTER";
const PEER_CRASH: &str = "PPL_TEST_PEER_CRASH";
const PEER_HANG: &str = "PPL_TEST_PEER_HANG";
const PEER_TWICE: &str = "PPL_TEST_PEER_TWICE";

/// How a peer process ends.
#[derive(Clone, Copy)]
enum Ending {
    /// It fits to the end.
    Fits,
    /// It stops after 3 steps and leaves (its `Svi` dropped).
    Leaves,
    /// It stops after 3 steps and its process ends without leaving, as in a crash.
    Crashes,
    /// It stops after 3 steps and hangs, its connection open (until it is killed).
    Hangs,
    /// It fits to the end twice, one fit after the other (the second joins anew).
    FitsTwice,
}

/// A free loopback port (bound and released; the peers bind it again at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start this test binary as peer `id` of 2 at `address`, writing its result to `out`.
fn spawn_peer(id: usize, address: &str, out: &std::path::Path, ending: Ending) -> std::process::Child {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "process_peer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PEER_ID, id.to_string())
        .env(PEER_ADDRESS, address)
        .env(PEER_OUT, out)
        .stdout(std::process::Stdio::null());
    match ending {
        Ending::Fits => {}
        Ending::Leaves => {
            command.env(PEER_STOP_AFTER, "3");
        }
        Ending::Crashes => {
            command.env(PEER_STOP_AFTER, "3").env(PEER_CRASH, "1");
        }
        Ending::Hangs => {
            command.env(PEER_STOP_AFTER, "3").env(PEER_HANG, "1");
        }
        Ending::FitsTwice => {
            command.env(PEER_TWICE, "1");
        }
    }
    command.spawn().unwrap()
}

/// Wait at most `limit` for `child`; kill it past that.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// One peer process's fit (started by the tests below with the variables above): its guide
/// starts at 0.5 (it must take peer 0's start); it writes `ok`, its parameters and losses, or
/// `err` and the error, to its file.
#[test]
#[ignore = "a peer process: the process tests start it with PPL_TEST_PEER_* set"]
fn process_peer() {
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run by the process tests"));
    let id: usize = var(PEER_ID).parse().unwrap();
    let peers = Peers::processes(id, 2, var(PEER_ADDRESS)).with_timeout(Duration::from_secs(60));
    let max_steps = std::env::var(PEER_STOP_AFTER).ok().map(|s| s.parse::<usize>().unwrap());
    let (crash, hang) = (std::env::var(PEER_CRASH).is_ok(), std::env::var(PEER_HANG).is_ok());
    if crash || hang {
        let config = SviConfig { max_steps, ..config() };
        let mut svi = Svi::from_fns(logistic_model::<B>, guide(0.5), config, &Default::default())
            .with_peers(peers)
            .unwrap();
        svi.fit(&data()).unwrap();
        std::fs::write(var(PEER_OUT), "ok stopped").unwrap();
        std::mem::forget(svi);
        if hang {
            // Keep the connection open and answer nothing (the test kills this process).
            std::thread::sleep(Duration::from_secs(120));
        }
        // End the process with the connection open: no leaving, no close frame.
        std::process::exit(3);
    }
    if std::env::var(PEER_TWICE).is_ok() {
        peer_fit(peers.clone(), 0.5, max_steps).unwrap();
    }
    let line = match peer_fit(peers, 0.5, max_steps) {
        Ok((params, losses)) => format!("ok {params:?} {losses:?}"),
        Err(e) => format!("err {e}"),
    };
    std::fs::write(var(PEER_OUT), line).unwrap();
}

/// Parses `ok [params] [losses]` as written by `process_peer`.
fn read_peer_result(out: &std::path::Path) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(out).unwrap();
    let rest = text
        .strip_prefix("ok ")
        .unwrap_or_else(|| panic!("the peer process failed: {text}"));
    let lists: Vec<Vec<f64>> = rest
        .split(']')
        .filter(|s| s.contains('['))
        .map(|s| {
            let inner = s.split('[').nth(1).unwrap();
            inner
                .split(',')
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().parse().unwrap())
                .collect()
        })
        .collect();
    (lists[0].clone(), lists[1].clone())
}

/// A loopback address for peer 0, and this test binary started as peer 1 of 2 there, writing
/// its result to a file named after `tag`.
fn start_peer_one(tag: &str, ending: Ending) -> (String, std::path::PathBuf, std::process::Child) {
    let address = format!("ws://127.0.0.1:{}", free_port());
    let out = std::env::temp_dir().join(format!("ppl-dp-proc-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let child = spawn_peer(1, &address, &out, ending);
    (address, out, child)
}

/// Peer 0 of `count` in this process at `address`, whose fit must fail: the error and how
/// long it took.
fn leader_fails(address: &str, count: usize, timeout: Duration) -> (String, Duration) {
    let start = Instant::now();
    let error = Svi::from_fns(logistic_model::<B>, guide(0.0), config(), &Default::default())
        .with_peers(Peers::processes(0, count, address).with_timeout(timeout))
        .and_then(|mut svi| svi.fit(&data()).map(|_| ()))
        .unwrap_err()
        .to_string();
    (error, start.elapsed())
}

#[test]
fn peers_as_processes_take_the_single_process_steps() {
    let _serial = serial();
    let single = single_process();
    // Peer 1 starts first: it waits for peer 0 to listen.
    let (address, out, mut child) = start_peer_one("ok", Ending::Fits);
    let here = peer_fit(
        Peers::processes(0, 2, &address).with_timeout(Duration::from_secs(60)),
        0.0,
        None,
    );
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let here = here.unwrap();
    assert!(status.is_some_and(|s| s.success()), "peer 1's process: {status:?}");
    let there = read_peer_result(&out);
    assert_same_steps(&here, &single, "peer 0 (this process)");
    assert_same_steps(&there, &single, "peer 1 (its own process)");
    assert_eq!(here.0, there.0, "the processes' parameters differ (bitwise)");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn process_peers_join_again_for_a_second_fit() {
    // One fit after the other in the same processes: peer 0 listens at the same port again.
    let _serial = serial();
    let single = single_process();
    let (address, out, mut child) = start_peer_one("twice", Ending::FitsTwice);
    let peers = Peers::processes(0, 2, &address).with_timeout(Duration::from_secs(60));
    let first = peer_fit(peers.clone(), 0.0, None).unwrap();
    let second = peer_fit(peers, 0.0, None).unwrap();
    assert!(wait_bounded(&mut child, Duration::from_secs(60)).is_some_and(|s| s.success()));
    assert_same_steps(&first, &single, "first fit");
    assert_same_steps(&second, &single, "second fit");
    assert_eq!(read_peer_result(&out).0, second.0, "peer 1's second fit");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_process_peer_that_leaves_or_crashes_fails_the_other_at_once() {
    let _serial = serial();
    // The other process stops after 3 steps and leaves, or ends as if it crashed; peer 0's
    // timeout is long, so only the ended connection can end its wait that soon.
    for ending in [Ending::Leaves, Ending::Crashes] {
        let (address, out, mut child) = start_peer_one("end", ending);
        let (error, waited) = leader_fails(&address, 2, Duration::from_secs(60));
        assert!(error.starts_with("peer 0 of 2, step 3:"), "{error}");
        assert!(
            error.contains("peer 1: its connection"),
            "names the peer and the cause: {error}"
        );
        assert!(waited < Duration::from_secs(30), "the failure took {waited:?}");
        assert!(wait_bounded(&mut child, Duration::from_secs(30)).is_some());
        assert!(std::fs::read_to_string(&out).unwrap().starts_with("ok "));
        let _ = std::fs::remove_file(&out);
    }
}

#[test]
fn a_process_peer_that_hangs_fails_the_other_within_the_timeout() {
    let _serial = serial();
    let (address, out, mut child) = start_peer_one("hang", Ending::Hangs);
    let (error, waited) = leader_fails(&address, 2, Duration::from_secs(5));
    let _ = child.kill();
    let _ = child.wait();
    assert!(error.starts_with("peer 0 of 2, step 3:"), "{error}");
    assert!(error.contains("peer 1: no message within the timeout"), "{error}");
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(30),
        "the failure took {waited:?}"
    );
    let _ = std::fs::remove_file(&out);
}

#[test]
fn process_peers_started_inconsistently_are_refused_by_name() {
    let _serial = serial();
    // Peer 0 expects 3 peers; the process started as peer 1 of 2 is refused, and says so.
    let (address, out, mut child) = start_peer_one("refused", Ending::Fits);
    let (error, _) = leader_fails(&address, 3, Duration::from_secs(60));
    assert!(
        error.contains("peer 1 was started with 2 peers, peer 0 with 3"),
        "{error}"
    );
    assert!(wait_bounded(&mut child, Duration::from_secs(60)).is_some());
    let theirs = std::fs::read_to_string(&out).unwrap();
    assert!(
        theirs.contains("peer 0 refused: peer 1 was started with 2 peers"),
        "{theirs}"
    );
    let _ = std::fs::remove_file(&out);
}
