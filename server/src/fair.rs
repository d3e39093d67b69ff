//! Slots shared fairly among clients. `--max-decoding` slots taken first come, first served
//! let one client (an API key's holder: posthog-js puts keys in web pages) that keeps many
//! requests waiting take nearly every slot, so other teams' requests waited out
//! `--decode-wait-s` and got 503. Here a slot that frees goes to the waiting client that
//! holds the fewest slots, among equals the one whose turn came longest ago (its last slot,
//! or its arrival if it had none since it was last idle: clients take turns, as in round
//! robin, and a steady client is not passed over by a stream of new ones): a client alone
//! still gets every slot, and one that floods gets its turn, not everyone's.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

pub struct FairSlots {
    slots: Mutex<Slots>,
}

struct Slots {
    free: usize,
    /// Clients that hold a slot or wait for one.
    clients: HashMap<String, Client>,
    /// In arrival order.
    waiting: VecDeque<Waiter>,
    next_id: u64,
    /// Counts arrivals of idle clients and slots handed out: the order of turns.
    clock: u64,
}

struct Client {
    held: usize,
    /// When its turn last came: its last slot, or its arrival.
    turn: u64,
}

struct Waiter {
    client: String,
    id: u64,
    wake: oneshot::Sender<()>,
}

/// A slot, given back when dropped.
pub struct FairPermit {
    slots: Arc<FairSlots>,
    client: String,
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        self.slots.release(&self.client);
    }
}

/// A wait for a slot; if it ends (timeout, or the request is dropped) after the slot was
/// handed to it, the slot goes back.
struct Waiting {
    slots: Arc<FairSlots>,
    client: String,
    id: u64,
    done: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut slots = self.slots.lock();
        match slots.waiting.iter().position(|w| w.id == self.id) {
            Some(place) => {
                slots.waiting.remove(place);
                slots.forget_if_idle(&self.client);
            }
            // No longer waiting: it was handed a slot (and counted) that nobody will use.
            None => {
                drop(slots);
                self.slots.release(&self.client);
            }
        }
    }
}

