//! A minimal graphql-transport-ws client, as the graphql-ws JavaScript client speaks it.
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Opens /graphql and completes `connection_init` with the key (None = anonymous); Err with
    /// the close frame's code when the server refuses the connection.
    pub async fn connect(address: SocketAddr, key: Option<&str>) -> Result<WsClient, u16> {
        WsClient::connect_in(address, key, "en").await
    }

    /// The same, with an `Accept-Language` on the upgrade request.
    pub async fn connect_in(address: SocketAddr, key: Option<&str>, language: &str) -> Result<WsClient, u16> {
        let mut client = WsClient::try_upgrade(address, language, None).await?;
        let payload = key.map_or(json!({}), |key| json!({ "Authorization": format!("Bearer {key}") }));
        client.send(json!({ "type": "connection_init", "payload": payload })).await;
        match client.next_raw(Duration::from_secs(5)).await {
            Some(Ok(message)) if message["type"] == "connection_ack" => Ok(client),
            Some(Err(code)) => Err(code),
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Opens /graphql without sending `connection_init`.
    pub async fn upgrade(address: SocketAddr, language: &str) -> WsClient {
        WsClient::try_upgrade(address, language, None).await.expect("websocket")
    }

    /// Opens /graphql without sending `connection_init`, as if through a proxy that forwarded
    /// `forwarded_for`; Err with the HTTP status when the server refuses the upgrade.
    pub async fn try_upgrade(
        address: SocketAddr,
        language: &str,
        forwarded_for: Option<&str>,
    ) -> Result<WsClient, u16> {
        let mut request = format!("ws://{address}/graphql").into_client_request().expect("request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        request.headers_mut().insert("Accept-Language", language.parse().unwrap());
        if let Some(forwarded) = forwarded_for {
            request.headers_mut().insert("X-Forwarded-For", forwarded.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, response)) => {
                assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
                Ok(WsClient { socket })
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(err) => panic!("websocket: {err}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("send");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message within `wait` (pings answered), Err(code) when the server
    /// closed the connection, None on timeout or end.
    async fn next_raw(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()??;
            match message {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("json message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(Ok(value));
                }
                Ok(Message::Close(frame)) => return Some(Err(frame.map_or(1005, |f| u16::from(f.code)))),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next message (`next`, `error` or `complete`) within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        match self.next_raw(wait).await {
            Some(Ok(value)) => Some(value),
            Some(Err(code)) => Some(json!({ "type": "closed", "code": code })),
            None => None,
        }
    }

    /// Every message that arrives within `wait`.
    pub async fn collect(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        while let Some(message) = self.next(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            messages.push(message);
        }
        messages
    }
}
