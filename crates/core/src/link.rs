//! `Link`: a pipelined connection to Redis over plain TCP. The calling thread writes each
//! command straight onto the socket, so a call from the JS thread reaches Redis without
//! first waking the runtime. The replies are read by one runtime task, or by an event
//! loop the embedder runs (a [`SocketReader`]), and handed to the callers that sent their
//! commands, in order.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind, Value};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::connection_options::ConnectionOptions;
use crate::readiness;
use crate::resp;
use crate::scripts::Lua;

/// Receives the reply to one command.
pub type Reply = Box<dyn FnOnce(RedisResult<Value>) + Send>;

/// How long opening the connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The smallest read from the socket.
const READ_CHUNK: usize = 64 * 1024;

/// Packed command bytes, how many replies they produce, and where the replies go.
pub struct Request {
    packed: Vec<u8>,
    replies: usize,
    script: Option<&'static Lua>,
    deliver: Deliver,
}

impl Request {
    /// One command whose reply goes to `reply`; with `script`, a NOSCRIPT reply loads
    /// that script and sends the command again.
    pub fn one(packed: Vec<u8>, script: Option<&'static Lua>, reply: Reply) -> Request {
        Request {
            packed,
            replies: 1,
            script,
            deliver: Deliver::One(reply),
        }
    }
}

impl Request {
    fn fail(self, err: &RedisError) {
        self.deliver.fail(err);
    }
}

enum Deliver {
    One(Reply),
    All(oneshot::Sender<RedisResult<Vec<Value>>>),
}

impl Deliver {
    fn fail(self, err: &RedisError) {
        match self {
            Deliver::One(reply) => reply(Err(err.clone())),
            Deliver::All(tx) => {
                let _ = tx.send(Err(err.clone()));
            }
        }
    }
}

/// A request written to the socket, waiting for its replies.
struct Pending {
    expect: usize,
    got: Vec<Value>,
    /// The script and command to send again after a NOSCRIPT reply.
    retry: Option<(&'static Lua, Vec<u8>)>,
    deliver: Deliver,
}

impl Pending {
    fn fail(self, err: &RedisError) {
        self.deliver.fail(err);
    }
}

/// An event loop outside the runtime that reads a link's sockets (Node's, in the binding).
pub trait SocketReader: Send + Sync {
    /// Starts reading `socket.stream`, handing every chunk read to `socket.feed`.
    fn read(&self, socket: LinkSocket);
}

/// A socket a link opened, for a [`SocketReader`] to read.
pub struct LinkSocket {
    /// The socket, on a descriptor of its own that the reader closes when done.
    pub stream: std::net::TcpStream,
    /// Where the bytes read go.
    pub feed: ReplyFeed,
}

/// Takes the bytes a [`SocketReader`] reads from one socket of a link.
#[derive(Clone)]
pub struct ReplyFeed {
    link: Link,
    generation: u64,
    /// The start of a reply whose end has not arrived yet.
    partial: Arc<Mutex<Vec<u8>>>,
}

impl ReplyFeed {
    /// Hands every reply `bytes` completes to its caller; false once the socket is no
    /// longer the link's (the reader should then close it).
    pub fn feed(&self, bytes: &[u8]) -> bool {
        if !self.link.is_generation(self.generation) {
            return false;
        }
        let mut partial = std::mem::take(&mut *lock(&self.partial));
        let delivered = if partial.is_empty() {
            self.link
                .deliver_replies(self.generation, bytes)
                .map(|used| partial.extend_from_slice(&bytes[used..]))
        } else {
            partial.extend_from_slice(bytes);
            self.link
                .deliver_replies(self.generation, &partial)
                .map(|used| drop(partial.drain(..used)))
        };
        if let Err(err) = delivered {
            self.link.fail(self.generation, err);
            return false;
        }
        *lock(&self.partial) = partial;
        self.link.is_generation(self.generation)
    }