impl FairSlots {
    pub fn new(n: usize) -> Arc<FairSlots> {
        Arc::new(FairSlots {
            slots: Mutex::new(Slots {
                free: n,
                clients: HashMap::new(),
                waiting: VecDeque::new(),
                next_id: 0,
                clock: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent counts.
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for `client`, waiting at most `wait`; None when none came in time.
    pub async fn acquire(self: &Arc<Self>, client: &str, wait: Duration) -> Option<FairPermit> {
        let (wake, woken) = oneshot::channel();
        let id = {
            let mut slots = self.lock();
            if slots.free > 0 && slots.waiting.is_empty() {
                slots.free -= 1;
                slots.serve(client.to_string());
                return Some(FairPermit { slots: self.clone(), client: client.to_string() });
            }
            let id = slots.next_id;
            slots.next_id += 1;
            slots.arrive(client);
            slots.waiting.push_back(Waiter { client: client.to_string(), id, wake });
            id
        };
        let mut waiting = Waiting { slots: self.clone(), client: client.to_string(), id, done: false };
        match tokio::time::timeout(wait, woken).await {
            Ok(Ok(())) => {
                waiting.done = true;
                Some(FairPermit { slots: self.clone(), client: client.to_string() })
            }
            // Timed out: `waiting`'s drop leaves the queue, or gives back a slot handed meanwhile.
            _ => None,
        }
    }

    /// How many slots `client` holds now.
    pub fn held_by(&self, client: &str) -> usize {
        self.lock().clients.get(client).map_or(0, |c| c.held)
    }

    /// How many requests wait for a slot now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    fn release(&self, client: &str) {
        let mut slots = self.lock();
        if let Some(c) = slots.clients.get_mut(client) {
            c.held = c.held.saturating_sub(1);
        }
        // The waiter whose client holds the fewest slots, had its turn longest ago, came first.
        let next = {
            let clients = &slots.clients;
            slots
                .waiting
                .iter()
                .enumerate()
                .min_by_key(|(place, w)| {
                    let c = clients.get(&w.client);
                    (c.map_or(0, |c| c.held), c.map_or(0, |c| c.turn), *place)
                })
                .map(|(place, _)| place)
        };
        match next.and_then(|place| slots.waiting.remove(place)) {
            Some(waiter) => {
                // Its receiver lives until its `Waiting` has left the queue: the send is received.
                let _ = waiter.wake.send(());
                slots.serve(waiter.client);
            }
            None => slots.free += 1,
        }
        slots.forget_if_idle(client);
    }
}

impl Slots {
    fn serve(&mut self, client: String) {
        self.clock += 1;
        let turn = self.clock;
        let c = self.clients.entry(client).or_insert(Client { held: 0, turn });
        c.held += 1;
        c.turn = turn;
    }

    /// A client starts waiting: one that was idle joins the turns now.
    fn arrive(&mut self, client: &str) {
        if !self.clients.contains_key(client) {
            self.clock += 1;
            self.clients.insert(client.to_string(), Client { held: 0, turn: self.clock });
        }
    }

    /// Forgets a client that holds no slot and waits for none (the map stays as small as
    /// the requests in flight).
    fn forget_if_idle(&mut self, client: &str) {
        let idle = self.clients.get(client).is_some_and(|c| c.held == 0);
        if idle && !self.waiting.iter().any(|w| w.client == client) {
            self.clients.remove(client);
        }
    }
}

/// Who a request is, for the fair shares: the key in its `Authorization` header, else its
/// address; IPv6 addresses by their /64 (one host is given a whole /64 and may use any
/// address in it), IPv4-mapped ones as IPv4.
pub fn client_of(header_key: Option<&str>, peer: IpAddr) -> String {
    match (header_key, peer) {
        (Some(key), _) => key_client(key),
        (None, IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address {v4}"),
            None => {
                let s = v6.segments();
                format!("address {:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        (None, IpAddr::V4(v4)) => format!("address {v4}"),
    }
}

/// The client an API key is (the events it stores share the pool by key).
pub fn key_client(key: &str) -> String {
    format!("key {key}")
}

/// What each client holds of a resource, at most `cap` each: bytes of request bodies (a
/// client alone could otherwise fill all of `--max-buffered-mb` with bodies sent slowly,
/// the key in a body being read only once the body is whole, so anyone can, and every
/// other request got 503 while it did) and open connections (one address could hold all of
/// `--max-connections`, idle, and every other client waited in the listen queue).
pub struct ClientShares {
    cap: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// What a client holds, given back when dropped.
pub struct HeldShare {
    shares: Arc<ClientShares>,
    client: String,
    held: usize,
}

impl ClientShares {
    pub fn new(cap: usize) -> Arc<ClientShares> {
        Arc::new(ClientShares { cap, held: Mutex::new(HashMap::new()) })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Nothing held yet, for `client`.
    pub fn start(self: &Arc<Self>, client: &str) -> HeldShare {
        HeldShare { shares: self.clone(), client: client.to_string(), held: 0 }
    }

    /// How much `client` holds now.
    pub fn held_by(&self, client: &str) -> usize {
        self.lock().get(client).copied().unwrap_or(0)
    }
}

impl HeldShare {
    /// `n` more, if the client's share holds them.
    pub fn grow(&mut self, n: usize) -> bool {
        let mut held = self.shares.lock();
        let now = held.get(&self.client).copied().unwrap_or(0);
        match now.checked_add(n).filter(|&total| total <= self.shares.cap) {
            Some(total) => {
                held.insert(self.client.clone(), total);
                self.held += n;
                true
            }
            None => false,
        }
    }
}

impl Drop for HeldShare {
    fn drop(&mut self) {
        if self.held == 0 {
            return;
        }
        let mut held = self.shares.lock();
        if let Some(total) = held.get_mut(&self.client) {
            *total = total.saturating_sub(self.held);
            if *total == 0 {
                held.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    async fn until(what: impl Fn() -> bool) {
        tokio::time::timeout(LONG, async {
            while !what() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("hang guard");
    }

    /// `n` requests of the client "flood", each holding its slot once it has one until
    /// `finish` is sent true.
    fn flood(
        slots: &Arc<FairSlots>,
        n: usize,
    ) -> (tokio::sync::watch::Sender<bool>, Vec<tokio::task::JoinHandle<Option<()>>>) {
        let (finish, finished) = tokio::sync::watch::channel(false);
        let requests = (0..n)
            .map(|_| {
                let (slots, mut finished) = (slots.clone(), finished.clone());
                tokio::spawn(async move {
                    let permit = slots.acquire("flood", LONG).await;
                    let _ = finished.wait_for(|done| *done).await;
                    permit.map(|_| ())
                })
            })
            .collect();
        (finish, requests)
    }

    /// A request of the client "other": whether it got a slot, and what `seen` read then.
    fn other_client(slots: &Arc<FairSlots>, seen: fn(&FairSlots) -> usize) -> tokio::task::JoinHandle<(bool, usize)> {
        let slots = slots.clone();
        tokio::spawn(async move {
            let permit = slots.acquire("other", LONG).await;
            (permit.is_some(), seen(&slots))
        })
    }

    #[test]
    fn a_client_holds_at_most_its_share_of_the_body_bytes() {
        let shares = ClientShares::new(100);
        let (mut first, mut second) = (shares.start("a"), shares.start("a"));
        assert!(first.grow(60));
        assert!(!second.grow(41), "past the client's share");
        assert!(second.grow(40));
        // Another client's share is its own.
        let mut other = shares.start("b");
        assert!(other.grow(100));
        drop(first);
        assert_eq!(shares.held_by("a"), 40);
        assert!(second.grow(60));
        drop((second, other));
        assert_eq!((shares.held_by("a"), shares.held_by("b")), (0, 0));
        assert!(shares.lock().is_empty());
    }

    #[test]
    fn clients_are_keys_else_addresses_and_an_ipv6_host_is_its_64() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(Some("k"), v6("10.0.0.1")), "key k");
        assert_eq!(client_of(None, v6("10.0.0.1")), "address 10.0.0.1");
        assert_eq!(client_of(None, v6("::ffff:10.0.0.1")), "address 10.0.0.1");
        assert_eq!(client_of(None, v6("2001:db8:1:2::1")), client_of(None, v6("2001:db8:1:2:ffff::9")));
        assert_ne!(client_of(None, v6("2001:db8:1:2::1")), client_of(None, v6("2001:db8:1:3::1")));
    }

    #[tokio::test]
    async fn a_client_alone_gets_every_slot() {
        let slots = FairSlots::new(2);
        let a = slots.acquire("a", LONG).await;
        let b = slots.acquire("a", LONG).await;
        assert!(a.is_some() && b.is_some());
        assert_eq!(slots.held_by("a"), 2);
        assert!(slots.acquire("a", Duration::from_millis(10)).await.is_none());
        drop((a, b));
        assert_eq!(slots.held_by("a"), 0);
        assert!(slots.acquire("a", LONG).await.is_some());
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_client_holding_fewest_not_to_the_flood() {
        let slots = FairSlots::new(2);
        let (first, second) = (slots.acquire("flood", LONG).await, slots.acquire("flood", LONG).await);
        // Ten more of the flood's requests wait (each holds its slot until `finish`), then
        // one of another team's.
        let (finish, flood) = flood(&slots, 10);
        until(|| slots.waiting() == 10).await;
        let other = other_client(&slots, |slots| slots.held_by("flood"));
        until(|| slots.waiting() == 11).await;
        // One of the flood's slots frees: it goes to the other team, last in line.
        drop(first);
        let (got, flood_held) = other.await.unwrap();
        assert!(got);
        assert_eq!(flood_held, 1, "the flood held {flood_held} slots when the other team got one");
        drop(second);
        finish.send_replace(true);
        for request in flood {
            assert_eq!(request.await.unwrap(), Some(()));
        }
        assert_eq!((slots.held_by("flood"), slots.held_by("other"), slots.waiting()), (0, 0, 0));
    }

    #[tokio::test]
    async fn with_one_slot_clients_take_turns() {
        let slots = FairSlots::new(1);
        let held = slots.acquire("flood", LONG).await;
        let (finish, flood) = flood(&slots, 5);
        until(|| slots.waiting() == 5).await;
        let other = other_client(&slots, FairSlots::waiting);
        until(|| slots.waiting() == 6).await;
        // The flood had its turn before the other client came: its next request goes
        // first, then the other client's, not after all five (first come, first served).
        drop(held);
        until(|| slots.held_by("flood") == 1).await;
        finish.send_replace(true);
        let (got, still_waiting) = other.await.unwrap();
        assert!(got);
        assert_eq!(still_waiting, 4, "the other client was served after {} of the flood's", 5 - still_waiting);
        for request in flood {
            assert_eq!(request.await.unwrap(), Some(()));
        }
        assert_eq!(slots.waiting(), 0);
    }

    #[tokio::test]
    async fn a_steady_client_is_not_passed_over_by_new_ones() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let slots = FairSlots::new(1);
        let held = slots.acquire("steady", LONG).await;
        let steady_served = Arc::new(AtomicBool::new(false));
        let steady = {
            let (slots, served) = (slots.clone(), steady_served.clone());
            tokio::spawn(async move {
                let permit = slots.acquire("steady", LONG).await;
                served.store(true, Ordering::SeqCst);
                permit.map(|_| ())
            })
        };
        until(|| slots.waiting() == 1).await;
        // Three new clients come while the steady one waits: its turn came first (when it
        // was served), theirs when they came; it goes first.
        let mut new_ones = Vec::new();
        for name in ["new 1", "new 2", "new 3"] {
            let (shared, served) = (slots.clone(), steady_served.clone());
            new_ones.push(tokio::spawn(async move {
                let permit = shared.acquire(name, LONG).await;
                (permit.is_some(), served.load(Ordering::SeqCst))
            }));
            until(|| slots.waiting() == new_ones.len() + 1).await;
        }
        drop(held);
        assert_eq!(steady.await.unwrap(), Some(()));
        for request in new_ones {
            assert_eq!(request.await.unwrap(), (true, true), "a new client was served before the steady one");
        }
    }

    #[tokio::test]
    async fn a_wait_that_ends_gives_back_nothing_it_did_not_get() {
        let slots = FairSlots::new(1);
        let held = slots.acquire("a", LONG).await;
        // Timed out while waiting: it leaves the queue.
        assert!(slots.acquire("b", Duration::from_millis(10)).await.is_none());
        assert_eq!(slots.waiting(), 0);
        // Dropped while waiting (the client hung up): it leaves the queue too.
        let dropped = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire("c", LONG).await.map(|_| ()) })
        };
        until(|| slots.waiting() == 1).await;
        dropped.abort();
        let _ = dropped.await;
        assert_eq!(slots.waiting(), 0);
        drop(held);
        // Every slot is back: one, for anyone.
        let again = slots.acquire("d", LONG).await;
        assert!(again.is_some());
        assert!(slots.acquire("e", Duration::from_millis(10)).await.is_none());
    }
}
