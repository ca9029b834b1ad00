//! Peers as processes ([`Peers::processes`]), on burn-communication's websocket transport.
//!
//! Peer 0 listens at the port of the address every peer is given (burn-communication's
//! `WsServer`, route `/peers`); peer k > 0 connects to it (`WsClient`), says who it is, and
//! waits until all have joined. An exchange is a sum: each peer k > 0 sends its flat tensor
//! (burn's `TensorData`, serialized with `rmp-serde`, tagged with the exchange's number), peer 0
//! adds them to its own in peer order and sends the sum back, so every peer holds the same
//! bits. Every wait is bounded by the peers' timeout, and a closed connection (a peer that
//! stopped, failed or was killed) fails the others at once, naming the peer.
//!
//! (burn-collective 0.21.0's own multi-node all-reduce cannot be used: its node
//! synchronisation clears a copy of its list of synced nodes, not the list, so every node's
//! second all-reduce waits forever.)
//!
//! One process-peer fit at a time per process: the connection lives in a process-wide slot
//! from [`register`] to [`finish`].

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_communication::websocket::{WsClient, WsClientChannel, WsServer, WsServerChannel};
use burn_communication::{Address, CommunicationChannel, Message, ProtocolClient, ProtocolServer};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::exchange::peer_error;
use super::Peers;
use crate::InferError;

/// The route peer 0 serves.
const ROUTE: &str = "peers";

/// What the peers send each other.
#[derive(Debug, Serialize, Deserialize)]
enum Wire {
    /// Peer k > 0 to peer 0 on joining: its id and the number of peers it was started with.
    Hello { peer: usize, peers: usize },
    /// Peer 0's answer once every peer has joined.
    Welcome,
    /// Peer 0's answer when a peer cannot join (a duplicate id, another number of peers).
    Refused { reason: String },
    /// A peer's contribution to exchange `round` (to peer 0), or the sum (from peer 0).
    Values { round: u64, data: TensorData },
}

fn encode(wire: &Wire) -> Message {
    Message::new(rmp_serde::to_vec(wire).expect("a wire message serializes").into())
}

/// This process's side of the connections.
enum Role {
    /// Peer 0: the channel of each peer k > 0 at index k − 1, and the server's stop signal.
    Leader {
        channels: Vec<WsServerChannel>,
        stop: Option<oneshot::Sender<()>>,
    },
    /// Peer k > 0: its channel to peer 0 (`None` once the connection is gone).
    Follower { channel: Option<Box<WsClientChannel>> },
}

/// The connections of a joined process peer.
struct Link {
    runtime: Runtime,
    role: Role,
    /// The number of the last exchange.
    round: u64,
    /// Why the link cannot be used any more (a failed exchange leaves it so).
    broken: Option<String>,
}

/// The joined process peer of this process, if any.
static LINK: Mutex<Option<Link>> = Mutex::new(None);

fn link_slot() -> MutexGuard<'static, Option<Link>> {
    LINK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The port of a `ws://host:port` address.
///
/// # Errors
/// A message naming the address when it is not of that form.
pub(crate) fn port_of(address: &str) -> Result<u16, String> {
    let rest = address
        .strip_prefix("ws://")
        .ok_or_else(|| format!("the address of peer 0 must start with ws:// (got {address:?})"))?;
    let port = rest
        .rsplit_once(':')
        .map(|(_, port)| port.trim_end_matches('/'))
        .ok_or_else(|| format!("the address of peer 0 must name a port, ws://host:port (got {address:?})"))?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("the address of peer 0 has no valid port (got {address:?})"))
}

/// What a [`start_receive`] task hands back: the channel and what its `recv` returned.
type Receiving<C> = tokio::task::JoinHandle<(C, Result<Option<Message>, <C as CommunicationChannel>::Error>)>;

/// Start receiving one message on `channel`, on a task of its own (burn-communication's
/// channels panic when a connection ends without a close frame; the panic stays in the task).
fn start_receive<C: CommunicationChannel>(mut channel: C) -> Receiving<C> {
    tokio::spawn(async move {
        let got = channel.recv().await;
        (channel, got)
    })
}

/// The message a [`start_receive`] task got, read; `None` when the connection closed or
/// broke, with a description.
async fn received<C: CommunicationChannel>(task: Receiving<C>) -> (Option<C>, Result<Wire, String>) {
    match task.await {
        Ok((channel, Ok(Some(message)))) => {
            let wire = rmp_serde::from_slice::<Wire>(&message.data)
                .map_err(|e| format!("an unreadable message ({e}): is it the same version of the program?"));
            (Some(channel), wire)
        }
        Ok((_, Ok(None))) => (
            None,
            Err("its connection was closed (it left: its fit stopped or failed)".into()),
        ),
        Ok((_, Err(e))) => (
            None,
            Err(format!(
                "its connection broke (its process ended, or the network failed: {e:?})"
            )),
        ),
        Err(_) => (
            None,
            Err("its connection ended (its process ended, or the network failed)".into()),
        ),
    }
}