    /// Reports that the socket ended (`reason` when it failed): the replies still owed on
    /// it fail, and the link opens a new socket for the next command.
    pub fn ended(&self, reason: Option<String>) {
        let err = match reason {
            Some(reason) => io::Error::other(reason),
            None => io::Error::from(io::ErrorKind::UnexpectedEof),
        };
        self.link.fail(self.generation, err.into());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// An open connection: its socket, the replies owed, and bytes the socket did not take
/// yet. Dropping it shuts the socket down, which ends its reader too.
struct Up {
    socket: Arc<std::net::TcpStream>,
    runtime: Handle,
    generation: u64,
    pending: VecDeque<Pending>,
    backlog: Vec<u8>,
    /// Whether the flush task owns writing (then new bytes queue behind the backlog).
    flushing: bool,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

/// Who reads a newly opened socket.
enum Reading {
    Runtime(TcpStream),
    Embedder(Arc<dyn SocketReader>, std::net::TcpStream),
}

struct Inner {
    options: ConnectionOptions,
    reader: OnceLock<Arc<dyn SocketReader>>,
    up: Mutex<Option<Up>>,
    opening: tokio::sync::Mutex<()>,
    closing: AtomicBool,
    generations: AtomicU64,
}

/// A lazily opened, reopened-on-demand pipelined connection.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("addr", &self.inner.options.addr())
            .finish()
    }
}

fn closed_error() -> RedisError {
    io::Error::new(io::ErrorKind::NotConnected, "Connection is closed.").into()
}

impl Link {
    /// Prepares a link; nothing is opened until `connect`.
    pub fn new(options: ConnectionOptions) -> Link {
        Link {
            inner: Arc::new(Inner {
                options,
                reader: OnceLock::new(),
                up: Mutex::new(None),
                opening: tokio::sync::Mutex::new(()),
                closing: AtomicBool::new(false),
                generations: AtomicU64::new(0),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, Option<Up>> {
        lock(&self.inner.up)
    }

    /// Has `reader` read the replies of the sockets opened from now on, instead of a
    /// runtime task; false when a reader was already set.
    pub fn read_with(&self, reader: Arc<dyn SocketReader>) -> bool {
        self.inner.reader.set(reader).is_ok()
    }

    fn is_generation(&self, generation: u64) -> bool {
        self.state().as_ref().map(|up| up.generation) == Some(generation)
    }

    /// Whether commands can be written now.
    pub fn is_up(&self) -> bool {
        self.state().is_some()
    }

    /// Opens the connection unless it is open; fails once the link is closed.
    pub async fn connect(&self) -> RedisResult<()> {
        if self.is_up() {
            return Ok(());
        }
        let _opening = self.inner.opening.lock().await;
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(closed_error());
        }
        if self.is_up() {
            return Ok(());
        }
        let socket = open(&self.inner.options).await?.into_std()?;
        let reading = match self.inner.reader.get() {
            Some(reader) => Reading::Embedder(reader.clone(), socket.try_clone()?),
            None => Reading::Runtime(TcpStream::from_std(socket.try_clone()?)?),
        };
        let generation = self.inner.generations.fetch_add(1, Ordering::AcqRel) + 1;
        *self.state() = Some(Up {
            socket: Arc::new(socket),
            runtime: Handle::current(),
            generation,
            pending: VecDeque::new(),
            backlog: Vec::new(),
            flushing: false,
        });
        match reading {
            Reading::Runtime(stream) => {
                tokio::spawn(read_replies(self.clone(), stream, generation));
            }
            Reading::Embedder(reader, stream) => {
                reader.read(LinkSocket {
                    stream,
                    feed: ReplyFeed {
                        link: self.clone(),
                        generation,
                        partial: Arc::default(),
                    },
                });
                if !self.is_generation(generation) {
                    return Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "the socket's reader did not take it",
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Writes the request now if the connection is open; hands it back otherwise.
    pub fn try_send(&self, request: Request) -> Result<(), Request> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(request);
        }
        let mut state = self.state();
        let Some(up) = state.as_mut() else {
            return Err(request);
        };
        let broken = self.write(up, &request.packed).err();
        let retry = request.script.map(|s| (s, request.packed));
        up.pending.push_back(Pending {
            expect: request.replies,
            got: Vec::with_capacity(request.replies),
            retry,
            deliver: request.deliver,
        });
        if let Some(err) = broken {
            let generation = up.generation;
            drop(state);
            self.fail(generation, err.into());
        }
        Ok(())
    }

    /// Writes `bytes` after anything still queued; starts the flush task when the socket
    /// does not take them all at once.
    fn write(&self, up: &mut Up, bytes: &[u8]) -> io::Result<()> {
        if up.flushing {
            up.backlog.extend_from_slice(bytes);
            return Ok(());
        }
        let written = match (&*up.socket).write(bytes) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        if written < bytes.len() {
            up.backlog.extend_from_slice(&bytes[written..]);
            up.flushing = true;
            up.runtime
                .spawn(flush(self.clone(), up.socket.clone(), up.generation));
        }
        Ok(())
    }

    /// Writes the request now if the connection is open; otherwise opens it from the
    /// runtime (which the caller must have entered) and sends it then.
    pub fn send_soon(&self, request: Request) {
        let Err(request) = self.try_send(request) else {
            return;
        };
        match Handle::try_current() {
            Ok(runtime) => {
                let link = self.clone();
                runtime.spawn(async move { link.send(request).await });
            }
            Err(_) => request.fail(&closed_error()),
        }
    }

    /// Sends the request, opening the connection first when needed.
    pub async fn send(&self, request: Request) {
        let mut request = request;
        loop {
            match self.try_send(request) {
                Ok(()) => return,
                Err(back) => request = back,
            }
            if let Err(err) = self.connect().await {
                return request.fail(&err);
            }
        }
    }

    /// Sends packed commands producing `replies` replies and returns them all, server
    /// errors included as values.
    pub async fn request(&self, packed: Vec<u8>, replies: usize) -> RedisResult<Vec<Value>> {
        let (tx, rx) = oneshot::channel();
        self.send(Request {
            packed,
            replies,
            script: None,
            deliver: Deliver::All(tx),
        })
        .await;
        rx.await.map_err(|_| closed_error())?
    }

    /// Refuses new commands and closes the socket once the replies owed have arrived.
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        let mut state = self.state();
        if state.as_ref().is_some_and(|up| up.pending.is_empty()) {
            state.take();
        }
    }

    /// Hands every complete reply at the start of `bytes` to its request; returns how many
    /// bytes they took.
    fn deliver_replies(&self, generation: u64, bytes: &[u8]) -> RedisResult<usize> {
        let mut at = 0;
        while let Some(end) = resp::frame_end(&bytes[at..]) {
            let value = resp::parse(&bytes[at..at + end])?;
            self.deliver(generation, value);
            at += end;
        }
        Ok(at)
    }

    /// Hands one reply to the request at the front of the queue.
    fn deliver(&self, generation: u64, value: Value) {
        let finished = {
            let mut state = self.state();
            let Some(up) = state.as_mut().filter(|up| up.generation == generation) else {
                return;
            };
            let Some(front) = up.pending.front_mut() else {
                return;
            };
            front.got.push(value);
            if front.got.len() < front.expect {
                return;
            }
            let finished = up.pending.pop_front();
            if up.pending.is_empty() && self.inner.closing.load(Ordering::Acquire) {
                state.take();
            }
            finished
        };
        if let Some(pending) = finished {
            self.complete(pending);
        }
    }

    fn complete(&self, mut pending: Pending) {
        match pending.deliver {
            Deliver::All(tx) => {
                let _ = tx.send(Ok(pending.got));
            }
            Deliver::One(reply) => {
                let value = pending.got.pop().unwrap_or(Value::Nil);
                match (value.extract_error(), pending.retry) {
                    (Err(err), Some((script, packed))) if is_no_script(&err) => {
                        self.load_and_resend(script, packed, reply)
                    }
                    (result, _) => reply(result),
                }
            }
        }
    }

    /// Loads `script` and sends its call again, both pipelined.
    fn load_and_resend(&self, script: &'static Lua, packed: Vec<u8>, reply: Reply) {
        let load = resp::pack_load(script.code());
        let ignore: Reply = Box::new(|_| {});
        let sent = self
            .try_send(Request::one(load, None, ignore))
            .and_then(|()| self.try_send(Request::one(packed, None, reply)));
        if let Err(request) = sent {
            request.fail(&closed_error());
        }
    }

    /// Drops the connection of `generation`; every reply owed on it fails with `err`.
    fn fail(&self, generation: u64, err: RedisError) {
        let lost = {
            let mut state = self.state();
            if state.as_ref().map(|up| up.generation) != Some(generation) {
                return;
            }
            state
                .take()
                .map(|mut up| std::mem::take(&mut up.pending))
                .unwrap_or_default()
        };
        for pending in lost {
            pending.fail(&err);
        }
    }
}

fn is_no_script(err: &RedisError) -> bool {
    err.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

/// Connects and authenticates; selects the database; returns once Redis has loaded its
/// dataset, so the commands queued meanwhile reach a server that can run them.
async fn open(options: &ConnectionOptions) -> RedisResult<TcpStream> {
    let connecting = TcpStream::connect((options.host.as_str(), options.port));
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let mut hello = redis::Pipeline::new();
    if let Some(password) = &options.password {
        let auth = hello.cmd("AUTH");
        if let Some(username) = &options.username {
            auth.arg(username);
        }
        auth.arg(password);
    }
    if options.db != 0 {
        hello.cmd("SELECT").arg(options.db);
    }
    round_trip(&mut stream, &hello).await?;
    let mut info = redis::Pipeline::new();
    info.cmd("INFO").arg("persistence");
    loop {
        let reply = round_trip(&mut stream, &info).await?;
        let text = reply.first().and_then(crate::job::value_string);
        if !text.is_some_and(|t| readiness::is_loading(&t)) {
            return Ok(stream);
        }
        tokio::time::sleep(readiness::LOADING_POLL).await;
    }
}

/// Sends `commands` on a socket no reader has yet and returns their replies; the first
/// error reply fails it.
async fn round_trip(stream: &mut TcpStream, commands: &redis::Pipeline) -> RedisResult<Vec<Value>> {
    let expect = commands.len();
    let mut replies = Vec::with_capacity(expect);
    if expect == 0 {
        return Ok(replies);
    }
    stream.write_all(&commands.get_packed_pipeline()).await?;
    let mut buf = Vec::new();
    while replies.len() < expect {
        stream.readable().await?;
        match read_some(stream, &mut buf) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e.into()),
        }
        let mut at = 0;
        while let Some(end) = resp::frame_end(&buf[at..]) {
            replies.push(resp::parse(&buf[at..at + end])?.extract_error()?);
            at += end;
        }
        buf.drain(..at);
    }
    Ok(replies)
}

/// Reads what the socket has into `buf`; 0 at end of stream.
fn read_some(socket: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(READ_CHUNK.max(buf.len()));
    socket.try_read_buf(buf)
}

/// Reads replies until the connection ends, handing each to its request.
async fn read_replies(link: Link, reader: TcpStream, generation: u64) {
    let mut buf = Vec::new();
    let err = loop {
        if let Err(err) = reader.readable().await {
            break err.into();
        }
        match read_some(&reader, &mut buf) {
            Ok(0) => break io::Error::from(io::ErrorKind::UnexpectedEof).into(),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => break e.into(),
        }
        match link.deliver_replies(generation, &buf) {
            Ok(used) => drop(buf.drain(..used)),
            Err(err) => break err,
        }
    };
    link.fail(generation, err);
}

/// Writes the backlog out as the socket takes it, until none is left. It waits for the
/// socket through a registration of its own, made for the while.
async fn flush(link: Link, socket: Arc<std::net::TcpStream>, generation: u64) {
    let watched = socket.try_clone().and_then(TcpStream::from_std);
    let writer = match watched {
        Ok(writer) => writer,
        Err(e) => return link.fail(generation, e.into()),
    };
    loop {
        let bytes = {
            let mut state = link.state();
            let Some(up) = state.as_mut().filter(|up| up.generation == generation) else {
                return;
            };
            if up.backlog.is_empty() {
                up.flushing = false;
                return;
            }
            std::mem::take(&mut up.backlog)
        };
        let mut at = 0;
        while at < bytes.len() {
            let written = match writer.writable().await {
                Ok(()) => writer.try_io(Interest::WRITABLE, || (&*socket).write(&bytes[at..])),
                Err(e) => Err(e),
            };
            match written {
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return link.fail(generation, e.into()),
            }
        }
    }
}
