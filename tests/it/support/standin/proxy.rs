//! An HTTP CONNECT proxy on 127.0.0.1 for the proxy tests.

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::http::{read_head, Recorded};

/// An HTTP CONNECT proxy on 127.0.0.1 that tunnels every CONNECT to one
/// port, whatever host was asked for, and records the CONNECT requests.
pub struct Proxy {
    /// The port on 127.0.0.1.
    pub port: u16,
    connects: Arc<Mutex<Vec<Recorded>>>,
}

impl Proxy {
    /// Starts a proxy that tunnels to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        Proxy::serve(move |conn, shared| tunnel(conn, target, shared))
    }

    /// Starts a proxy that answers every CONNECT with `407 Proxy
    /// Authentication Required`, as a proxy does to wrong credentials.
    pub fn refusing() -> Proxy {
        Proxy::serve(refuse)
    }

    fn serve(
        handle: impl Fn(TcpStream, Arc<Mutex<Vec<Recorded>>>) + Copy + Send + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("bound").port();
        let connects = Arc::new(Mutex::new(Vec::new()));
        let shared = connects.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let shared = shared.clone();
                thread::spawn(move || handle(conn, shared));
            }
        });
        Proxy { port, connects }
    }

    /// The CONNECT requests so far.
    pub fn connects(&self) -> Vec<Recorded> {
        self.connects.lock().unwrap().clone()
    }
}

fn tunnel(client: TcpStream, target: u16, connects: Arc<Mutex<Vec<Recorded>>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(reader_side) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_side);
    let Some(rec) = read_head(&mut reader) else {
        return;
    };
    connects.lock().unwrap().push(rec);
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let mut client_w = client;
    if client_w
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (Ok(mut up_r), Ok(mut up_w)) = (upstream.try_clone(), upstream.try_clone()) else {
        return;
    };
    let Ok(mut client_w2) = client_w.try_clone() else {
        return;
    };
    // Bytes the reader already buffered belong to the tunnel.
    let buffered = reader.buffer().to_vec();
    let _ = up_w.write_all(&buffered);
    thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut client_w2);
        let _ = client_w2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(reader.get_mut(), &mut up_w);
    let _ = up_w.shutdown(Shutdown::Write);
}

fn refuse(client: TcpStream, connects: Arc<Mutex<Vec<Recorded>>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(reader_side) = client.try_clone() else {
        return;
    };
    let Some(rec) = read_head(&mut BufReader::new(reader_side)) else {
        return;
    };
    connects.lock().unwrap().push(rec);
    let mut client = client;
    let _ = client.write_all(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"ci\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let _ = client.shutdown(Shutdown::Write);
}