/// [`received`] within `deadline`.
async fn received_by<C: CommunicationChannel>(
    task: Receiving<C>,
    deadline: Instant,
) -> (Option<C>, Result<Wire, String>) {
    match tokio::time::timeout_at(deadline, received(task)).await {
        Ok(got) => got,
        Err(_) => (
            None,
            Err("no message within the timeout (it hangs, or is slower than the timeout allows)".into()),
        ),
    }
}

/// Receive one message on `channel` within `deadline` ([`start_receive`], [`received_by`]).
async fn receive_by<C: CommunicationChannel>(channel: C, deadline: Instant) -> (Option<C>, Result<Wire, String>) {
    received_by(start_receive(channel), deadline).await
}

/// Send `wire` on `channel` within `deadline`.
async fn send_by<C: CommunicationChannel>(channel: &mut C, wire: &Wire, deadline: Instant) -> Result<(), String> {
    send_encoded_by(channel, encode(wire), deadline).await
}

/// Send an [`encode`]d message on `channel` within `deadline`.
async fn send_encoded_by<C: CommunicationChannel>(
    channel: &mut C,
    message: Message,
    deadline: Instant,
) -> Result<(), String> {
    match tokio::time::timeout_at(deadline, channel.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("its connection broke ({e:?})")),
        Err(_) => Err("sending did not finish within the timeout".into()),
    }
}

/// Join the other processes: peer 0 waits for every other peer to connect; the others
/// connect to peer 0 (retrying until the timeout, so the processes may start in any order).
///
/// # Errors
/// [`InferError::Peer`]: a bad address, peer 0 cannot listen at the port, a peer not joining
/// within the timeout, a peer started with another number of peers or a duplicate id, or a
/// process that has already joined a fit.
pub(crate) fn register(peers: &Peers, address: &str) -> Result<(), InferError> {
    let fail = |detail: String| peer_error(peers, 0, format!("joining the peers: {detail}"));
    let mut slot = link_slot();
    if slot.is_some() {
        return Err(fail(
            "this process has already joined a data-parallel fit as a process peer (one per process)".into(),
        ));
    }
    let port = port_of(address).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ppl-peers")
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the network runtime: {e}")))?;
    let timeout = peers.timeout();
    let role = if peers.is_leader() {
        runtime.block_on(lead(peers, port, timeout))
    } else {
        runtime.block_on(follow(peers, address, timeout))
    }
    .map_err(fail)?;
    *slot = Some(Link {
        runtime,
        role,
        round: 0,
        broken: None,
    });
    Ok(())
}

/// Peer 0's joining: listen, take each peer's greeting, welcome them all.
async fn lead(peers: &Peers, port: u16, timeout: Duration) -> Result<Role, String> {
    let others = peers.count() - 1;
    if others == 0 {
        return Ok(Role::Leader {
            channels: Vec::new(),
            stop: None,
        });
    }
    let deadline = Instant::now() + timeout;
    let (arrived, mut arrivals) = mpsc::unbounded_channel::<WsServerChannel>();
    let (stop, stopped) = oneshot::channel::<()>();
    // burn-communication's server installs a global `tracing` subscriber that prints every
    // INFO log of the process to stdout, unless one is set: set a silent one first (nothing
    // changes when the program has its own).
    let _ = tracing::dispatcher::set_global_default(tracing::Dispatch::none());
    let server = WsServer::new(port).route(ROUTE, move |channel: WsServerChannel| {
        let arrived = arrived.clone();
        async move {
            let _ = arrived.send(channel);
        }
    });
    let mut serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let mut joined: Vec<Option<WsServerChannel>> = (0..others).map(|_| None).collect();
    while joined.iter().any(Option::is_none) {
        let waiting = joined.iter().filter(|c| c.is_none()).count();
        tokio::select! {
            channel = arrivals.recv() => {
                let Some(channel) = channel else { continue };
                let (channel, hello) = receive_by(channel, deadline).await;
                let Some(mut channel) = channel else { continue };
                let reason = match hello {
                    Ok(Wire::Hello { peer, peers: count }) if count != peers.count() => format!(
                        "peer {peer} was started with {count} peers, peer 0 with {}", peers.count()
                    ),
                    Ok(Wire::Hello { peer, .. }) if peer == 0 || peer >= peers.count() => format!(
                        "a peer with id {peer} tried to join {} peers (ids 1..{} join peer 0)", peers.count(), peers.count()
                    ),
                    Ok(Wire::Hello { peer, .. }) if joined[peer - 1].is_some() => format!(
                        "two processes were started as peer {peer}"
                    ),
                    Ok(Wire::Hello { peer, .. }) => {
                        joined[peer - 1] = Some(channel);
                        continue;
                    }
                    Ok(other) => format!("a peer sent {other:?} instead of its greeting"),
                    Err(e) => format!("a joining peer: {e}"),
                };
                // Say why before the connection closes (this peer stops too).
                let _ = send_by(&mut channel, &Wire::Refused { reason: reason.clone() }, deadline).await;
                let _ = stop.send(());
                return Err(reason);
            }
            ended = &mut serving => {
                let why = match ended {
                    Ok(Ok(())) => "it stopped".to_string(),
                    Ok(Err(e)) => format!("{e:?}"),
                    Err(e) => e.to_string(),
                };
                return Err(format!("peer 0 cannot listen at port {port}: {why}"));
            }
            _ = tokio::time::sleep_until(deadline) => {
                let _ = stop.send(());
                return Err(format!(
                    "{waiting} of the {others} other peers did not join within {timeout:.0?} \
                     (start every peer with the same number of peers and address, ids 1..{})",
                    peers.count()
                ));
            }
        }
    }
    let mut channels: Vec<WsServerChannel> = joined.into_iter().map(|c| c.expect("all joined")).collect();
    for (k, channel) in channels.iter_mut().enumerate() {
        send_by(channel, &Wire::Welcome, deadline)
            .await
            .map_err(|e| format!("peer {}: {e}", k + 1))?;
    }
    Ok(Role::Leader {
        channels,
        stop: Some(stop),
    })
}

