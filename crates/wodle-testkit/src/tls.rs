//! A throwaway certificate authority and a loopback TLS front for moto signed by it, so that
//! tests can reach the emulator over `https://` with a CA bundle, as through a corporate CA.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::MotoServer;

/// A throwaway CA and a server certificate it signed for `127.0.0.1` and `localhost`.
pub struct TestCa {
    /// The CA's certificate, the contents of a CA bundle that trusts [`TlsFront`].
    pub ca_pem: String,
    server_certificate: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl TestCa {
    pub fn generate() -> TestCa {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "wodle-aws test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().expect("a CA key");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("the CA");

        let mut server_params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        server_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
        let server_key = rcgen::KeyPair::generate().expect("a server key");
        let server = server_params
            .signed_by(&server_key, &ca)
            .expect("the server certificate");
        TestCa {
            ca_pem: ca.pem(),
            server_certificate: server.der().clone(),
            server_key: server_key.serialize_der(),
        }
    }
}

/// TLS on a free loopback port with a certificate of a [`TestCa`], relaying every connection
/// to a plain TCP upstream (moto). Its own thread and runtime serve it, so it works under any
/// runtime flavour of the test; stopped and joined on drop.
pub struct TlsFront {
    server: LoopbackServer,
}

/// A TCP server on a free loopback port that hands every accepted connection to its own
/// task. Its own thread and current-thread runtime serve it, so it works under any
/// runtime flavour of the test; stopped and joined on drop.
pub struct LoopbackServer {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Listens on `127.0.0.1:0` and spawns `serve(connection)` for every connection.
    pub fn start<F, Fut>(serve: F) -> LoopbackServer
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("local address");
        let (shutdown, mut stop) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the loopback server");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut stop => break,
                        accepted = listener.accept() => {
                            if let Ok((client, _)) = accepted {
                                tokio::spawn(serve(client));
                            }
                        }
                    }
                }
            });
        });
        LoopbackServer {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl TlsFront {
    /// A front for `moto`.
    pub fn in_front_of(moto: &MotoServer, ca: &TestCa) -> TlsFront {
        TlsFront::start(SocketAddr::from((Ipv4Addr::LOCALHOST, moto.port())), ca)
    }

    /// A front for any loopback TCP server at `upstream`.
    pub fn start(upstream: SocketAddr, ca: &TestCa) -> TlsFront {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![ca.server_certificate.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ca.server_key.clone())),
            )
            .expect("the server certificate and key");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let server = LoopbackServer::start(move |client| relay(acceptor.clone(), client, upstream));
        TlsFront { server }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.server.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.server.address
    }
}

/// One connection: the TLS handshake (a client that does not trust the CA aborts it), then
/// bytes both ways.
async fn relay(acceptor: tokio_rustls::TlsAcceptor, client: TcpStream, upstream: SocketAddr) {
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    if let Ok(mut upstream) = TcpStream::connect(upstream).await {
        let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
    }
}
