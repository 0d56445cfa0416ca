//! Event delivery: the events a device makes under the engine's lock go to
//! the reader in the order they were made (a job's solutions before its
//! end, from whichever devices), through a bounded queue. A reader slower
//! than the devices makes the devices wait, so memory stays flat however
//! easy the target; once the engine stops nothing waits any more and
//! events that find the queue full wait in an overflow, read after it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::Duration;

use super::work::Event;

/// Events the engine keeps for its reader; beyond them the devices wait.
pub const EVENT_QUEUE: usize = 4096;

/// The way events take from the devices to the reader.
pub(super) struct Delivery {
    /// Bounded: a device whose events find it full waits for the reader.
    sender: SyncSender<Event>,
    receiver: Mutex<Receiver<Event>>,
    /// Events that found the queue full once the engine was stopping (no
    /// reader to wait for any more); read after the queue's.
    overflow: Mutex<VecDeque<Event>>,
    /// Events in the order they were made under the lock, waiting to be
    /// sent; whoever holds `delivering` sends them, oldest first.
    queue: Mutex<VecDeque<Event>>,
    delivering: Mutex<()>,
    /// Set once the engine stops.
    stopping: AtomicBool,
}

impl Delivery {
    pub fn new() -> Delivery {
        let (sender, receiver) = mpsc::sync_channel(EVENT_QUEUE);
        Delivery {
            sender,
            receiver: Mutex::new(receiver),
            overflow: Mutex::new(VecDeque::new()),
            queue: Mutex::new(VecDeque::new()),
            delivering: Mutex::new(()),
            stopping: AtomicBool::new(false),
        }
    }

    /// From now on nobody waits for the reader.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Queues events made under the engine's lock; call it before the lock
    /// is released, so that the queue has the lock's order, and
    /// [`deliver`](Self::deliver) after.
    pub fn queue(&self, events: Vec<Event>) {
        self.queue.lock().expect("not poisoned").extend(events);
    }

    /// Delivers the queued events; called with the engine's lock released.
    /// While the queue is full the calling device waits for the reader;
    /// nothing is dropped.
    pub fn deliver(&self) {
        let _turn = self.delivering.lock().expect("not poisoned");
        loop {
            let next = self.queue.lock().expect("not poisoned").pop_front();
            let Some(mut event) = next else {
                return;
            };
            // Once events overflow, later ones follow them, in order.
            let mut overflow = self.overflow.lock().expect("not poisoned");
            if !overflow.is_empty() {
                overflow.push_back(event);
                continue;
            }
            drop(overflow);
            loop {
                match self.sender.try_send(event) {
                    Ok(()) => break,
                    // A dropped receiver only means nobody listens any more.
                    Err(TrySendError::Disconnected(_)) => return,
                    Err(TrySendError::Full(back)) => {
                        if self.is_stopped() {
                            self.overflow.lock().expect("not poisoned").push_back(back);
                            break;
                        }
                        event = back;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        let events = self.receiver.lock().expect("not poisoned");
        match events.try_recv() {
            Ok(event) => return Some(event),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if let Some(event) = self.overflowed() {
            return Some(event);
        }
        events
            .recv_timeout(timeout)
            .ok()
            .or_else(|| self.overflowed())
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        let events = self.receiver.lock().expect("not poisoned");
        events.try_recv().ok().or_else(|| self.overflowed())
    }

    /// An event that found the queue full while the engine stopped.
    fn overflowed(&self) -> Option<Event> {
        self.overflow.lock().expect("not poisoned").pop_front()
    }
}