/// Peer k's joining: connect to peer 0 (retrying until the deadline), greet, wait for the
/// welcome.
async fn follow(peers: &Peers, address: &str, timeout: Duration) -> Result<Role, String> {
    let deadline = Instant::now() + timeout;
    let target: Address = address.parse().expect("an address parses from any string");
    let mut channel = loop {
        if let Some(channel) = WsClient::connect(target.clone(), ROUTE).await {
            break channel;
        }
        if Instant::now() >= deadline {
            return Err(format!("cannot reach peer 0 at {address} within {timeout:.0?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let hello = Wire::Hello {
        peer: peers.id(),
        peers: peers.count(),
    };
    send_by(&mut channel, &hello, deadline)
        .await
        .map_err(|e| format!("peer 0 at {address}: {e}"))?;
    let (channel, answer) = receive_by(channel, deadline).await;
    match (channel, answer) {
        (Some(channel), Ok(Wire::Welcome)) => Ok(Role::Follower {
            channel: Some(Box::new(channel)),
        }),
        (_, Ok(Wire::Refused { reason })) => Err(format!("peer 0 refused: {reason}")),
        (_, Ok(other)) => Err(format!("peer 0 sent {other:?} instead of its welcome")),
        (_, Err(e)) => Err(format!("waiting for the other peers through peer 0 at {address}: {e}")),
    }
}

/// The sum over the peers of `flat` (each peer's own), the same bits on every peer.
///
/// # Errors
/// [`InferError::Peer`] naming the peer whose connection closed or broke, or that did not
/// answer within the timeout; every later exchange fails with the same reason.
pub(crate) fn all_reduce<I: Backend>(
    peers: &Peers,
    step: usize,
    what: &str,
    flat: Tensor<I, 1>,
) -> Result<Tensor<I, 1>, InferError> {
    let fail = |detail: String| peer_error(peers, step, format!("{what}: {detail}"));
    let mut slot = link_slot();
    let link = slot
        .as_mut()
        .ok_or_else(|| fail("this process has not joined the peers".into()))?;
    if let Some(reason) = &link.broken {
        return Err(fail(format!("an earlier exchange failed: {reason}")));
    }
    link.round += 1;
    let round = link.round;
    let deadline = Instant::now() + peers.timeout();
    let device = flat.device();
    let shape = flat.shape();
    let result = match &mut link.role {
        Role::Leader { channels, .. } => {
            let taken = std::mem::take(channels);
            let (back, received) = link.runtime.block_on(gather(taken, round, deadline));
            *channels = back;
            received.and_then(|datas| {
                let mut sum = flat;
                for (k, data) in datas.into_iter().enumerate() {
                    if data.shape != shape {
                        return Err(format!(
                            "peer {} sent a tensor of shape {:?}, this one has {:?} (do all peers fit the same model?)",
                            k + 1,
                            data.shape,
                            shape
                        ));
                    }
                    sum = sum + Tensor::<I, 1>::from_data(data, &device);
                }
                // Encoded once; every peer gets the same bytes (clones of `Bytes` share them).
                let reply = encode(&Wire::Values {
                    round,
                    data: sum.to_data(),
                });
                link.runtime.block_on(async {
                    for (k, channel) in channels.iter_mut().enumerate() {
                        send_encoded_by(channel, Message::new(reply.data.clone()), deadline)
                            .await
                            .map_err(|e| format!("peer {}: {e}", k + 1))?;
                    }
                    Ok::<(), String>(())
                })?;
                Ok(sum)
            })
        }
        Role::Follower { channel } => {
            let mine = Wire::Values {
                round,
                data: flat.into_data(),
            };
            let taken = channel
                .take()
                .ok_or_else(|| "the connection to peer 0 is gone".to_string());
            let (back, got) = match taken {
                Err(e) => (None, Err(e)),
                Ok(mut taken) => link.runtime.block_on(async move {
                    if let Err(e) = send_by(&mut *taken, &mine, deadline).await {
                        return (Some(taken), Err(format!("peer 0: {e}")));
                    }
                    let (taken, got) = receive_by(*taken, deadline).await;
                    (taken.map(Box::new), got.map_err(|e| format!("peer 0: {e}")))
                }),
            };
            *channel = back;
            got.and_then(|wire| match wire {
                Wire::Values { round: r, data } if r == round && data.shape == shape => {
                    Ok(Tensor::<I, 1>::from_data(data, &device))
                }
                Wire::Values { round: r, .. } if r != round => Err(format!(
                    "peer 0 answered exchange {r} at this peer's exchange {round} (the peers are out of step)"
                )),
                Wire::Values { data, .. } => Err(format!(
                    "peer 0 sent a sum of shape {:?}, this peer's tensor has {:?}",
                    data.shape, shape
                )),
                other => Err(format!("peer 0 sent {other:?} instead of the sum")),
            })
        }
    };
    result.map_err(|detail| {
        link.broken = Some(detail.clone());
        fail(detail)
    })
}

/// Receive exchange `round` from every channel (peer k + 1 at index k), all at once (a
/// receiving task per channel), by `deadline`: the channels back (those still usable) and the
/// tensors in peer order.
async fn gather(
    channels: Vec<WsServerChannel>,
    round: u64,
    deadline: Instant,
) -> (Vec<WsServerChannel>, Result<Vec<TensorData>, String>) {
    let tasks: Vec<_> = channels.into_iter().map(start_receive).collect();
    let mut back = Vec::new();
    let mut datas = Vec::new();
    let mut failure = None;
    for (k, task) in tasks.into_iter().enumerate() {
        let peer = k + 1;
        let (channel, got) = received_by(task, deadline).await;
        back.extend(channel);
        let got = got.and_then(|wire| match wire {
            Wire::Values { round: r, data } if r == round => Ok(data),
            Wire::Values { round: r, .. } => Err(format!(
                "it sent exchange {r} at peer 0's exchange {round} (the peers are out of step)"
            )),
            other => Err(format!("it sent {other:?} instead of its values")),
        });
        match got {
            Ok(data) => datas.push(data),
            Err(e) if failure.is_none() => failure = Some(format!("peer {peer}: {e}")),
            Err(_) => {}
        }
    }
    match failure {
        None => (back, Ok(datas)),
        Some(e) => (back, Err(e)),
    }
}

/// Leave the peers: close the connections, stop peer 0's server (best effort, a short
/// wait).
pub(crate) fn finish() {
    let Some(link) = link_slot().take() else { return };
    let Link { runtime, role, .. } = link;
    let deadline = Instant::now() + Duration::from_secs(2);
    runtime.block_on(async {
        match role {
            Role::Leader { mut channels, stop } => {
                for channel in channels.iter_mut() {
                    let _ = tokio::time::timeout_at(deadline, channel.close()).await;
                }
                if let Some(stop) = stop {
                    let _ = stop.send(());
                }
            }
            Role::Follower { channel } => {
                if let Some(mut channel) = channel {
                    let _ = tokio::time::timeout_at(deadline, channel.close()).await;
                }
            }
        }
    });
    // Wait (briefly) for the server's task to end, so that its port is free for a next fit.
    runtime.shutdown_timeout(Duration::from_secs(2));
}

#[cfg(test)]
mod tests {
    use super::port_of;

    #[test]
    fn addresses_name_a_port() {
        assert_eq!(port_of("ws://127.0.0.1:4021"), Ok(4021));
        assert_eq!(port_of("ws://node-a.example:80/"), Ok(80));
        assert!(port_of("127.0.0.1:4021").unwrap_err().contains("ws://"));
        assert!(port_of("ws://127.0.0.1").unwrap_err().contains("port"));
        assert!(port_of("ws://127.0.0.1:0").unwrap_err().contains("valid port"));
        assert!(port_of("ws://127.0.0.1:99999").unwrap_err().contains("valid port"));
    }
}
